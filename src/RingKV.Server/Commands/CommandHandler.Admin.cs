using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading.Tasks;
using RingKV.Net.Resp;
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
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple commands.",
        "    RingKV keeps no command documentation: the reply is always empty.",
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
        else if (c.ArgumentEquals(1, "DOCS"u8))
        {
            // No documentation entries: redis-cli then falls back to its built-in hints.
            w.WriteMapHeader(0);
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
        "SET <directive> <value>",
        "    Not supported: RingKV takes its settings when it starts (ringkv serve --help).",
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
                w.WriteError("ERR CONFIG SET is not supported: RingKV is configured at start (ringkv serve --help)"u8);
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
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO <option> <value>",
        "    Set client meta attr. Options are:",
        "    * LIB-NAME: the client lib name.",
        "    * LIB-VER: the client lib version.",
        "HELP",
        "    Prints this help.",
    ];

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
            var counts = await _node.Store.CountKeysAsync().ConfigureAwait(false);
            if (counts.Keys > 0)
            {
                Line("db0", $"keys={counts.Keys},expires={counts.Expires},avg_ttl={counts.AverageTtlMs}");
            }
        }

        w.WriteBulkString(Encoding.UTF8.GetBytes(text.ToString()));
        return RespAction.Continue;
    }
}
