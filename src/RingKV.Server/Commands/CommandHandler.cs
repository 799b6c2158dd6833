using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Core.Errors;
using RingKV.Net.Resp;
using RingKV.Server.Clients;
using RingKV.Server.Diagnostics;
using RingKV.Server.Store;

namespace RingKV.Server.Commands;

/// <summary>Executes the commands of one client connection against the node's store.</summary>
/// <remarks>
/// One instance per connection, called by one pump at a time: not thread-safe, holds the connection's
/// state (protocol version, authentication, name). Reply shapes and error texts follow Redis 7.
/// </remarks>
internal sealed partial class CommandHandler : IRespHandler
{
    private readonly NodeContext _node;
    private readonly ClientInfo _client;
    private readonly ClientSession _session;

    // The node's store as this connection uses it (in a cluster it notes the connection's writes, for WAIT).
    private readonly IKeyValueStore _store;

    // Tokens of the keys of commands started while others were in flight, and of deferred SETs whose commit is in
    // flight: a command touching one of them waits for the window to drain (MayOverlap), so commands on one key keep
    // their order. Cleared when the window drains; touched by the connection's loop only.
    private readonly List<ulong> _inFlightTokens = [];
    private bool _tracking;

    // A barrier command is in flight: no later command may start before it is done. Cleared when the window drains.
    private bool _barrierInFlight;

    public CommandHandler(NodeContext node, ClientInfo client)
    {
        _node = node;
        _client = client;
        _session = new ClientSession(client, authenticated: node.Options.Password is null);
        _store = node.Store.ForConnection();
        node.CountConnection();
    }

    public ValueTask<RespAction> ExecuteAsync(RespCommand command, RespWriter writer, CancellationToken cancellationToken) =>
        _node.MayBePaused && PausedFor(command) is { } paused
            ? AfterPause(paused, FlushPendingAsync(writer), command, writer)
            : Execute(command, writer, mayDefer: true);

    /// <summary>Runs one command; a plain SET may be deferred into the receive's batch only when <paramref name="mayDefer"/>.</summary>
    private ValueTask<RespAction> Execute(RespCommand command, RespWriter writer, bool mayDefer)
    {
        _node.CountCommand();
        _client.NoteCommand(command.Name);
        var spec = CommandTable.Find(command.Name);
        if (_queued is not null && !RunsInsideMulti(spec))
        {
            return new ValueTask<RespAction>(Queue(spec, command, writer));
        }

        if (mayDefer && spec is not null && spec.Execute == SetExecutor && TryDefer(command, writer, out var deferred))
        {
            return deferred;
        }

        if (mayDefer && spec is not null && spec.Flags.HasFlag(CommandFlags.Counter) && TryDeferIncrement(spec, command, writer, out deferred))
        {
            return deferred;
        }

        // Anything but a deferrable SET first commits the SETs deferred before it, so its reply follows theirs.
        var flushed = FlushPendingAsync(writer);
        if (!flushed.IsCompletedSuccessfully)
        {
            return Track(spec, command, ExecuteAfterAsync(flushed, spec, command, writer));
        }

        return Track(spec, command, Dispatch(spec, command, writer));
    }

    /// <summary>
    /// The wait a CLIENT PAUSE imposes on <paramref name="command"/> (every command, or writes only), or null. CLIENT
    /// itself is never paused, or nothing could end a pause early (UNPAUSE).
    /// </summary>
    private Task? PausedFor(RespCommand command)
    {
        var spec = CommandTable.Find(command.Name);
        return spec is not null && spec.Name == "client" ? null : _node.PauseFor(spec is not null && spec.Flags.HasFlag(CommandFlags.Write));
    }

    /// <summary>
    /// A command that met a CLIENT PAUSE: the SETs deferred before it are committed and answered first (as before any
    /// other command), then it waits for the pause to end (or UNPAUSE, or waits again for a new pause) and runs, never
    /// deferred: the receive's batch may already have been flushed.
    /// </summary>
    private async ValueTask<RespAction> AfterPause(Task? paused, ValueTask flushed, RespCommand command, RespWriter writer)
    {
        await flushed.ConfigureAwait(false);
        while (paused is not null)
        {
            await paused.ConfigureAwait(false);
            paused = PausedFor(command);
        }

        return await Execute(command, writer, mayDefer: false).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public bool MayOverlap(RespCommand command)
    {
        var spec = CommandTable.Find(command.Name);
        if (spec is null || spec.Flags.HasFlag(CommandFlags.Barrier) || spec.FirstKey == 0 || !_session.Authenticated || _barrierInFlight || _queued is not null)
        {
            return false;
        }

        var (first, last, step) = spec.KeyPositions(command.Count);
        for (var i = first; i <= last; i += step)
        {
            if (_inFlightTokens.Contains(Core.Hashing.Token.Of(command[i]).Value))
            {
                return false;
            }
        }

        _tracking = true; // it starts while others run: its keys are in flight too until the window drains
        return true;
    }

    /// <inheritdoc/>
    public void Drained()
    {
        _inFlightTokens.Clear();
        _tracking = false;
        _barrierInFlight = false;
    }

    /// <summary>Dispatches one command: authentication, lookup, arity, then its executor; a store error becomes its reply.</summary>
    private ValueTask<RespAction> Dispatch(CommandSpec? spec, RespCommand c, RespWriter w)
    {
        if (!_session.Authenticated && (spec is null || !spec.Flags.HasFlag(CommandFlags.NoAuth)))
        {
            w.WriteError("NOAUTH Authentication required."u8);
            return Continue;
        }

        if (spec is null)
        {
            UnknownCommand(c, w);
            return Continue;
        }

        if (!spec.AcceptsArgumentCount(c.Count))
        {
            Arity(c, w, spec.Arity);
            return Continue;
        }

        ValueTask<RespAction> pending;
        var started = Stopwatch.GetTimestamp();
        try
        {
            pending = spec.Execute(this, c, w);
        }
        catch (RingKVException e)
        {
            WriteStoreError(w, e);
            pending = Continue;
        }

        if (pending.IsCompletedSuccessfully)
        {
            if (Timed(spec, started) is { } slow)
            {
                using var arguments = CapturedArguments.Of(c);
                LogSlow(slow, arguments);
            }

            return pending;
        }

        // The connection parses its next command into c once this returns: keep what the slow log may need.
        return Guard(pending, w, spec, started, _node.SlowLog.SlowerThanMicros >= 0 ? CapturedArguments.Of(c) : default);
    }

    /// <summary>
    /// Records a command's run time in the latency figures; answers it when the slow log wants the command. Dispatch to
    /// reply, coordination included; SETs deferred into a pipelined batch are not timed one by one.
    /// </summary>
    private long? Timed(CommandSpec spec, long started)
    {
        var micros = (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds;
        if (_node.Latency.Record(spec.Index, micros))
        {
            _node.Latency.Sample(spec.Flags.HasFlag(CommandFlags.Fast), micros / 1000, _node.Time.GetUtcNow().ToUnixTimeSeconds());
        }

        // As Redis: EXEC is not logged (its commands are, one by one), nor AUTH and HELLO, which carry a password.
        return _node.SlowLog.Wants(micros) && spec.Name is not ("exec" or "auth" or "hello") ? micros : null;
    }

    /// <summary>Logs a slow command, stamped (as Redis) when it finished.</summary>
    private void LogSlow(long micros, in CapturedArguments arguments) => LogSlow(micros, arguments.ToEntry());

    private void LogSlow(long micros, byte[][] arguments) =>
        _node.SlowLog.Add(_node.Time.GetUtcNow().ToUnixTimeSeconds(), micros, arguments, _client.Address, _client.Name);

    private async ValueTask<RespAction> ExecuteAfterAsync(ValueTask flushed, CommandSpec? spec, RespCommand c, RespWriter w)
    {
        await flushed.ConfigureAwait(false);
        return await Dispatch(spec, c, w).ConfigureAwait(false);
    }

    /// <summary>Turns a store failure that surfaced after an await into the command's error reply; times the command.</summary>
    private async ValueTask<RespAction> Guard(ValueTask<RespAction> pending, RespWriter w, CommandSpec spec, long started, CapturedArguments arguments)
    {
        using (arguments)
        {
            RespAction action;
            try
            {
                action = await pending.ConfigureAwait(false);
            }
            catch (RingKVException e)
            {
                WriteStoreError(w, e);
                action = RespAction.Continue;
            }

            if (Timed(spec, started) is { } slow && arguments.IsCaptured)
            {
                LogSlow(slow, arguments);
            }

            return action;
        }
    }

    private static void WriteStoreError(RespWriter w, RingKVException e) =>
        w.WriteError(e is Cluster.ClusterReplyException ? e.Message : e.Code == ErrorCode.InvalidArgument ? "ERR " + e.Message : $"ERR {e.Code}: {e.Message}");

    /// <summary>A command that did not complete at once, or started while others run, keeps its keys in flight.</summary>
    private ValueTask<RespAction> Track(CommandSpec? spec, RespCommand c, ValueTask<RespAction> pending)
    {
        if (!pending.IsCompleted && spec is not null && spec.Flags.HasFlag(CommandFlags.Barrier))
        {
            _barrierInFlight = true; // later commands wait for it (EXEC's queue, FLUSHALL)
        }

        if ((_tracking || !pending.IsCompleted) && spec is not null && spec.FirstKey != 0)
        {
            var (first, last, step) = spec.KeyPositions(c.Count);
            for (var i = first; i <= last; i += step)
            {
                _inFlightTokens.Add(Core.Hashing.Token.Of(c[i]).Value);
            }
        }

        return pending;
    }

    private static ValueTask<RespAction> Continue => new(RespAction.Continue);

    private static readonly CommandSpec SetSpec = CommandTable.Find("SET"u8)!;

    private static readonly CommandExecutor SetExecutor = SetSpec.Execute;

    private static void UnknownCommand(RespCommand c, RespWriter w)
    {
        var message = new StringBuilder("ERR unknown command '");
        message.Append(Printable(c[0], 128)).Append("', with args beginning with: ");
        for (var i = 1; i < c.Count && i < 8; i++)
        {
            message.Append('\'').Append(Printable(c[i], 128)).Append("' ");
        }

        w.WriteError(message.ToString());
    }

    /// <summary>Checks Redis arity: n exact, -n at least n (the command name counts). Writes the error when wrong.</summary>
    private static bool Arity(RespCommand c, RespWriter w, int arity)
    {
        if (arity > 0 ? c.Count == arity : c.Count >= -arity)
        {
            return true;
        }

        w.WriteError($"ERR wrong number of arguments for '{Encoding.UTF8.GetString(c[0]).ToLowerInvariant()}' command");
        return false;
    }

    private static string Printable(ReadOnlySpan<byte> bytes, int max)
    {
        var text = Encoding.UTF8.GetString(bytes[..Math.Min(bytes.Length, max)]);
        var sb = new StringBuilder(text.Length);
        foreach (var ch in text)
        {
            sb.Append(char.IsControl(ch) ? ' ' : ch);
        }

        return sb.ToString();
    }

    internal static RespAction Ping(RespCommand c, RespWriter w)
    {
        if (c.Count > 2)
        {
            Arity(c, w, 1);
        }
        else if (c.Count == 2)
        {
            w.WriteBulkString(c[1]);
        }
        else
        {
            w.WriteSimpleString("PONG"u8);
        }

        return RespAction.Continue;
    }

    internal RespAction Auth(RespCommand c, RespWriter w)
    {
        if (c.Count > 3)
        {
            w.WriteError(RespErrors.Syntax);
            return RespAction.Continue;
        }

        if (c.Count == 2 && _node.Options.Password is null)
        {
            // Redis keeps the old error for the one-argument form when nothing is configured.
            w.WriteError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"u8);
            return RespAction.Continue;
        }

        var user = c.Count == 3 ? c[1] : "default"u8;
        if (Authenticate(user, c[c.Count - 1]))
        {
            _session.Authenticated = true;
            w.WriteOk();
        }
        else
        {
            w.WriteError("WRONGPASS invalid username-password pair or user is disabled."u8);
        }

        return RespAction.Continue;
    }

    /// <summary>
    /// Whether a user and password log in, for AUTH and HELLO ... AUTH alike. The only user is Redis's "default": with
    /// --password it needs that password; without one it is Redis's nopass default user and any password does.
    /// </summary>
    private bool Authenticate(ReadOnlySpan<byte> user, ReadOnlySpan<byte> given)
    {
        if (!user.SequenceEqual("default"u8))
        {
            return false;
        }

        var password = _node.Options.Password;
        return password is null
            || System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(password), given);
    }

    internal RespAction Hello(RespCommand c, RespWriter w)
    {
        var protocol = _client.Protocol;
        var i = 1;
        if (c.Count > 1)
        {
            if (!c.TryGetInt64(1, out var requested))
            {
                w.WriteError("ERR Protocol version is not an integer or out of range"u8);
                return RespAction.Continue;
            }

            if (requested is not (2 or 3))
            {
                w.WriteError("NOPROTO unsupported protocol version"u8);
                return RespAction.Continue;
            }

            protocol = (int)requested;
            i = 2;
        }

        string? name = null;
        for (; i < c.Count; i++)
        {
            if (c.ArgumentEquals(i, "AUTH"u8) && i + 2 < c.Count)
            {
                if (!Authenticate(c[i + 1], c[i + 2]))
                {
                    w.WriteError("WRONGPASS invalid username-password pair or user is disabled."u8);
                    return RespAction.Continue;
                }

                _session.Authenticated = true;
                i += 2;
            }
            else if (c.ArgumentEquals(i, "SETNAME"u8) && i + 1 < c.Count)
            {
                name = Encoding.UTF8.GetString(c[i + 1]);
                i++;
            }
            else
            {
                w.WriteError($"ERR Syntax error in HELLO option '{Printable(c[i], 64)}'");
                return RespAction.Continue;
            }
        }

        if (!_session.Authenticated)
        {
            w.WriteError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"u8);
            return RespAction.Continue;
        }

        if (name is not null)
        {
            _client.Name = name;
        }

        _session.Protocol = protocol;
        w.Protocol = protocol;
        w.WriteMapHeader(7);
        w.WriteBulkString("server"u8);
        w.WriteBulkString("redis"u8);
        w.WriteBulkString("version"u8);
        w.WriteBulkString(ServerInfo.RedisVersionUtf8);
        w.WriteBulkString("proto"u8);
        w.WriteInteger(protocol);
        w.WriteBulkString("id"u8);
        w.WriteInteger(_client.Id);
        w.WriteBulkString("mode"u8);
        w.WriteBulkString("standalone"u8);
        w.WriteBulkString("role"u8);
        w.WriteBulkString("master"u8);
        w.WriteBulkString("modules"u8);
        w.WriteArrayHeader(0);
        return RespAction.Continue;
    }

    /// <summary>FLUSHALL and FLUSHDB [ASYNC|SYNC]: both flush at once here; anything else is a syntax error and flushes nothing.</summary>
    internal async ValueTask<RespAction> FlushAll(RespCommand c, RespWriter w)
    {
        if (c.Count > 2 || (c.Count == 2 && !c.ArgumentEquals(1, "ASYNC"u8) && !c.ArgumentEquals(1, "SYNC"u8)))
        {
            w.WriteError(RespErrors.Syntax);
            return RespAction.Continue;
        }

        if (!_node.Options.EnableFlushAll)
        {
            w.WriteError("ERR FLUSHALL is disabled on this node (start it with --enable-flushall to allow it)"u8);
            return RespAction.Continue;
        }

        await _store.FlushAllAsync().ConfigureAwait(false);
        w.WriteOk();
        return RespAction.Continue;
    }

    internal static RespAction Echo(RespCommand c, RespWriter w)
    {
        w.WriteBulkString(c[1]);
        return RespAction.Continue;
    }

    /// <summary>TIME: this node's clock as Unix seconds and the microseconds within the second, two bulk strings.</summary>
    internal RespAction Time(RespWriter w)
    {
        var micros = (ulong)(_node.Time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10;
        w.WriteArrayHeader(2);
        WriteBulkDecimal(w, micros / 1_000_000);
        WriteBulkDecimal(w, micros % 1_000_000);
        return RespAction.Continue;
    }

    internal static RespAction Select(RespCommand c, RespWriter w)
    {
        if (!c.TryGetInt64(1, out var db))
        {
            w.WriteError(RespErrors.NotInteger);
        }
        else if (db != 0)
        {
            w.WriteError("ERR DB index is out of range"u8);
        }
        else
        {
            w.WriteOk();
        }

        return RespAction.Continue;
    }

    internal static RespAction Quit(RespWriter w)
    {
        w.WriteOk();
        return RespAction.Close;
    }

    internal RespAction Reset(RespWriter w)
    {
        _session.Reset(authenticated: _node.Options.Password is null);
        EndTransaction();
        w.Protocol = 2;
        w.WriteSimpleString("RESET"u8);
        return RespAction.Continue;
    }

    private static string Lower(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes).ToLowerInvariant();

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
