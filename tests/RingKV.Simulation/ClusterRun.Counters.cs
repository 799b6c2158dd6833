using System;
using System.Buffers;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Consistency;
using RingKV.Core.Hashing;
using RingKV.Core.Versioning;

namespace RingKV.Simulation;

/// <summary>
/// The counter workload of a <see cref="ClusterRun"/>: INCRBY on a few keys nothing else writes, through random
/// coordinators at random levels under the run's faults, in the server's two steps (CoordinatedStore.IncrementAsync: a
/// read at the level, then the Increment write carrying the record the read saw, to the same node).
/// </summary>
/// <remarks>
/// Each increment of a key adds the next power of two, so a count is the set of increments it holds (its bits), and a
/// count that held one twice would show a carry, a bit no increment was given. Each increment ends acknowledged (an Ok
/// reply), not applied (a reply that means nothing was written: UNAVAILABLE, or a refusal before the coordinating
/// replica's store applied it, see VersionedWritePending), or ambiguous (TIMEOUT, a failure counted after the
/// coordinating replica applied it, or its coordinator crashed).
/// The last counter key starts as a plain SET of 0 that expires during the workload: increments a coordinating replica
/// applies once it finds the SET expired (by its own skewed clock) start a new count (CounterState.AfterExpiry); those
/// applied before are gone with the SET. The checker learns from the stores which base each increment was applied over.
/// Invariant 10, after the heal and anti-entropy: the replicas of a counter key agree, and their count is the sum of
/// the acknowledged increments applied over the base they count over, plus some of the ambiguous ones there: every
/// such acknowledged bit set, no bit of any other increment (not applied, never sent, or over an expired base); no store
/// applied an increment twice, or one answered as not applied; and a read at ALL returns that count.
/// Invariant 11, as each reply comes: an Ok increment's count holds its own delta; every count a reply shows (an
/// increment's, or its read's) holds only bits given to increments sent so far and none known not applied; and it holds
/// every increment over the same base acknowledged before the read began when both are strict quorum with R+W&gt;N (the
/// read then sees the write, and the coordinating replica merges what the read saw before it adds). Nothing more is guaranteed: at lower
/// levels, or sloppy ones, a read may miss acknowledged increments, and so may the count after the next.
/// </remarks>
internal sealed partial class ClusterRun
{
    /// <summary>Increments acknowledged, and ambiguous, in this run (for the sweep's summary).</summary>
    public (int Acknowledged, int Ambiguous, int NotApplied) Increments
    {
        get
        {
            var increments = _ops.Values.Where(o => o.Kind == OpKind.Increment).ToList();
            return (increments.Count(o => o.Outcome == IncrementOutcome.Acknowledged), increments.Count(o => o.Outcome == IncrementOutcome.Ambiguous),
                increments.Count(o => o.Outcome == IncrementOutcome.NotApplied));
        }
    }

    private bool IsCounterKey(string key) => _counterKeys.Contains(key);

    private int NextBit(string key) => _nextBit.TryGetValue(key, out var bit) ? bit : 0;

    /// <summary>Starts an increment's read through <paramref name="node"/>; false when every counter key has had its increments.</summary>
    private bool TrySubmitCounterRead(Simulator.SimNode node)
    {
        var open = _counterKeys.Where(k => NextBit(k) < MaxIncrementsPerKey).ToList();
        if (open.Count == 0)
        {
            return false;
        }

        var key = open[_sim.Random.Next(open.Count)];
        var level = Levels[_sim.Random.Next(Levels.Length)];
        level = _sim.Random.Next(2) == 0 ? level.AsStrict() : level;
        var id = _nextClientId++;
        _ops[id] = new Op(id, key, level, node.Index, _sim.Now) { Kind = OpKind.CounterRead, Generation = node.Generation };
        Log($"submit #{id} counter read {key} at {level} to {node.Id} (gen {node.Generation})");
        _sim.Submit(node, ClientRequest.Read(id, SimStore.Bytes(key), level));
        return true;
    }

    /// <summary>An increment's read answered: check its count, then send the increment with what it saw, as the server does.</summary>
    private void OnCounterRead(Op read, ClientReply reply)
    {
        if (reply.Status != ClientStatus.Ok)
        {
            return; // the client's INCRBY fails with the read's error: no increment is sent
        }

        var (count, @base) = CountOf(read, read.Key, reply.Set);
        CheckCount(read, "read", count, @base, read.SubmittedAt);

        // What CoordinatedStore.IncrementAsync sends: the agreed record as it came, else the merged set encoded.
        var seen = ReplicaRecord.None;
        if (reply.Record is { } agreed)
        {
            seen = agreed;
        }
        else if (reply.Set is { } merged)
        {
            var encoded = new ArrayBufferWriter<byte>(64);
            merged.Encode(encoded);
            seen = new ReplicaRecord(encoded.WrittenSpan.ToArray(), reply.ExpiresAtUnixMs);
        }

        // The client's next step, after the reply (not inside the node's handler that answered).
        _sim.Schedule(_sim.Now, () => SubmitIncrement(read, seen));
    }

    private void SubmitIncrement(Op read, ReplicaRecord seen)
    {
        var node = _sim.Nodes[read.Coordinator];
        var bit = NextBit(read.Key);
        if (!_workload || !node.Up || node.Generation != read.Generation || bit >= MaxIncrementsPerKey)
        {
            return; // the workload ended, the client's connection dropped, or the key has had its increments: not sent
        }

        _nextBit[read.Key] = bit + 1;
        var id = _nextClientId++;
        var op = new Op(id, read.Key, read.Level, read.Coordinator, _sim.Now) { Kind = OpKind.Increment, Delta = 1L << bit, Read = read };
        _ops[id] = op;
        Log($"submit #{id} increment {read.Key} by 2^{bit} at {read.Level} to {node.Id} (after read #{read.Id})");
        _sim.Submit(node, ClientRequest.Increment(id, SimStore.Bytes(read.Key), op.Delta, seen, read.Level));
    }

    private void OnIncremented(Op op, ClientReply reply)
    {
        op.Outcome = reply.Status == ClientStatus.Ok ? IncrementOutcome.Acknowledged
            : NothingWritten(reply) ? IncrementOutcome.NotApplied
            : IncrementOutcome.Ambiguous;
        if (op.Outcome != IncrementOutcome.Acknowledged)
        {
            return;
        }

        if ((reply.Counter & op.Delta) == 0)
        {
            throw Fail($"invariant 11: increment #{op.Id} of {op.Key} by {op.Delta} at {op.Level} via n{op.Coordinator} answered count {reply.Counter} {Bits(reply.Counter)}, which does not hold it");
        }

        if (op.Base is not { } applied)
        {
            throw Fail($"increment #{op.Id} of {op.Key} was acknowledged, but no store applied it");
        }

        CheckCount(op, "increment", reply.Counter, applied, op.Read!.SubmittedAt);
    }

    /// <summary>A store applied an increment (a coordinating replica, as one read-modify-write): the base it counted over.</summary>
    private void OnIncrementApplied(int node, string key, CounterUpdate update, SiblingSet after)
    {
        var op = _ops.Values.FirstOrDefault(o => o.Kind == OpKind.Increment && o.Key == key && o.Delta == update.Delta)
            ?? throw Fail($"n{node} applied an increment of {key} by {update.Delta} that no client sent");
        if (op.Base is not null)
        {
            throw Fail($"invariant 10: increment #{op.Id} of {key} by {op.Delta} was applied twice (again at n{node})");
        }

        op.Base = after.Counter!.Base;
        Log($"n{node} applies #{op.Id}: {key} {after.Counter.Total} over {op.Base}");
    }

    /// <summary>
    /// Before the workload: the last counter key gets a plain SET of 0 that expires a few seconds into the workload, so
    /// increments go to its count before and after the expiry (each coordinator decides by its own, skewed, clock).
    /// </summary>
    private void SetExpiringCounter()
    {
        var node = _sim.Nodes[_sim.Random.Next(NodeCount)];
        var expiresAt = (Simulator.Epoch + TimeSpan.FromTicks(_sim.Now + Ms(_sim.Random.Next(2_000, 16_000)))).ToUnixTimeMilliseconds();
        var level = ConsistencyLevel.All.AsStrict();
        var id = _nextClientId++;
        var op = new Op(id, ExpiringKey, level, node.Index, _sim.Now) { Kind = OpKind.PlainPut, Value = "0" };
        _ops[id] = op;
        Log($"submit #{id} SET {ExpiringKey} 0 expiring at {expiresAt} to {node.Id}");
        _sim.Submit(node, ClientRequest.WriteOf(id, SimStore.Bytes(ExpiringKey), WriteOperation.PlainPut, "0"u8.ToArray(), expiresAt, consistency: level));
        if (!_sim.RunUntil(() => op.Reply is not null, _sim.Now + RequestTimeout.Ticks + ReplySlack) || op.Reply!.Status != ClientStatus.Ok)
        {
            throw Fail($"the SET of {ExpiringKey} before the workload (nothing failing) answered {op.Reply?.Status} {op.Reply?.Message}");
        }
    }

    /// <summary>The counter key whose plain SET of 0 expires during the workload.</summary>
    private string ExpiringKey => _counterKeys[^1];

    /// <summary>
    /// Whether a failed increment's reply means nothing was written anywhere: refused before any replica was asked
    /// (UNAVAILABLE, an overloaded node, the clock lease), or its coordinating replica's store refused it (the other
    /// replicas only merge that store's result). A failure counted after that store applied it names the acks ("acked
    /// n of m"); a TIMEOUT never says.
    /// </summary>
    private static bool NothingWritten(ClientReply reply) => reply.Status switch
    {
        ClientStatus.Unavailable => true,
        ClientStatus.Busy or ClientStatus.Error => !reply.Message.Contains(" acked ", StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>Invariant 11 for a count over <paramref name="base"/> a reply showed to <paramref name="observer"/>, whose read began at <paramref name="readAt"/>.</summary>
    private void CheckCount(Op observer, string what, long count, WriteStamp? @base, long readAt)
    {
        var key = observer.Key;
        var increments = _ops.Values.Where(o => o.Kind == OpKind.Increment && o.Key == key).ToList();
        var sent = increments.Aggregate(0L, (mask, o) => mask | o.Delta);
        var notApplied = increments.Where(o => o.Outcome == IncrementOutcome.NotApplied).Aggregate(0L, (mask, o) => mask | o.Delta);
        if (count < 0 || (count & ~sent) != 0 || (count & notApplied) != 0)
        {
            var why = (count & ~sent) != 0
                ? $"bits {Bits(count & ~sent)} were given to no increment sent (one counted twice?)"
                : $"bits {Bits(count & notApplied)} are increments answered as not applied";
            throw Fail($"invariant 11: {what} #{observer.Id} of {key} at {observer.Level} via n{observer.Coordinator} shows count {count} {Bits(count)}: {why}");
        }

        // Over the same base only: an increment to the count before the key expired is gone with it.
        foreach (var write in increments.Where(w => w.Outcome == IncrementOutcome.Acknowledged && w != observer && w.RepliedAt < readAt && w.Base == @base
            && w.Level.Strict && observer.Level.Strict && Count(w.Level) + Count(observer.Level) > Replicas))
        {
            if ((count & write.Delta) == 0)
            {
                throw Fail($"invariant 11: {what} #{observer.Id} of {key} at {observer.Level} via n{observer.Coordinator} shows count {count} {Bits(count)}, "
                    + $"without increment #{write.Id} by {write.Delta} at {write.Level} via n{write.Coordinator}, acknowledged before its read began");
            }
        }
    }

    /// <summary>
    /// A counter key's count in a read's or a store's set, and the base it counts over: (0, null) for none, or for the
    /// expiring key's SET of 0 before any increment; any other set of a counter key without a counter is a failure.
    /// </summary>
    private (long Count, WriteStamp? Base) CountOf(Op? observer, string key, SiblingSet? set)
    {
        if (set is null)
        {
            return (0, null);
        }

        if (set.Counter is not { } counter)
        {
            if (key == ExpiringKey && set.Winner is { IsTombstone: false } winner && winner.Value.Span.SequenceEqual("0"u8))
            {
                return (0, null);
            }

            throw Fail($"counter key {key} holds a set without a counter{(observer is null ? "" : $" (#{observer.Id})")}: {Describe(set)}");
        }

        return (counter.Total >= 0 && counter.Total <= long.MaxValue ? (long)counter.Total : -1, counter.Base);
    }

    /// <summary>Invariant 10, after the heal and anti-entropy (see the remarks); the reads at ALL it starts, for <see cref="CheckCounterReads"/>.</summary>
    private List<(string Key, ulong Id, long Count)> CheckCounters()
    {
        var placement = _sim.Nodes[0].Machine.Node.Placement;
        var reads = new List<(string Key, ulong Id, long Count)>();
        foreach (var key in _counterKeys)
        {
            var increments = _ops.Values.Where(o => o.Kind == OpKind.Increment && o.Key == key).ToList();
            foreach (var increment in increments.Where(o => o.Outcome == IncrementOutcome.Pending))
            {
                if (!increment.Orphaned)
                {
                    throw Fail($"invariant 1: increment #{increment.Id} never got a reply");
                }

                increment.Outcome = IncrementOutcome.Ambiguous; // its coordinator crashed: the client saw the connection drop
            }

            if (increments.FirstOrDefault(o => o.Outcome == IncrementOutcome.NotApplied && o.Base is not null) is { } wrong)
            {
                throw Fail($"invariant 10: increment #{wrong.Id} of {key} was answered {wrong.Reply!.Status} {wrong.Reply.Message} (nothing written), but a store applied it");
            }

            var replicas = placement.For(Token.Of(SimStore.Bytes(key))).ToArray().Select(id => _sim.Nodes.First(n => n.Id == id)).ToList();
            var counts = replicas.Select(r => CountOf(null, key, Decode(r.Store.Get(key)))).ToList();
            for (var i = 1; i < counts.Count; i++)
            {
                if (counts[i] != counts[0])
                {
                    throw Fail($"invariant 10: the replicas of {key} count differently after anti-entropy: {replicas[0].Id} {counts[0]}, {replicas[i].Id} {counts[i]}");
                }
            }

            // The increments that count: those applied over the base the replicas count over (the expiring key's earlier
            // ones went with its SET), acknowledged or ambiguous.
            var (count, @base) = counts[0];
            var over = increments.Where(o => o.Base is { } b && b == @base).ToList();
            var acked = over.Where(o => o.Outcome == IncrementOutcome.Acknowledged).Aggregate(0L, (mask, o) => mask | o.Delta);
            var maybe = over.Where(o => o.Outcome == IncrementOutcome.Ambiguous).Aggregate(0L, (mask, o) => mask | o.Delta);
            if ((count & acked) != acked)
            {
                var lost = acked & ~count;
                throw Fail($"invariant 10: the replicas count {key} {count} {Bits(count)} over {@base}: acknowledged increments lost: "
                    + string.Join(", ", increments.Where(o => (o.Delta & lost) != 0).Select(o => $"#{o.Id} by {o.Delta} at {o.Level} via n{o.Coordinator}")));
            }

            if (count < 0 || (count & ~(acked | maybe)) != 0)
            {
                var extra = count & ~(acked | maybe);
                throw Fail($"invariant 10: the replicas count {key} {count} {Bits(count)} over {@base}: bits {Bits(extra)} are no acknowledged or ambiguous increment's over that base "
                    + $"(counted twice, answered as not applied, or expired: {string.Join(", ", increments.Where(o => (o.Delta & extra) != 0).Select(o => $"#{o.Id} {o.Outcome} {o.Reply?.Status} {o.Reply?.Message} over {o.Base}"))})");
            }

            // Every count an Ok reply showed holds only increments that may have been applied (now that all have ended).
            var mayCount = increments.Where(o => o.Outcome is IncrementOutcome.Acknowledged or IncrementOutcome.Ambiguous).Aggregate(0L, (mask, o) => mask | o.Delta);
            foreach (var op in increments.Where(o => o.Outcome == IncrementOutcome.Acknowledged))
            {
                if ((op.Reply!.Counter & ~mayCount) != 0)
                {
                    throw Fail($"invariant 11: increment #{op.Id} of {key} answered count {op.Reply.Counter} {Bits(op.Reply.Counter)}, holding increments answered as not applied");
                }
            }

            var readId = _nextClientId++;
            var coordinator = _sim.Nodes[_sim.Random.Next(NodeCount)];
            _ops[readId] = new Op(readId, key, ConsistencyLevel.All, coordinator.Index, _sim.Now) { Kind = OpKind.Read };
            _sim.Submit(coordinator, ClientRequest.Read(readId, SimStore.Bytes(key), ConsistencyLevel.All));
            reads.Add((key, readId, count));
            CountersChecked++;
        }

        return reads;
    }

    /// <summary>Invariant 10's last part: each final read at ALL of a counter key answered the replicas' count.</summary>
    private void CheckCounterReads(List<(string Key, ulong Id, long Count)> reads)
    {
        foreach (var (key, id, expected) in reads)
        {
            var op = _ops[id];
            if (op.Reply is not { Status: ClientStatus.Ok } reply || CountOf(op, key, reply.Set).Count != expected)
            {
                throw Fail($"invariant 10: the final read of {key} at ALL answered {op.Reply?.Status} {op.Reply?.Message} {Show(op.Reply?.Set)}, the replicas count {expected}");
            }
        }
    }

    /// <summary>Counter keys checked after the heal (for the sweep's summary).</summary>
    public int CountersChecked { get; private set; }

    /// <summary>A count's bits, the increments it holds: "{0,3,5}".</summary>
    private static string Bits(long mask)
    {
        var bits = new List<int>();
        for (var m = (ulong)mask; m != 0; m &= m - 1)
        {
            bits.Add(BitOperations.TrailingZeroCount(m));
        }

        return "{" + string.Join(",", bits) + "}";
    }
}
