using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using RingKV.Core.Errors;
using RingKV.Net.Resp;
using RingKV.Server.Diagnostics;
using RingKV.Server.Store;

namespace RingKV.Server.Commands;

internal sealed partial class CommandHandler
{
    /// <summary>Most plain SETs deferred into one commit.</summary>
    private const int MaxPendingSets = 64;

    /// <summary>A run is also applied once its bytes reach this, so big values are not gathered 64 at a time.</summary>
    private const int MaxPendingBytes = 1 << 20;

    private int _pendingBytes;
    private long _pendingStarted; // Stopwatch timestamp of the run's first write: each write's time runs from it to the run's reply

    // Plain SETs of the current receive, not yet applied. Their keys and values point into the connection's receive
    // buffer, which stays as it is until the receive's last reply (EndOfBatchAsync comes before the next receive).
    private List<KeyValue> _pending = [];

    // Beside _pending, once the run holds an INCR-family command (a single node only): one entry per pending write, the
    // modifier of a deferred INCR or null for a SET. Empty while the run holds SETs only (their path stays as it was).
    private List<IValueModifier?> _pendingModifiers = [];
    private readonly Stack<List<KeyValue>> _spareLists = new(); // under _spareLock: a commit completes on another thread
    private readonly System.Threading.Lock _spareLock = new();

    /// <inheritdoc/>
    public ValueTask EndOfBatchAsync(RespWriter writer) => FlushPendingAsync(writer);

    /// <summary>
    /// A pipelined run of plain <c>SET key value</c> is applied as one engine write (one group commit, one fsync under
    /// sync=always) instead of one per command. Replies stay in order: anything else commits the run first, and the run's
    /// +OKs are written before the next reply. False when <paramref name="c"/> is not such a SET (or its sizes are wrong:
    /// SET itself then answers, after the run).
    /// </summary>
    private bool TryDefer(RespCommand c, RespWriter w, out ValueTask<RespAction> deferred)
    {
        deferred = default;
        if (c.Count != 3 || !_session.Authenticated || !KeySizeOk(c[1]) || c[2].Length > _node.Options.MaxValueBytes)
        {
            return false;
        }

        return Defer(new KeyValue(c.GetMemory(1), c.GetMemory(2)), null, w, out deferred);
    }

    /// <summary>
    /// On a single node a pipelined INCR, DECR, INCRBY or DECRBY joins the run of deferred writes (applied in order
    /// with them, one engine write, <see cref="Store.LocalStore.WriteRunAsync"/>), answered with the run. False when the
    /// command is not one, or its arguments are wrong (the command itself then answers, after the run).
    /// </summary>
    private bool TryDeferIncrement(CommandSpec spec, RespCommand c, RespWriter w, out ValueTask<RespAction> deferred)
    {
        deferred = default;
        if (_node.Cluster is not null || !_session.Authenticated || _store is not LocalStore || !KeySizeOk(c[1]) || !TryIncrementDelta(spec, c, out var delta))
        {
            return false;
        }

        return Defer(new KeyValue(c.GetMemory(1), default), new IncrementModifier(delta, spec, c.Count == 3 ? c.GetMemory(2) : default), w, out deferred);
    }

    /// <summary>Adds one write to the run; applies the run when it is full.</summary>
    private bool Defer(KeyValue pair, IValueModifier? modifier, RespWriter w, out ValueTask<RespAction> deferred)
    {
        // The first INCR of a run of SETs: the SETs before it get their null entries.
        while (modifier is not null && _pendingModifiers.Count < _pending.Count)
        {
            _pendingModifiers.Add(null);
        }

        if (_pending.Count == 0)
        {
            _pendingStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        }

        _pending.Add(pair);
        if (modifier is not null || _pendingModifiers.Count > 0)
        {
            _pendingModifiers.Add(modifier);
        }

        _pendingBytes += pair.Key.Length + pair.Value.Length;
        if (_pending.Count < MaxPendingSets && _pendingBytes < MaxPendingBytes)
        {
            deferred = Continue;
            return true;
        }

        var flushed = FlushPendingAsync(w);
        deferred = flushed.IsCompletedSuccessfully ? Continue : AfterFlush(flushed);
        return true;

        static async ValueTask<RespAction> AfterFlush(ValueTask flushed)
        {
            await flushed.ConfigureAwait(false);
            return RespAction.Continue;
        }
    }

    /// <summary>Applies the deferred SETs and then writes their replies to <paramref name="w"/>.</summary>
    private ValueTask FlushPendingAsync(RespWriter w)
    {
        if (_pending.Count == 0)
        {
            return default;
        }

        var pairs = _pending;
        var started = _pendingStarted;
        _pendingBytes = 0;
        lock (_spareLock)
        {
            _pending = _spareLists.Count > 0 ? _spareLists.Pop() : [];
        }

        if (_pendingModifiers.Count > 0)
        {
            var modifiers = _pendingModifiers;
            _pendingModifiers = [];
            return FlushRunAsync(w, pairs, modifiers, started);
        }

        ValueTask<bool> written;
        var failures = new RingKVException?[pairs.Count];
        try
        {
            written = _store.SetManyAsync(pairs, onlyIfNoneExist: false, _session.WriteConsistency, failures);
        }
        catch (RingKVException e)
        {
            Array.Fill(failures, e);
            Replied(w, pairs, failures, started);
            return default;
        }

        if (written.IsCompletedSuccessfully)
        {
            Replied(w, pairs, failures, started);
            return default;
        }

        foreach (var pair in pairs)
        {
            _inFlightTokens.Add(Core.Hashing.Token.Of(pair.Key.Span).Value);
        }

        return AwaitFlush(written, w, pairs, failures, started);
    }

    /// <summary>
    /// Applies a run that holds INCRs (a single node's, <see cref="Store.LocalStore.WriteRunAsync"/>) and writes its
    /// replies; as for a run of SETs, its keys count as in flight only while its commit is.
    /// </summary>
    private ValueTask FlushRunAsync(RespWriter w, List<KeyValue> pairs, List<IValueModifier?> modifiers, long started)
    {
        var failures = new RingKVException?[pairs.Count];
        ValueTask written;
        try
        {
            written = ((LocalStore)_store).WriteRunAsync(pairs, modifiers);
        }
        catch (RingKVException e)
        {
            Array.Fill(failures, e);
            Replied(w, pairs, failures, started, modifiers);
            return default;
        }

        if (written.IsCompletedSuccessfully)
        {
            Replied(w, pairs, failures, started, modifiers);
            return default;
        }

        foreach (var pair in pairs)
        {
            _inFlightTokens.Add(Core.Hashing.Token.Of(pair.Key.Span).Value);
        }

        return AwaitRun(written, w, pairs, failures, modifiers, started);
    }

    private async ValueTask AwaitRun(ValueTask written, RespWriter w, List<KeyValue> pairs, RingKVException?[] failures, List<IValueModifier?> modifiers, long started)
    {
        try
        {
            await written.ConfigureAwait(false);
        }
        catch (RingKVException e)
        {
            Array.Fill(failures, e);
        }

        Replied(w, pairs, failures, started, modifiers);
    }

    private async ValueTask AwaitFlush(ValueTask<bool> written, RespWriter w, List<KeyValue> pairs, RingKVException?[] failures, long started)
    {
        try
        {
            await written.ConfigureAwait(false);
        }
        catch (RingKVException e)
        {
            Array.Fill(failures, e); // a store that failed the run as a whole
        }

        Replied(w, pairs, failures, started);
    }

    /// <summary>
    /// Writes a reply per deferred SET, each by its own outcome (a cluster writes each key on its own: a pipelined SET
    /// that was written must not be told it failed because another key did), in the form any SET's error takes; and
    /// recycles their list.
    /// </summary>
    /// Each write is timed (LATENCY, SLOWLOG) from the run's first write to this reply: what its client waited.
    private void Replied(RespWriter w, List<KeyValue> pairs, RingKVException?[] failures, long started, List<IValueModifier?>? modifiers = null)
    {
        for (var i = 0; i < pairs.Count; i++)
        {
            var increment = modifiers?[i] as IncrementModifier;
            if (Timed(increment?.Spec ?? SetSpec, started) is { } slow)
            {
                var pair = pairs[i];
                LogSlow(slow, increment is null
                    ? [[.. "SET"u8], SlowLog.Cut(pair.Key.Span), SlowLog.Cut(pair.Value.Span)]
                    : increment.Arguments(pair.Key.Span));
            }

            if (failures[i] is { } failure)
            {
                WriteStoreError(w, failure);
            }
            else if (increment is not null)
            {
                WriteIncrement(w, increment);
            }
            else
            {
                w.WriteOk();
            }
        }

        pairs.Clear();
        lock (_spareLock)
        {
            _spareLists.Push(pairs);
        }
    }
}
