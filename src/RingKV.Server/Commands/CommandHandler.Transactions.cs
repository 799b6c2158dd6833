using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using RingKV.Net.Resp;
using RingKV.Server.Store;

namespace RingKV.Server.Commands;

/// <summary>MULTI, EXEC, DISCARD, WATCH and UNWATCH: Redis's transactions, as far as a Dynamo store can keep them.</summary>
/// <remarks>
/// After MULTI every command but EXEC, DISCARD, MULTI, WATCH, UNWATCH, QUIT and RESET is checked (known, arity) and
/// queued, answered <c>+QUEUED</c>; one that fails the check is answered with its error and makes EXEC answer
/// <c>EXECABORT</c>. EXEC runs the queue in order, one command after the other, with nothing else from this connection
/// in between (EXEC is a barrier: later commands wait for it), and answers an array of their replies; a command that
/// fails there is answered with its error and the rest still run, as in Redis.
/// WATCH reads each key at the read level and keeps a fingerprint of what it saw (every sibling's dot, stamp and value,
/// and the expiry); EXEC reads them again first and answers a null array, running nothing, when any changed (a write,
/// a delete, an expiry change, or the key expiring). What this does not give (docs/consistency.md): isolation. Other
/// connections' commands may run between the commands of an EXEC, and between EXEC's check of the watched keys and
/// its first command, on a single node as in a cluster, where the keys also live on different replicas.
/// </remarks>
internal sealed partial class CommandHandler
{
    /// <summary>Most commands one MULTI may queue; past it the transaction is refused at EXEC.</summary>
    private const int MaxQueuedCommands = 100_000;

    /// <summary>Most keys one connection may WATCH.</summary>
    private const int MaxWatchedKeys = 10_000;

    /// <summary>The queue of the open transaction (copies of its commands); null outside MULTI.</summary>
    private List<byte[][]>? _queued;

    /// <summary>A command failed its check while queued: EXEC discards the transaction.</summary>
    private bool _queueFailed;

    /// <summary>The watched keys and the fingerprint each had when watched.</summary>
    private List<(byte[] Key, ulong Fingerprint)>? _watched;

    /// <summary>Whether <paramref name="spec"/> runs at once inside MULTI rather than being queued.</summary>
    private static bool RunsInsideMulti(CommandSpec? spec) =>
        spec is not null && spec.Flags.HasFlag(CommandFlags.Transaction);

    /// <summary>Queues <paramref name="c"/> in the open transaction, or answers why it cannot be.</summary>
    private RespAction Queue(CommandSpec? spec, RespCommand c, RespWriter w)
    {
        if (!_session.Authenticated && (spec is null || !spec.Flags.HasFlag(CommandFlags.NoAuth)))
        {
            w.WriteError("NOAUTH Authentication required."u8);
            _queueFailed = true;
        }
        else if (spec is null)
        {
            UnknownCommand(c, w);
            _queueFailed = true;
        }
        else if (!spec.AcceptsArgumentCount(c.Count))
        {
            Arity(c, w, spec.Arity);
            _queueFailed = true;
        }
        else if (_queued!.Count >= MaxQueuedCommands)
        {
            w.WriteError($"ERR a transaction holds at most {MaxQueuedCommands} commands");
            _queueFailed = true;
        }
        else
        {
            _queued.Add(c.ToArrays());
            w.WriteSimpleString("QUEUED"u8);
        }

        return RespAction.Continue;
    }

    internal RespAction Multi(RespWriter w)
    {
        if (_queued is not null)
        {
            w.WriteError("ERR MULTI calls can not be nested"u8);
            return RespAction.Continue;
        }

        _queued = [];
        _queueFailed = false;
        w.WriteOk();
        return RespAction.Continue;
    }

    internal RespAction Discard(RespWriter w)
    {
        if (_queued is null)
        {
            w.WriteError("ERR DISCARD without MULTI"u8);
            return RespAction.Continue;
        }

        EndTransaction();
        w.WriteOk();
        return RespAction.Continue;
    }

    internal async ValueTask<RespAction> Exec(RespWriter w)
    {
        if (_queued is not { } queued)
        {
            w.WriteError("ERR EXEC without MULTI"u8);
            return RespAction.Continue;
        }

        var failed = _queueFailed;
        var watched = _watched;
        EndTransaction();
        if (failed)
        {
            w.WriteError("EXECABORT Transaction discarded because of previous errors."u8);
            return RespAction.Continue;
        }

        if (watched is not null)
        {
            foreach (var (key, fingerprint) in watched)
            {
                if (await FingerprintAsync(key).ConfigureAwait(false) != fingerprint)
                {
                    w.WriteNullArray();
                    return RespAction.Continue;
                }
            }
        }

        w.WriteArrayHeader(queued.Count);
        var close = false;
        foreach (var arguments in queued)
        {
            var command = RespCommand.Of(arguments);
            var spec = CommandTable.Find(command.Name);
            close |= await Dispatch(spec, command, w).ConfigureAwait(false) == RespAction.Close;
        }

        return close ? RespAction.Close : RespAction.Continue;
    }

    internal async ValueTask<RespAction> Watch(RespCommand c, RespWriter w)
    {
        if (_queued is not null)
        {
            w.WriteError("ERR WATCH inside MULTI is not allowed"u8);
            return RespAction.Continue;
        }

        if (!CheckKeys(c, w, 1))
        {
            return RespAction.Continue;
        }

        _watched ??= [];
        if (_watched.Count + c.Count - 1 > MaxWatchedKeys)
        {
            w.WriteError($"ERR a connection watches at most {MaxWatchedKeys} keys");
            return RespAction.Continue;
        }

        // Copied before the first await: the connection parses its next command into the same RespCommand.
        var keys = new byte[c.Count - 1][];
        for (var i = 1; i < c.Count; i++)
        {
            keys[i - 1] = c[i].ToArray();
        }

        foreach (var key in keys)
        {
            _watched.Add((key, await FingerprintAsync(key).ConfigureAwait(false)));
        }

        w.WriteOk();
        return RespAction.Continue;
    }

    internal RespAction Unwatch(RespWriter w)
    {
        _watched = null;
        w.WriteOk();
        return RespAction.Continue;
    }

    /// <summary>
    /// WAIT numreplicas timeout: the replicas that acknowledged this connection's writes since its last WAIT (the least
    /// over those writes), once <c>numreplicas</c> have or the timeout (ms; 0: while the writes are in flight) passes.
    /// </summary>
    /// <remarks>
    /// A barrier: it starts once the connection's earlier commands are done. In a cluster a replica counts when it stored
    /// the write (the coordinating replica and a stand-in keeping a hint included), so after a QUORUM write of 3 replicas
    /// it answers at least 2; a single node has no replicas and answers 0, as a Redis primary without any.
    /// </remarks>
    internal async ValueTask<RespAction> Wait(RespCommand c, RespWriter w)
    {
        if (!c.TryGetInt64(1, out var replicas))
        {
            w.WriteError(RespErrors.NotInteger);
            return RespAction.Continue;
        }

        if (!c.TryGetInt64(2, out var timeoutMs))
        {
            w.WriteError("ERR timeout is not an integer or out of range"u8);
            return RespAction.Continue;
        }

        if (timeoutMs < 0)
        {
            w.WriteError("ERR timeout is negative"u8);
            return RespAction.Continue;
        }

        var timeout = TimeSpan.FromMilliseconds(Math.Min(timeoutMs, (long)TimeSpan.FromDays(1).TotalMilliseconds));
        var acked = await _store.WaitForReplicasAsync((int)Math.Clamp(replicas, 0, int.MaxValue), timeout).ConfigureAwait(false);
        w.WriteInteger(acked);
        return RespAction.Continue;
    }

    /// <summary>Closes the open transaction and forgets the watched keys (EXEC, DISCARD, RESET).</summary>
    private void EndTransaction()
    {
        _queued = null;
        _queueFailed = false;
        _watched = null;
    }

    /// <summary>The key's fingerprint at the read level (<see cref="RecordFingerprint"/>); 0 for a key that is not live.</summary>
    private ValueTask<ulong> FingerprintAsync(byte[] key) => RecordFingerprint.ComputeAsync(_store, key, _session.ReadConsistency);
}
