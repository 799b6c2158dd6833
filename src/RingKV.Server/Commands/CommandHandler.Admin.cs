using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading.Tasks;
using RingKV.Net.Resp;
using RingKV.Server.Clients;
using RingKV.Storage;

namespace RingKV.Server.Commands;

internal sealed partial class CommandHandler
{
    private static void WriteCommandEntry(RespWriter w, CommandSpec spec)
    {
        w.WriteArrayHeader(6);
        w.WriteBulkString(Encoding.ASCII.GetBytes(spec.Name));
        w.WriteInteger(spec.Arity);
        var flags = spec.FlagNames();
        w.WriteSetHeader(flags.Length);
        foreach (var flag in flags)
        {
            w.WriteSimpleString(Encoding.ASCII.GetBytes(flag));
        }

        w.WriteInteger(spec.FirstKey);
        w.WriteInteger(spec.LastKey);
        w.WriteInteger(spec.KeyStep);
    }

    private static readonly string[] CommandHelp =
    [
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all RingKV commands.",
        "COUNT",
        "    Return the total number of commands in this RingKV server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple RingKV commands.",
        "    If no command names are given, details for all commands are returned.",
        "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
        "    Return a list of all commands in this RingKV server.",
        "GETKEYS <full-command>",
        "    Return the keys from a full RingKV command.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "HELP",
        "    Prints this help.",
    ];

    internal static RespAction CommandInfo(RespCommand c, RespWriter w)
    {
        if (c.Count == 1)
        {
            WriteAllCommands(w);
        }
        else if (c.ArgumentEquals(1, "COUNT"u8))
        {
            if (SubcommandArity(c, w, 2))
            {
                w.WriteInteger(CommandTable.All.Count);
            }
        }
        else if (c.ArgumentEquals(1, "INFO"u8))
        {
            if (c.Count == 2)
            {
                WriteAllCommands(w); // Redis 7: no names means every command
                return RespAction.Continue;
            }

            w.WriteArrayHeader(c.Count - 2);
            for (var i = 2; i < c.Count; i++)
            {
                if (CommandTable.Find(c[i]) is { } spec)
                {
                    WriteCommandEntry(w, spec);
                }
                else
                {
                    w.WriteNullArray();
                }
            }
        }
        else if (c.ArgumentEquals(1, "LIST"u8))
        {
            CommandList(c, w);
        }
        else if (c.ArgumentEquals(1, "GETKEYS"u8))
        {
            if (SubcommandArity(c, w, -3))
            {
                CommandGetKeys(c, w);
            }
        }
        else if (c.ArgumentEquals(1, "DOCS"u8))
        {
            CommandDocs(c, w);
        }
        else if (c.ArgumentEquals(1, "HELP"u8))
        {
            if (SubcommandArity(c, w, 2))
            {
                WriteHelp(w, CommandHelp);
            }
        }
        else
        {
            UnknownSubcommand(c, w);
        }

        return RespAction.Continue;
    }

    /// <summary>
    /// COMMAND DOCS [name ...]: a map from each named command (every command when none is named; unknown names left out,
    /// a name given twice answered twice, as Redis 7 does) to its documentation from the table.
    /// </summary>
    private static void CommandDocs(RespCommand c, RespWriter w)
    {
        var specs = new List<CommandSpec>();
        if (c.Count == 2)
        {
            specs.AddRange(CommandTable.All);
        }

        for (var i = 2; i < c.Count; i++)
        {
            if (CommandTable.Find(c[i]) is { } spec)
            {
                specs.Add(spec);
            }
        }

        w.WriteMapHeader(specs.Count);
        foreach (var spec in specs)
        {
            w.WriteBulkString(Encoding.ASCII.GetBytes(spec.Name));
            WriteCommandDoc(w, spec.Name, spec.Doc);
        }
    }

    /// <summary>One command's or subcommand's documentation map, its fields in Redis's order; subcommands named <c>cmd|sub</c>.</summary>
    private static void WriteCommandDoc(RespWriter w, string name, CommandDoc doc)
    {
        w.WriteMapHeader(3 + (doc.Complexity is null ? 0 : 1) + (doc.Arguments.Count == 0 ? 0 : 1) + (doc.Subcommands.Count == 0 ? 0 : 1));
        WriteDocField(w, "summary", doc.Summary);
        WriteDocField(w, "since", doc.Since);
        WriteDocField(w, "group", doc.Group);
        if (doc.Complexity is { } complexity)
        {
            WriteDocField(w, "complexity", complexity);
        }

        if (doc.Arguments.Count > 0)
        {
            w.WriteBulkString("arguments"u8);
            var keyIndex = 0;
            WriteDocArguments(w, doc.Arguments, ref keyIndex);
        }

        if (doc.Subcommands.Count > 0)
        {
            w.WriteBulkString("subcommands"u8);
            w.WriteMapHeader(doc.Subcommands.Count);
            foreach (var (subName, subDoc) in doc.Subcommands)
            {
                var fullName = name + "|" + subName;
                w.WriteBulkString(Encoding.ASCII.GetBytes(fullName));
                WriteCommandDoc(w, fullName, subDoc);
            }
        }
    }

    /// <summary>
    /// An array of argument maps. Keys carry <c>key_spec_index</c>, Redis's link to COMMAND INFO's key specs: the
    /// keys are numbered in the order they appear, as Redis's own tables number them.
    /// </summary>
    private static void WriteDocArguments(RespWriter w, IReadOnlyList<CommandArgument> arguments, ref int keyIndex)
    {
        w.WriteArrayHeader(arguments.Count);
        foreach (var argument in arguments)
        {
            var isKey = argument.Type == CommandArgumentType.Key;
            var flags = argument.FlagNames();
            w.WriteMapHeader(2 + (isKey ? 1 : 0) + (argument.Leader is null ? 0 : 1) + (flags.Length == 0 ? 0 : 1) + (argument.Arguments.Count == 0 ? 0 : 1));
            WriteDocField(w, "name", argument.Name);
            WriteDocField(w, "type", argument.TypeName);
            if (isKey)
            {
                w.WriteBulkString("key_spec_index"u8);
                w.WriteInteger(keyIndex++);
            }

            if (argument.Leader is { } token)
            {
                WriteDocField(w, "token", token);
            }

            if (flags.Length > 0)
            {
                w.WriteBulkString("flags"u8);
                w.WriteSetHeader(flags.Length);
                foreach (var flag in flags)
                {
                    w.WriteSimpleString(Encoding.ASCII.GetBytes(flag));
                }
            }

            if (argument.Arguments.Count > 0)
            {
                w.WriteBulkString("arguments"u8);
                WriteDocArguments(w, argument.Arguments, ref keyIndex);
            }
        }
    }

    private static void WriteDocField(RespWriter w, string name, string value)
    {
        w.WriteBulkString(Encoding.ASCII.GetBytes(name));
        w.WriteBulkString(Encoding.UTF8.GetBytes(value));
    }

    /// <summary>
    /// COMMAND LIST [FILTERBY MODULE m | ACLCAT c | PATTERN p]: the names in the table. RingKV has no modules; its ACL
    /// categories are the flags it has (read, write, fast, slow, admin, keyspace for commands that take keys); a
    /// pattern matches names as KEYS matches keys, ignoring case.
    /// </summary>
    private static void CommandList(RespCommand c, RespWriter w)
    {
        Func<CommandSpec, bool> keep = static _ => true;
        if (c.Count == 5 && c.ArgumentEquals(2, "FILTERBY"u8))
        {
            if (c.ArgumentEquals(3, "MODULE"u8))
            {
                keep = static _ => false;
            }
            else if (c.ArgumentEquals(3, "PATTERN"u8))
            {
                var pattern = Glob.Compile(c[4], ignoreCase: true);
                keep = spec => pattern.IsMatch(Encoding.ASCII.GetBytes(spec.Name));
            }
            else if (c.ArgumentEquals(3, "ACLCAT"u8))
            {
                var category = Encoding.ASCII.GetString(c[4]).ToLowerInvariant();
                keep = spec => AclCategories(spec).Contains(category);
            }
            else
            {
                w.WriteError(RespErrors.Syntax);
                return;
            }
        }
        else if (c.Count != 2)
        {
            w.WriteError(RespErrors.Syntax);
            return;
        }

        var names = new List<string>();
        foreach (var spec in CommandTable.All)
        {
            if (keep(spec))
            {
                names.Add(spec.Name);
            }
        }

        w.WriteArrayHeader(names.Count);
        foreach (var name in names)
        {
            w.WriteBulkString(Encoding.ASCII.GetBytes(name));
        }
    }

    /// <summary>The ACL categories COMMAND LIST FILTERBY ACLCAT sees a command in, from its flags.</summary>
    private static List<string> AclCategories(CommandSpec spec)
    {
        var categories = new List<string>();
        if (spec.Flags.HasFlag(CommandFlags.Read))
        {
            categories.Add("read");
        }

        if (spec.Flags.HasFlag(CommandFlags.Write))
        {
            categories.Add("write");
        }

        categories.Add(spec.Flags.HasFlag(CommandFlags.Fast) ? "fast" : "slow");
        if (spec.Flags.HasFlag(CommandFlags.Admin))
        {
            categories.Add("admin");
            categories.Add("dangerous");
        }

        if (spec.FirstKey != 0)
        {
            categories.Add("keyspace");
        }

        if (spec.Flags.HasFlag(CommandFlags.Transaction) && spec.Name is not ("quit" or "reset"))
        {
            categories.Add("transaction");
        }

        return categories;
    }

    /// <summary>COMMAND GETKEYS command arg...: the arguments of that command that are keys, by the table's key positions.</summary>
    private static void CommandGetKeys(RespCommand c, RespWriter w)
    {
        if (CommandTable.Find(c[2]) is not { } spec)
        {
            w.WriteError("ERR Invalid command specified"u8);
            return;
        }

        var count = c.Count - 2; // the inner command's arguments, its name included
        if (!spec.AcceptsArgumentCount(count))
        {
            w.WriteError("ERR Invalid number of arguments specified for command"u8);
            return;
        }

        var (first, last, step) = spec.KeyPositions(count);
        if (first == 0 || first > last)
        {
            w.WriteError("ERR The command has no key arguments"u8);
            return;
        }

        w.WriteArrayHeader(((last - first) / step) + 1);
        for (var i = first; i <= last; i += step)
        {
            w.WriteBulkString(c[i + 2]);
        }
    }

    /// <summary>
    /// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]: stops the node as SIGTERM does (clients' commands in flight
    /// finish, the commit log is synced, the process exits 0); the connection closes without a reply, as in Redis.
    /// SAVE and NOSAVE change nothing (every acknowledged write is in the commit log either way), NOW and FORCE neither
    /// (there is no replica to wait for and no save to fail); ABORT has nothing to abort, since the stop begins at once.
    /// </summary>
    internal RespAction Shutdown(RespCommand c, RespWriter w)
    {
        bool save = false, noSave = false, abort = false;
        for (var i = 1; i < c.Count; i++)
        {
            if (c.ArgumentEquals(i, "NOSAVE"u8))
            {
                noSave = true;
            }
            else if (c.ArgumentEquals(i, "SAVE"u8))
            {
                save = true;
            }
            else if (c.ArgumentEquals(i, "ABORT"u8))
            {
                abort = true;
            }
            else if (!c.ArgumentEquals(i, "NOW"u8) && !c.ArgumentEquals(i, "FORCE"u8))
            {
                w.WriteError(RespErrors.Syntax);
                return RespAction.Continue;
            }
        }

        if ((save && noSave) || (abort && c.Count > 2))
        {
            w.WriteError(RespErrors.Syntax);
            return RespAction.Continue;
        }

        if (abort)
        {
            w.WriteError("ERR No shutdown in progress."u8);
            return RespAction.Continue;
        }

        _node.RequestShutdown();
        return RespAction.Close;
    }

    private static void WriteAllCommands(RespWriter w)
    {
        w.WriteArrayHeader(CommandTable.All.Count);
        foreach (var spec in CommandTable.All)
        {
            WriteCommandEntry(w, spec);
        }
    }

    /// <summary>Redis's HELP reply: one simple string per line.</summary>
    private static void WriteHelp(RespWriter w, string[] lines)
    {
        w.WriteArrayHeader(lines.Length);
        foreach (var line in lines)
        {
            w.WriteSimpleString(Encoding.ASCII.GetBytes(line));
        }
    }

    /// <summary>Checks a subcommand's arity (n exact, -n at least n, the command counts); writes Redis's error naming <c>cmd|sub</c>.</summary>
    private static bool SubcommandArity(RespCommand c, RespWriter w, int arity)
    {
        if (arity > 0 ? c.Count == arity : c.Count >= -arity)
        {
            return true;
        }

        w.WriteError($"ERR wrong number of arguments for '{Lower(c[0])}|{Lower(c[1])}' command");
        return false;
    }

    private static void UnknownSubcommand(RespCommand c, RespWriter w) =>
        w.WriteError($"ERR unknown subcommand '{Printable(c[1], 64)}'. Try {Encoding.ASCII.GetString(c[0]).ToUpperInvariant()} HELP.");

    private static readonly string[] ConfigHelp =
    [
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value> [<directive> <value> ...]",
        "    Set slowlog-log-slower-than, slowlog-max-len or latency-monitor-threshold;",
        "    RingKV takes its other settings when it starts (ringkv serve --help).",
        "RESETSTAT",
        "    Not supported: INFO's counters run from the node's start.",
        "REWRITE",
        "    Not supported: RingKV never writes its configuration.",
        "HELP",
        "    Prints this help.",
    ];

    internal RespAction Config(RespCommand c, RespWriter w)
    {
        if (c.ArgumentEquals(1, "GET"u8))
        {
            if (SubcommandArity(c, w, -3))
            {
                ConfigGet(c, w);
            }
        }
        else if (c.ArgumentEquals(1, "SET"u8))
        {
            if (SubcommandArity(c, w, -4))
            {
                ConfigSet(c, w);
            }
        }
        else if (c.ArgumentEquals(1, "RESETSTAT"u8))
        {
            if (SubcommandArity(c, w, 2))
            {
                w.WriteError("ERR CONFIG RESETSTAT is not supported: INFO's counters count from the node's start and cannot be reset"u8);
            }
        }
        else if (c.ArgumentEquals(1, "REWRITE"u8))
        {
            if (SubcommandArity(c, w, 2))
            {
                w.WriteError("ERR CONFIG REWRITE is not supported: RingKV never writes its configuration; change the flags, RINGKV_* variables or --config file and restart"u8);
            }
        }
        else if (c.ArgumentEquals(1, "HELP"u8))
        {
            if (SubcommandArity(c, w, 2))
            {
                WriteHelp(w, ConfigHelp);
            }
        }
        else
        {
            UnknownSubcommand(c, w);
        }

        return RespAction.Continue;
    }

    private void ConfigGet(RespCommand c, RespWriter w)
    {
        var o = _node.Options;
        var sync = o.SyncPolicy();
        var values = new List<(string, string)>
        {
            ("appendonly", "yes"),
            ("appendfsync", sync.Mode switch { SyncMode.Always => "always", SyncMode.Periodic => "everysec", _ => "no" }),
            ("save", ""),
            ("databases", "1"),
            ("maxclients", Invariant(o.MaxClients)),
            ("maxmemory", Invariant(o.MemoryMb * 1024L * 1024L)),
            ("proto-max-bulk-len", Invariant(o.MaxValueBytes)),
            ("replica-read-only", "yes"),
            ("slave-read-only", "yes"),
            ("timeout", "0"),
            ("bind", o.ListenEndPoint().Address.ToString()),
            ("port", Invariant(BoundPort())),
            ("dir", System.IO.Path.GetFullPath(o.DataDirectory)),
            ("cluster-enabled", "no"),
        };
        foreach (var parameter in SettableParameters)
        {
            values.Add((parameter.Name, Invariant(parameter.Get(this))));
        }

        var patterns = new List<Glob>();
        for (var i = 2; i < c.Count; i++)
        {
            patterns.Add(Glob.Compile(c[i], ignoreCase: true));
        }

        var matched = new List<(string, string)>();
        foreach (var (name, value) in values)
        {
            var bytes = Encoding.ASCII.GetBytes(name);
            if (patterns.Exists(p => p.IsMatch(bytes)))
            {
                matched.Add((name, value));
            }
        }

        w.WriteMapHeader(matched.Count);
        foreach (var (name, value) in matched)
        {
            w.WriteBulkString(Encoding.ASCII.GetBytes(name));
            w.WriteBulkString(Encoding.UTF8.GetBytes(value));
        }
    }

    /// <summary>A parameter CONFIG SET changes while the node runs: an integer within bounds; CONFIG GET reads it here too.</summary>
    private sealed record SettableParameter(string Name, long Min, long Max, Func<CommandHandler, long> Get, Action<CommandHandler, long> Set);

    /// <summary>Every parameter CONFIG SET takes (the slow log's and the latency monitor's thresholds, as in Redis).</summary>
    private static readonly SettableParameter[] SettableParameters =
    [
        new("slowlog-log-slower-than", -1, long.MaxValue, static h => h._node.SlowLog.SlowerThanMicros, static (h, v) => h._node.SlowLog.SlowerThanMicros = v),
        new("slowlog-max-len", 0, int.MaxValue, static h => h._node.SlowLog.MaxLength, static (h, v) => h._node.SlowLog.MaxLength = (int)v),
        new("latency-monitor-threshold", 0, long.MaxValue, static h => h._node.Latency.ThresholdMillis, static (h, v) => h._node.Latency.ThresholdMillis = v),
    ];

    private static SettableParameter? FindSettableParameter(ReadOnlySpan<byte> name)
    {
        foreach (var parameter in SettableParameters)
        {
            if (Ascii.EqualsIgnoreCase(name, parameter.Name))
            {
                return parameter;
            }
        }

        return null;
    }

    /// <summary>The settable parameters' names as a sentence: "a, b and c".</summary>
    private static string SettableParameterNames()
    {
        var names = new string[SettableParameters.Length];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = SettableParameters[i].Name;
        }

        return names.Length == 1 ? names[0] : string.Join(", ", names[..^1]) + " and " + names[^1];
    }

    /// <summary>
    /// CONFIG SET name value [name value ...]: the slow log's and the latency monitor's thresholds change while the
    /// node runs (as in Redis); everything else is set at start. All pairs are checked before any is applied.
    /// </summary>
    private void ConfigSet(RespCommand c, RespWriter w)
    {
        if (c.Count % 2 != 0)
        {
            w.WriteError("ERR wrong number of arguments for 'config|set' command"u8);
            return;
        }

        var changes = new List<(SettableParameter Parameter, long Value)>();
        for (var i = 2; i < c.Count; i += 2)
        {
            if (FindSettableParameter(c[i]) is not { } parameter)
            {
                w.WriteError($"ERR CONFIG SET is not supported for '{Printable(c[i], 64)}': RingKV changes only {SettableParameterNames()} while running; the rest is configured at start (ringkv serve --help)");
                return;
            }

            if (!RespNumber.TryParseInt64(c[i + 1], out var value))
            {
                w.WriteError($"ERR CONFIG SET failed (possibly related to argument '{parameter.Name}') - argument couldn't be parsed into an integer");
                return;
            }

            if (value < parameter.Min || value > parameter.Max)
            {
                w.WriteError($"ERR CONFIG SET failed (possibly related to argument '{parameter.Name}') - argument must be between {parameter.Min} and {parameter.Max} inclusive");
                return;
            }

            changes.Add((parameter, value));
        }

        foreach (var (parameter, value) in changes)
        {
            parameter.Set(this, value);
        }

        w.WriteOk();
    }

    /// <summary>The port clients reach: the bound one, which differs from the configured one when that is 0.</summary>
    private int BoundPort() => _node.Listener?.LocalEndPoint.Port ?? _node.Options.ListenEndPoint().Port;

    private static readonly string[] ClientHelp =
    [
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "    * ID id [id ...]",
        "      Return clients of specified IDs only.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * ID <client-id>",
        "      Kill connections by client id.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "NO-EVICT (ON|OFF)",
        "    Accepted for compatibility: RingKV evicts no client.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO <option> <value>",
        "    Set client meta attr. Options are:",
        "    * LIB-NAME: the client lib name.",
        "    * LIB-VER: the client lib version.",
        "HELP",
        "    Prints this help.",
    ];

    /// <summary>
    /// CLIENT KILL ip:port (+OK, or "No such client"), or CLIENT KILL with filters (ID, ADDR, LADDR, TYPE, USER, SKIPME,
    /// MAXAGE), answering how many it closed. Every connection here is a normal one of user "default". This connection,
    /// when it is among them (SKIPME no), is closed after the reply.
    /// </summary>
    private RespAction ClientKill(RespCommand c, RespWriter w)
    {
        if (c.Count == 3)
        {
            var address = Encoding.UTF8.GetString(c[2]);
            if (address == _client.Address)
            {
                w.WriteOk();
                return RespAction.Close;
            }

            var killed = _node.Listener?.Kill(info => info.Address == address) ?? 0;
            if (killed == 0)
            {
                w.WriteError("ERR No such client"u8);
            }
            else
            {
                w.WriteOk();
            }

            return RespAction.Continue;
        }

        if ((c.Count - 2) % 2 != 0)
        {
            w.WriteError(RespErrors.Syntax);
            return RespAction.Continue;
        }

        long? id = null, maxAge = null;
        string? addr = null, laddr = null, user = null;
        var skipMe = true;
        var typeMatches = true;
        for (var i = 2; i < c.Count; i += 2)
        {
            var value = Encoding.UTF8.GetString(c[i + 1]);
            if (c.ArgumentEquals(i, "ID"u8))
            {
                if (!c.TryGetInt64(i + 1, out var parsed) || parsed <= 0)
                {
                    w.WriteError("ERR client-id should be greater than 0"u8);
                    return RespAction.Continue;
                }

                id = parsed;
            }
            else if (c.ArgumentEquals(i, "ADDR"u8))
            {
                addr = value;
            }
            else if (c.ArgumentEquals(i, "LADDR"u8))
            {
                laddr = value;
            }
            else if (c.ArgumentEquals(i, "USER"u8))
            {
                user = value;
            }
            else if (c.ArgumentEquals(i, "TYPE"u8))
            {
                if (c.ArgumentEquals(i + 1, "NORMAL"u8))
                {
                    typeMatches = true;
                }
                else if (c.ArgumentEquals(i + 1, "MASTER"u8) || c.ArgumentEquals(i + 1, "REPLICA"u8) || c.ArgumentEquals(i + 1, "SLAVE"u8) || c.ArgumentEquals(i + 1, "PUBSUB"u8))
                {
                    typeMatches = false;
                }
                else
                {
                    w.WriteError($"ERR Unknown client type '{value}'");
                    return RespAction.Continue;
                }
            }
            else if (c.ArgumentEquals(i, "SKIPME"u8))
            {
                if (c.ArgumentEquals(i + 1, "YES"u8))
                {
                    skipMe = true;
                }
                else if (c.ArgumentEquals(i + 1, "NO"u8))
                {
                    skipMe = false;
                }
                else
                {
                    w.WriteError(RespErrors.Syntax);
                    return RespAction.Continue;
                }
            }
            else if (c.ArgumentEquals(i, "MAXAGE"u8))
            {
                if (!c.TryGetInt64(i + 1, out var age))
                {
                    w.WriteError(RespErrors.NotInteger);
                    return RespAction.Continue;
                }

                maxAge = age;
            }
            else
            {
                w.WriteError(RespErrors.Syntax);
                return RespAction.Continue;
            }
        }

        var now = _node.Time.GetUtcNow();
        bool Matches(ClientInfo info) =>
            typeMatches
            && (id is null || info.Id == id)
            && (addr is null || info.Address == addr)
            && (laddr is null || info.LocalAddress == laddr)
            && (user is null || user == "default")
            && (maxAge is null || (now - info.ConnectedAt).TotalSeconds >= maxAge);

        var self = !skipMe && Matches(_client);
        var count = (_node.Listener?.Kill(info => info.Id != _client.Id && Matches(info)) ?? 0) + (self ? 1 : 0);
        w.WriteInteger(count);
        return self ? RespAction.Close : RespAction.Continue;
    }

    /// <summary>CLIENT PAUSE timeout-ms [WRITE | ALL]: every connection's commands (or writes) wait until then, or CLIENT UNPAUSE.</summary>
    private void ClientPause(RespCommand c, RespWriter w)
    {
        if (!c.TryGetInt64(2, out var timeout))
        {
            w.WriteError("ERR timeout is not an integer or out of range"u8);
            return;
        }

        if (timeout < 0)
        {
            w.WriteError("ERR timeout is negative"u8);
            return;
        }

        var all = true;
        if (c.Count == 4)
        {
            if (c.ArgumentEquals(3, "WRITE"u8))
            {
                all = false;
            }
            else if (!c.ArgumentEquals(3, "ALL"u8))
            {
                w.WriteError("ERR CLIENT PAUSE mode must be WRITE or ALL"u8);
                return;
            }
        }
        else if (c.Count > 4)
        {
            w.WriteError(RespErrors.Syntax);
            return;
        }

        var now = _node.Time.GetUtcNow().ToUnixTimeMilliseconds();
        _node.Pause(timeout > long.MaxValue - now ? long.MaxValue : now + timeout, all);
        w.WriteOk();
    }

    internal RespAction Client(RespCommand c, RespWriter w)
    {
        if (c.ArgumentEquals(1, "SETNAME"u8))
        {
            if (SubcommandArity(c, w, 3))
            {
                if (!IsClientAttribute(c[2]))
                {
                    w.WriteError("ERR Client names cannot contain spaces, newlines or special characters."u8);
                    return RespAction.Continue;
                }

                _client.Name = Encoding.UTF8.GetString(c[2]);
                w.WriteOk();
            }
        }
        else if (c.ArgumentEquals(1, "GETNAME"u8))
        {
            if (SubcommandArity(c, w, 2))
            {
                if (_client.Name.Length == 0)
                {
                    w.WriteNull();
                }
                else
                {
                    w.WriteBulkString(Encoding.UTF8.GetBytes(_client.Name));
                }
            }
        }
        else if (c.ArgumentEquals(1, "ID"u8))
        {
            if (SubcommandArity(c, w, 2))
            {
                w.WriteInteger(_client.Id);
            }
        }
        else if (c.ArgumentEquals(1, "LIST"u8))
        {
            ClientList(c, w);
        }
        else if (c.ArgumentEquals(1, "KILL"u8))
        {
            if (SubcommandArity(c, w, -3))
            {
                return ClientKill(c, w);
            }
        }
        else if (c.ArgumentEquals(1, "PAUSE"u8))
        {
            if (SubcommandArity(c, w, -3))
            {
                ClientPause(c, w);
            }
        }
        else if (c.ArgumentEquals(1, "UNPAUSE"u8))
        {
            if (SubcommandArity(c, w, 2))
            {
                _node.Unpause();
                w.WriteOk();
            }
        }
        else if (c.ArgumentEquals(1, "NO-EVICT"u8))
        {
            if (SubcommandArity(c, w, 3))
            {
                if (c.ArgumentEquals(2, "ON"u8) || c.ArgumentEquals(2, "OFF"u8))
                {
                    w.WriteOk();
                }
                else
                {
                    w.WriteError(RespErrors.Syntax);
                }
            }
        }
        else if (c.ArgumentEquals(1, "SETINFO"u8))
        {
            if (SubcommandArity(c, w, 4))
            {
                ClientSetInfo(c, w);
            }
        }
        else if (c.ArgumentEquals(1, "HELP"u8))
        {
            if (SubcommandArity(c, w, 2))
            {
                WriteHelp(w, ClientHelp);
            }
        }
        else
        {
            UnknownSubcommand(c, w);
        }

        return RespAction.Continue;
    }

    /// <summary>CLIENT LIST [TYPE type | ID id [id ...]], Redis's forms and errors: every RingKV client is of type normal.</summary>
    private void ClientList(RespCommand c, RespWriter w)
    {
        HashSet<long>? ids = null;
        var none = false;
        if (c.Count == 4 && c.ArgumentEquals(2, "TYPE"u8))
        {
            if (c.ArgumentEquals(3, "NORMAL"u8))
            {
                none = false;
            }
            else if (c.ArgumentEquals(3, "MASTER"u8) || c.ArgumentEquals(3, "REPLICA"u8) || c.ArgumentEquals(3, "SLAVE"u8) || c.ArgumentEquals(3, "PUBSUB"u8))
            {
                none = true;
            }
            else
            {
                w.WriteError($"ERR Unknown client type '{Printable(c[3], 64)}'");
                return;
            }
        }
        else if (c.Count > 3 && c.ArgumentEquals(2, "ID"u8))
        {
            ids = [];
            for (var i = 3; i < c.Count; i++)
            {
                if (!c.TryGetInt64(i, out var id))
                {
                    w.WriteError("ERR Invalid client ID"u8);
                    return;
                }

                ids.Add(id);
            }
        }
        else if (c.Count != 2)
        {
            w.WriteError(RespErrors.Syntax);
            return;
        }

        var now = _node.Time.GetUtcNow();
        var text = new StringBuilder();
        if (!none && _node.Listener is { } listener)
        {
            foreach (var client in listener.Clients)
            {
                if (ids is null || ids.Contains(client.Id))
                {
                    text.Append(client.Describe(now)).Append('\n');
                }
            }
        }

        w.WriteBulkString(Encoding.UTF8.GetBytes(text.ToString()));
    }

    /// <summary>CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2): shown by CLIENT LIST; an empty value clears it.</summary>
    private void ClientSetInfo(RespCommand c, RespWriter w)
    {
        var isName = c.ArgumentEquals(2, "LIB-NAME"u8);
        if (!isName && !c.ArgumentEquals(2, "LIB-VER"u8))
        {
            w.WriteError($"ERR Unrecognized option '{Printable(c[2], 64)}'");
            return;
        }

        if (!IsClientAttribute(c[3]))
        {
            w.WriteError($"ERR {Printable(c[2], 64)} cannot contain spaces, newlines or special characters.");
            return;
        }

        var value = Encoding.ASCII.GetString(c[3]);
        if (isName)
        {
            _client.LibName = value;
        }
        else
        {
            _client.LibVersion = value;
        }

        w.WriteOk();
    }

    /// <summary>Redis's rule for client names and library attributes: printable ASCII without spaces, so CLIENT LIST splits on spaces.</summary>
    private static bool IsClientAttribute(ReadOnlySpan<byte> value)
    {
        foreach (var b in value)
        {
            if (b is < (byte)'!' or > (byte)'~')
            {
                return false;
            }
        }

        return true;
    }

    internal async ValueTask<RespAction> Info(RespCommand c, RespWriter w)
    {
        var sections = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 1; i < c.Count; i++)
        {
            sections.Add(Encoding.UTF8.GetString(c[i]));
        }

        var all = sections.Count == 0 || sections.Contains("all") || sections.Contains("everything") || sections.Contains("default");
        bool Want(string name) => all || sections.Contains(name);
        var o = _node.Options;
        var engine = _node.Engine;
        var stats = engine.Statistics;
        var now = _node.Time.GetUtcNow();
        var text = new StringBuilder();
        void Line(string name, object value) => text.Append(name).Append(':').Append(Convert.ToString(value, CultureInfo.InvariantCulture)).Append("\r\n");

        if (Want("server"))
        {
            text.Append("# Server\r\n");
            Line("redis_version", ServerInfo.RedisVersion);
            Line("ringkv_version", ServerInfo.Version);
            Line("redis_mode", "standalone");
            Line("os", Environment.OSVersion.VersionString);
            Line("arch_bits", IntPtr.Size * 8);
            Line("process_id", Environment.ProcessId);
            Line("tcp_port", BoundPort());
            Line("uptime_in_seconds", (long)(now - _node.StartedAt).TotalSeconds);
            Line("uptime_in_days", (long)(now - _node.StartedAt).TotalDays);
            Line("node_id", o.NodeId);
            text.Append("\r\n");
        }

        if (Want("clients"))
        {
            text.Append("# Clients\r\n");
            Line("connected_clients", _node.Listener?.ClientCount ?? 0);
            Line("maxclients", o.MaxClients);

            // Redis's names where it has them; request memory is RingKV's budget of all connections (max-request-memory-mb).
            var memory = _node.Listener?.Memory;
            Line("client_recent_max_input_buffer", memory?.RecentMaxInputBytes ?? 0);
            Line("client_recent_max_output_buffer", memory?.RecentMaxOutputBytes ?? 0);
            Line("client_query_buffer_limit", o.EffectiveMaxRequestBytes());
            Line("client_output_buffer_limit", o.EffectiveMaxReplyBufferBytes());
            Line("request_memory_bytes", memory?.RequestBytes ?? 0);
            Line("request_memory_limit", o.EffectiveMaxRequestMemoryBytes());
            text.Append("\r\n");
        }

        if (Want("memory"))
        {
            var managed = GC.GetTotalMemory(false);
            text.Append("# Memory\r\n");
            Line("used_memory", managed);
            Line("used_memory_human", $"{managed / 1048576.0:F2}M");
            Line("used_memory_rss", Environment.WorkingSet);
            Line("maxmemory", o.MemoryMb * 1048576L);
            Line("engine_memory_bytes", engine.MemoryBytes);

            // The runtime's collector: what the latency tail pays for the managed heap.
            Line("gc_gen0_collections", GC.CollectionCount(0));
            Line("gc_gen1_collections", GC.CollectionCount(1));
            Line("gc_gen2_collections", GC.CollectionCount(2));
            Line("gc_pause_total_ms", (long)GC.GetTotalPauseDuration().TotalMilliseconds);
            Line("gc_allocated_bytes", GC.GetTotalAllocatedBytes());
            var last = GC.GetGCMemoryInfo(GCKind.Any);
            Line("gc_last_generation", last.Generation);
            Line("gc_last_pause_us", (long)(last.PauseDurations.Length > 0 ? last.PauseDurations[0].TotalMicroseconds : 0));
            Line("gc_last_promoted_bytes", last.PromotedBytes);
            Line("gc_heap_bytes", last.HeapSizeBytes);
            text.Append("\r\n");
        }

        if (Want("persistence"))
        {
            text.Append("# Persistence\r\n");
            Line("loading", 0);
            Line("aof_enabled", 1);
            Line("sync_mode", o.Sync);
            Line("rdb_changes_since_last_save", 0);
            Line("log_bytes_written", stats.BytesWrittenToLog);
            Line("log_syncs", stats.LogSyncs);
            Line("flushes", stats.Flushes);
            Line("bytes_flushed", stats.BytesFlushed);
            Line("compactions", stats.Compactions);
            Line("bytes_compacted_read", stats.BytesCompactedRead);
            Line("bytes_compacted_written", stats.BytesCompactedWritten);
            foreach (var level in engine.GetLevels())
            {
                Line($"level{level.Level}", $"files={level.Files},bytes={level.Bytes}");
            }

            text.Append("\r\n");
        }

        if (Want("stats"))
        {
            text.Append("# Stats\r\n");
            Line("total_connections_received", _node.ConnectionsReceived);
            Line("total_commands_processed", _node.CommandsProcessed);
            Line("client_query_buffer_limit_disconnections", _node.Listener?.Memory.RequestLimitRejections ?? 0);
            Line("client_output_buffer_limit_disconnections", _node.Listener?.Memory.ReplyLimitDisconnections ?? 0);
            Line("request_memory_waits", _node.Listener?.Memory.RequestWaits ?? 0);
            Line("request_memory_timeouts", _node.Listener?.Memory.RequestWaitTimeouts ?? 0);
            Line("connection_buffers_released", _node.Listener?.Memory.BuffersReleased ?? 0);
            Line("keyspace_hits", stats.GetHits);
            Line("keyspace_misses", stats.Gets - stats.GetHits);
            Line("engine_gets", stats.Gets);
            Line("engine_puts", stats.Puts);
            Line("engine_deletes", stats.Deletes);
            Line("bloom_checks", stats.BloomChecks);
            Line("bloom_negatives", stats.BloomNegatives);
            Line("bloom_false_positives", stats.BloomFalsePositives);
            Line("block_cache_hits", stats.CacheHits);
            Line("block_cache_misses", stats.CacheMisses);
            Line("write_stalls", stats.WriteStalls);
            Line("write_slowdowns", stats.WriteSlowdowns);
            Line("tombstones_dropped", stats.TombstonesDropped);
            Line("expired_dropped", stats.ExpiredDropped);
            text.Append("\r\n");
        }

        if (Want("replication"))
        {
            text.Append("# Replication\r\n");
            Line("role", "master");
            Line("connected_slaves", 0);
            text.Append("\r\n");
        }

        if (Want("cluster"))
        {
            await AppendClusterInfoAsync(text, Line).ConfigureAwait(false);
        }

        if (Want("streaming"))
        {
            await AppendStreamingInfoAsync(text, Line).ConfigureAwait(false);
        }

        if (Want("antientropy") && _node.Cluster is { } repairing)
        {
            await AppendAntiEntropyInfoAsync(repairing, now, text, Line).ConfigureAwait(false);
        }

        if (Want("keyspace"))
        {
            text.Append("# Keyspace\r\n");
            var counts = await _store.CountKeysAsync().ConfigureAwait(false);
            if (counts.Keys > 0)
            {
                Line("db0", $"keys={counts.Keys},expires={counts.Expires},avg_ttl={counts.AverageTtlMs}");
            }
        }

        w.WriteBulkString(Encoding.UTF8.GetBytes(text.ToString()));
        return RespAction.Continue;
    }
}
