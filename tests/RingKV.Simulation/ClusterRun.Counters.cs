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
/// Invariant 10, after the heal and anti-entropy: on every replica of a counter key, the count is the sum of the
/// acknowledged increments plus some of the ambiguous ones: every acknowledged bit set, no bit of a not-applied or
/// never-sent increment, and a read at ALL returns that count.
/// Invariant 11, as each reply comes: an Ok increment's count holds its own delta; every count a reply shows (an
/// increment's, or its read's) holds only bits given to increments sent so far and none known not applied; and it holds
/// every increment acknowledged before the read began when both are strict quorum with R+W&gt;N (the read then sees the
/// write, and the coordinating replica merges what the read saw before it adds). Nothing more is guaranteed: at lower
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

        CheckCount(read, "read", CountOf(read, reply.Set), read.SubmittedAt);

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

        CheckCount(op, "increment", reply.Counter, op.Read!.SubmittedAt);
    }

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

    /// <summary>Invariant 11 for a count a reply showed to <paramref name="observer"/>, whose read began at <paramref name="readAt"/>.</summary>
    private void CheckCount(Op observer, string what, long count, long readAt)
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

        foreach (var write in increments.Where(w => w.Outcome == IncrementOutcome.Acknowledged && w != observer && w.RepliedAt < readAt
            && w.Level.Strict && observer.Level.Strict && Count(w.Level) + Count(observer.Level) > Replicas))
        {
            if ((count & write.Delta) == 0)
            {
                throw Fail($"invariant 11: {what} #{observer.Id} of {key} at {observer.Level} via n{observer.Coordinator} shows count {count} {Bits(count)}, "
                    + $"without increment #{write.Id} by {write.Delta} at {write.Level} via n{write.Coordinator}, acknowledged before its read began");
            }
        }
    }

    /// <summary>A counter key's count in a read's or a store's set: 0 for none; a set of a counter key without a counter is a failure.</summary>
    private long CountOf(Op? observer, SiblingSet? set)
    {
        if (set is null)
        {
            return 0;
        }

        if (set.Counter is not { } counter)
        {
            throw Fail($"counter key {observer?.Key} holds a set without a counter{(observer is null ? "" : $" (#{observer.Id})")}: {Describe(set)}");
        }

        return counter.Total >= 0 && counter.Total <= long.MaxValue ? (long)counter.Total : -1;
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

            var acked = increments.Where(o => o.Outcome == IncrementOutcome.Acknowledged).Aggregate(0L, (mask, o) => mask | o.Delta);
            var maybe = increments.Where(o => o.Outcome == IncrementOutcome.Ambiguous).Aggregate(0L, (mask, o) => mask | o.Delta);
            var replicas = placement.For(Token.Of(SimStore.Bytes(key))).ToArray().Select(id => _sim.Nodes.First(n => n.Id == id)).ToList();
            long? agreed = null;
            foreach (var replica in replicas)
            {
                var count = CountOf(null, Decode(replica.Store.Get(key)));
                if ((count & acked) != acked)
                {
                    var lost = acked & ~count;
                    throw Fail($"invariant 10: {replica.Id} counts {key} {count} {Bits(count)}: acknowledged increments lost: "
                        + string.Join(", ", increments.Where(o => (o.Delta & lost) != 0).Select(o => $"#{o.Id} by {o.Delta} at {o.Level} via n{o.Coordinator}")));
                }

                if (count < 0 || (count & ~(acked | maybe)) != 0)
                {
                    var extra = count & ~(acked | maybe);
                    throw Fail($"invariant 10: {replica.Id} counts {key} {count} {Bits(count)}: bits {Bits(extra)} are no acknowledged or ambiguous increment's "
                        + $"(counted twice, or answered as not applied: {string.Join(", ", increments.Where(o => (o.Delta & extra) != 0).Select(o => $"#{o.Id} {o.Outcome} {o.Reply?.Status} {o.Reply?.Message}"))})");
                }

                if (agreed is { } first && first != count)
                {
                    throw Fail($"invariant 10: the replicas of {key} count differently after anti-entropy: {first} and {count} at {replica.Id}");
                }

                agreed = count;
            }

            // Every count an Ok reply showed holds only increments that may have been applied (now that all have ended).
            foreach (var op in _ops.Values.Where(o => o.Key == key && o.Kind is OpKind.Increment && o.Outcome == IncrementOutcome.Acknowledged))
            {
                if ((op.Reply!.Counter & ~(acked | maybe)) != 0)
                {
                    throw Fail($"invariant 11: increment #{op.Id} of {key} answered count {op.Reply.Counter} {Bits(op.Reply.Counter)}, holding increments answered as not applied");
                }
            }

            var readId = _nextClientId++;
            var coordinator = _sim.Nodes[_sim.Random.Next(NodeCount)];
            _ops[readId] = new Op(readId, key, ConsistencyLevel.All, coordinator.Index, _sim.Now) { Kind = OpKind.Read };
            _sim.Submit(coordinator, ClientRequest.Read(readId, SimStore.Bytes(key), ConsistencyLevel.All));
            reads.Add((key, readId, agreed ?? 0));
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
            if (op.Reply is not { Status: ClientStatus.Ok } reply || CountOf(op, reply.Set) != expected)
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
