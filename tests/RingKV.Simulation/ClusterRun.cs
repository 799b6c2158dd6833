using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using RingKV.Cluster;
using RingKV.Cluster.AntiEntropy;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Membership;
using RingKV.Cluster.Messages;
using RingKV.Cluster.Ring;
using RingKV.Core.Consistency;
using RingKV.Core.Hashing;
using RingKV.Core.Versioning;

namespace RingKV.Simulation;

/// <summary>
/// One seed of the cluster simulation: five nodes on three racks (N=3) settle, then take random reads and writes at
/// random levels while nodes crash and restart, the network partitions, drops and duplicates; then everything heals
/// and the checker reads the replicas' stores directly.
/// </summary>
/// <remarks>
/// Invariants checked (each failure names the seed):
/// (1) every Submit gets exactly one reply, within the request timeout plus a tick's slack, unless its coordinator
/// crashed first (the client saw the connection drop); (2) a read at R that starts after a write at W was acknowledged,
/// with R+W&gt;N, sees it: its merged context covers the write's dot (the ring is fixed and every acknowledged merge is
/// durable, so no fault can break the overlap); (3) after the heal no acknowledged write is lost: the merge of the key's
/// replicas covers every acknowledged write's dot, and its winner's stamp is at least the highest acknowledged write's;
/// (4) membership converges: every node sees every node NORMAL and none DOWN, with the full ring; (5) a read at ALL
/// through a coordinator returns the merge of the replicas' stores; (6) the replicas of a key converge when every write
/// of it reached every replica; (7) after the heal no acknowledged KV.PUT is lost without being superseded: its value
/// is a sibling in the merge of the key's replicas, or a write whose context saw it (a versioned write whose client
/// context covers its dot), or a later last-writer-wins write (the merge's floor is above its stamp), superseded it. Two
/// KV.PUTs through one coordinator at once, with one context, are part of the workload: they must stay siblings.
/// Half the requests ask strict quorum (STRICT): invariant 2 holds for those; a sloppy write may be acknowledged by
/// stand-ins a later read does not ask. (8) after the heal the hints drain to zero: every stand-in and coordinator hands
/// its hints to their replicas (so invariant 3 covers sloppy writes too).
/// Deferred: replicas of a key whose writes reached only some replicas are not required to converge here.
/// (8) anti-entropy: scheduled passes run (throttled) through the faults; after the heal at most three rounds of
/// passes (every node, on demand) leave every replica of every vnode range with identical records (equal Merkle roots,
/// computed by the checker from the stores), no pass of a round after the heal fails a range, and one more round
/// repairs nothing. Invariant 6 stays as it was (it needs no anti-entropy: it holds before the rounds too).
/// (10, 11) counters: INCRBY on keys of their own, checked as replies come and after the heal (ClusterRun.Counters.cs).
/// </remarks>
internal sealed partial class ClusterRun
{
    public const int NodeCount = 5;
    public const int Replicas = 3;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(2);
    private static readonly long ReplySlack = TimeSpan.FromMilliseconds(400).Ticks;
    private static readonly TimeSpan RepairTimeout = TimeSpan.FromSeconds(3);
    private const int MaxRepairRounds = 3;
    private static readonly ConsistencyLevel[] Levels = [ConsistencyLevel.One, ConsistencyLevel.Two, ConsistencyLevel.Quorum, ConsistencyLevel.All];

    private readonly long _seed;
    private readonly Simulator _sim;
    private readonly Dictionary<ulong, Op> _ops = [];
    private readonly Dictionary<Dot, Op> _byDot = [];
    private readonly Dictionary<string, Op> _byValue = new(StringComparer.Ordinal);
    private readonly Dictionary<string, VersionVector> _lastContext = new(StringComparer.Ordinal);
    private readonly Queue<string> _recent = new();
    private readonly List<string> _keys = [.. Enumerable.Range(0, 6).Select(i => $"k{i}")];

    // Counter keys: only INCRBY touches them (no SET resets them). Each increment of a key adds the next power of two, so
    // a count names exactly the increments it holds (its bits); a key takes at most MaxIncrementsPerKey of them.
    private readonly List<string> _counterKeys = [.. Enumerable.Range(0, 4).Select(i => $"ctr{i}")];
    private readonly Dictionary<string, int> _nextBit = new(StringComparer.Ordinal);
    private const int MaxIncrementsPerKey = 62;
    private const int IncrementPercent = 15;
    private ulong _nextClientId = 1;
    private bool _workload;

    public ClusterRun(long seed)
    {
        _seed = seed;
        _sim = new Simulator(seed, NodeCount, Settings)
        {
            OnReply = OnReply,
        };
        foreach (var node in _sim.Nodes)
        {
            node.Store.OnMerged = OnMerged;
            node.Store.OnUpdated = OnUpdated;
            node.Store.OnIncremented = OnIncrementApplied;
        }
    }

    /// <summary>Requests submitted, and how they ended, for the sweep's summary.</summary>
    public int Submitted => _ops.Count;

    /// <summary>Keys whose replicas were compared whole at the end (invariant 6): every key the run wrote.</summary>
    public int KeysCheckedForConvergence { get; private set; }

    /// <summary>Of those, keys some write reached only part of the replicas of before the anti-entropy rounds.</summary>
    public int KeysDeferred { get; private set; }

    /// <summary>Keys the anti-entropy rounds after the heal found differing (and repaired).</summary>
    public long KeysRepairedAfterHeal { get; private set; }

    public long Messages => _sim.Delivered;

    public void Run()
    {
        try
        {
            RunPhases();
        }
        catch (Exception e) when (e is not SimulationFailure)
        {
            throw Fail($"threw {e}");
        }
    }

    private void RunPhases()
    {
        // Settle: everyone joins through n0 and n1, chooses tokens, turns NORMAL.
        if (!_sim.RunUntil(_sim.Converged, Ticks(40)))
        {
            throw Fail("gossip did not settle in 40 s: " + Views());
        }

        SetExpiringCounter();

        // Workload with faults.
        _workload = true;
        var start = _sim.Now;
        var end = start + Ticks(20);
        ScheduleClient(start + Ms(5));
        ScheduleFault(start + Ms(_sim.Random.Next(500, 3_000)), end);
        _sim.RunUntil(end);
        _workload = false;

        // Heal: no partition, no loss, every node back; wait for gossip to agree and requests to end.
        _sim.Partition = null;
        _sim.DropPercent = 0;
        _sim.DuplicatePercent = 0;
        foreach (var node in _sim.Nodes.Where(n => !n.Up))
        {
            Log($"restart {node.Id} (heal)");
            _sim.Restart(node);
        }

        if (!_sim.RunUntil(_sim.Converged, _sim.Now + Ticks(60)))
        {
            throw Fail("invariant 4: membership did not converge 60 s after the heal: " + Views());
        }

        _sim.RunUntil(_sim.Now + RequestTimeout.Ticks + Ticks(1));
        CheckReplies();

        // Invariant 9: once every node is back and UP, the hints drain to zero (each handed to its replica).
        if (!_sim.RunUntil(() => _sim.Nodes.All(n => n.Machine.Node.Hints.Pending == 0), _sim.Now + Ticks(60)))
        {
            throw Fail("invariant 9: hints did not drain 60 s after the heal: "
                + string.Join("; ", _sim.Nodes.Select(n => $"{n.Id}: {string.Join(",", n.Machine.Node.Hints.PendingByTarget.Select(p => $"{p.Target}={p.Pending}"))} (store {n.Store.Hints.Count})")));
        }

        if (_sim.Nodes.FirstOrDefault(n => n.Store.Hints.Count > 0) is { } holder)
        {
            throw Fail($"invariant 9: {holder.Id} counts no pending hints but its store keeps {holder.Store.Hints.Count}");
        }

        HintsDelivered += _sim.Nodes.Sum(n => n.Machine.Node.Hints.Delivered);
        RunAntiEntropy();
        CheckStores();
    }

    /// <summary>Hints handed over to their replicas in this run (for the sweep's summary).</summary>
    public long HintsDelivered { get; private set; }

    /// <summary>
    /// A one-sided cut: the cluster settles, only the link between n0 and one other node is cut (both stay UP: one
    /// observer each), and n0 coordinates QUORUM reads of many keys for 5 s, nothing else failing.
    /// </summary>
    /// <returns>The reads answered OK, and all the reads (every one is answered: invariant 1 is checked).</returns>
    public (int Ok, int Total) RunOneSidedCut()
    {
        if (!_sim.RunUntil(_sim.Converged, Ticks(40)))
        {
            throw Fail("gossip did not settle in 40 s: " + Views());
        }

        var other = 1 + _sim.Random.Next(NodeCount - 1);
        _sim.CutLinks.Add((0, other));
        Log($"cut n0 <-> n{other}");
        var coordinator = _sim.Nodes[0];
        var end = _sim.Now + Ticks(5);
        var reads = new List<Op>();
        for (var at = _sim.Now + Ms(10); at < end; at += Ms(20))
        {
            _sim.Schedule(at, () =>
            {
                var id = _nextClientId++;
                var key = $"c{_sim.Random.Next(100)}";
                var op = new Op(id, key, ConsistencyLevel.Quorum, 0, _sim.Now) { Kind = OpKind.Read };
                _ops[id] = op;
                reads.Add(op);
                _sim.Submit(coordinator, ClientRequest.Read(id, SimStore.Bytes(key), ConsistencyLevel.Quorum));
            });
        }

        _sim.RunUntil(end + RequestTimeout.Ticks + Ticks(1));
        CheckReplies();
        if (_sim.Nodes.Any(n => n.Machine.View.Members.Any(m => m.Down)))
        {
            throw Fail($"a one-sided cut made a node DOWN: {Views()}");
        }

        return (reads.Count(r => r.Reply!.Status == ClientStatus.Ok), reads.Count);
    }

    private NodeMachineSettings Settings(int index)
    {
        var id = new NodeId($"n{index}");
        var cluster = new ClusterNodeSettings(id, "dc1", $"r{index % 3}")
        {
            Replication = ReplicationSettings.Uniform(Replicas),
            RequestTimeout = RequestTimeout,
            // Scheduled passes run under the faults too (sessions time out, peers crash mid-session); throttled, so a
            // pass spans several ticks and the bucket's waits are exercised.
            RepairInterval = TimeSpan.FromSeconds(4),
            RepairRateBytesPerSecond = 16 * 1024,
            RepairTimeout = RepairTimeout,
            RepairRangesPerExchange = 3,
        };
        var seeds = new[] { 0, 1 }.Where(s => s != index).Select(s => $"10.0.0.{s + 1}:7380").ToList();
        return new NodeMachineSettings(cluster, new GossipSettings(), 1, $"10.0.0.{index + 1}:6379", $"10.0.0.{index + 1}:7380", seeds, 1, []);
    }

    private void ScheduleClient(long at) => _sim.Schedule(at, () =>
    {
        if (!_workload)
        {
            return;
        }

        SubmitRandom();
        ScheduleClient(_sim.Now + Ms(_sim.Random.Next(5, 40)));
    });

    private void SubmitRandom()
    {
        var up = _sim.Nodes.Where(n => n.Up).ToList();
        if (up.Count == 0)
        {
            return;
        }

        var node = up[_sim.Random.Next(up.Count)];
        if (_sim.Random.Chance(IncrementPercent) && TrySubmitCounterRead(node))
        {
            return;
        }

        var key = _keys[_sim.Random.Next(_keys.Count)];
        var roll = _sim.Random.Next(100);
        if (roll >= 90)
        {
            // Two clients that read the same context write through the same coordinator at once: concurrent siblings.
            SubmitOne(node, key, 80);
            SubmitOne(node, key, 80);
        }
        else
        {
            SubmitOne(node, key, roll);
        }
    }

    private void SubmitOne(Simulator.SimNode node, string key, int roll)
    {
        var level = Levels[_sim.Random.Next(Levels.Length)];
        level = _sim.Random.Next(2) == 0 ? level.AsStrict() : level; // half strict quorum, half sloppy (stand-ins count)
        var id = _nextClientId++;
        ClientRequest request;
        var op = new Op(id, key, level, node.Index, _sim.Now);
        if (roll < 40)
        {
            op.Kind = OpKind.Read;
            request = ClientRequest.Read(id, SimStore.Bytes(key), level);
        }
        else
        {
            op.Value = $"v{id}";
            var (write, kind) = roll switch
            {
                < 70 => (WriteOperation.PlainPut, OpKind.PlainPut),
                < 80 => (WriteOperation.PlainDelete, OpKind.PlainDelete),
                _ => (WriteOperation.VersionedPut, OpKind.VersionedPut),
            };
            _byValue[op.Value] = op;
            op.Kind = kind;
            var context = write == WriteOperation.VersionedPut && _lastContext.TryGetValue(key, out var seen) ? seen : VersionVector.Empty;
            op.Context = context;
            var value = write == WriteOperation.PlainDelete ? [] : Encoding.UTF8.GetBytes(op.Value);
            request = ClientRequest.WriteOf(id, SimStore.Bytes(key), write, value, context: context, consistency: level);
        }

        _ops[id] = op;
        Log($"submit #{id} {op.Kind} {key} at {level} to {node.Id} (ring of {node.Machine.Node.Ring.MemberCount}, gen {node.Generation})");
        if (op.IsWrite)
        {
            _sim.CaptureWrites = record => Stamped(op, record);
        }

        _sim.Submit(node, request);
        _sim.CaptureWrites = null;
    }

    /// <summary>The coordinator stamped <paramref name="op"/> (it started sending it): its dot identifies it in the stores.</summary>
    private void Stamped(Op op, ReplicaRecord record)
    {
        if (!SiblingSet.TryDecode(record.Set, out var set, out var error) || set.Count != 1)
        {
            throw Fail($"#{op.Id}'s replica write is not one sibling: {error ?? set!.ToString()}");
        }

        Stamped(op, set[0]);
    }

    /// <summary>The write <paramref name="op"/> became <paramref name="sibling"/> (sent as a delta, or applied by its coordinating replica).</summary>
    private void Stamped(Op op, Sibling sibling)
    {
        if (op.Dot is { } dot && dot != sibling.Dot)
        {
            throw Fail($"#{op.Id} was sent with two dots: {dot} and {sibling.Dot}");
        }

        if (_byDot.TryGetValue(sibling.Dot, out var other) && other != op)
        {
            throw Fail($"#{op.Id} and #{other.Id} were stamped with the same dot {sibling.Dot}");
        }

        op.Dot = sibling.Dot;
        op.Stamp = sibling.Stamp;
        _byDot[sibling.Dot] = op;
    }

    private void ScheduleFault(long at, long end) => _sim.Schedule(at, () =>
    {
        if (_sim.Now >= end)
        {
            return;
        }

        InjectFault();
        ScheduleFault(_sim.Now + Ms(_sim.Random.Next(500, 4_000)), end);
    });

    private void InjectFault()
    {
        var roll = _sim.Random.Next(100);
        var down = _sim.Nodes.Where(n => !n.Up).ToList();
        if (roll < 25 && down.Count < 2)
        {
            var up = _sim.Nodes.Where(n => n.Up).ToList();
            var victim = up[_sim.Random.Next(up.Count)];
            Log($"crash {victim.Id}");
            OrphanRequestsOf(victim.Index);
            _sim.Crash(victim);
        }
        else if (roll < 45 && down.Count > 0)
        {
            var node = down[_sim.Random.Next(down.Count)];
            Log($"restart {node.Id}");
            _sim.Restart(node);
        }
        else if (roll < 60)
        {
            var sides = new int[NodeCount];
            for (var i = 0; i < NodeCount; i++)
            {
                sides[i] = _sim.Random.Next(2);
            }

            _sim.Partition = sides;
            Log($"partition {string.Join("", sides)}");
        }
        else if (roll < 75)
        {
            _sim.Partition = null;
            Log("heal partition");
        }
        else if (roll < 90)
        {
            _sim.DropPercent = _sim.Random.Next(0, 15);
            _sim.DuplicatePercent = _sim.Random.Next(0, 10);
            Log($"drop {_sim.DropPercent}% duplicate {_sim.DuplicatePercent}%");
        }
        else
        {
            _sim.MaxDelay = Ms(_sim.Random.Next(2, 200));
            Log($"max delay {_sim.MaxDelay / TimeSpan.TicksPerMillisecond} ms");
        }
    }

    private void OrphanRequestsOf(int coordinator)
    {
        foreach (var op in _ops.Values.Where(o => o.Coordinator == coordinator && o.Reply is null))
        {
            op.Orphaned = true;
        }
    }

    private void OnReply(int coordinator, ulong id, ClientReply reply)
    {
        if (!_ops.TryGetValue(id, out var op))
        {
            throw Fail($"invariant 1: a reply to request #{id}, which was never submitted");
        }

        if (op.Reply is not null || op.Orphaned)
        {
            throw Fail($"invariant 1: a second reply to #{id} ({reply.Status} {reply.Message}; first: {op.Reply?.Status}, orphaned: {op.Orphaned})");
        }

        if (coordinator != op.Coordinator)
        {
            throw Fail($"invariant 1: #{id} was answered by n{coordinator}, submitted to n{op.Coordinator}");
        }

        op.Reply = reply;
        op.RepliedAt = _sim.Now;
        Log($"reply #{id} {reply.Status} {reply.Message}{(reply.Set is { } s ? " " + Describe(s) : "")}");
        if (op.RepliedAt - op.SubmittedAt > RequestTimeout.Ticks + ReplySlack)
        {
            throw Fail($"invariant 1: #{id} answered {(op.RepliedAt - op.SubmittedAt) / TimeSpan.TicksPerMillisecond} ms after it was submitted (timeout {RequestTimeout})");
        }

        if (op.Kind == OpKind.Read && reply.Status == ClientStatus.Ok)
        {
            CheckReadSeesAckedWrites(op);
            _lastContext[op.Key] = reply.Set?.Context ?? VersionVector.Empty;
        }
        else if (op.Kind == OpKind.CounterRead)
        {
            OnCounterRead(op, reply);
        }
        else if (op.Kind == OpKind.Increment)
        {
            OnIncremented(op, reply);
        }
    }

    private void OnMerged(int node, string key, ReplicaRecord delta)
    {
        if (!SiblingSet.TryDecode(delta.Set, out var set, out var error))
        {
            throw Fail($"a merge at n{node} carries an undecodable set: {error}");
        }

        if (IsCounterKey(key))
        {
            return; // a counter's record carries the genesis sibling and counter entries, no client's dot
        }

        foreach (var sibling in set.Siblings)
        {
            if (!_byDot.TryGetValue(sibling.Dot, out var op))
            {
                throw Fail($"a merge at n{node} of {key} carries a sibling no client request was stamped with: {sibling}");
            }

            op.MergedAt.Add(node);
        }
    }

    /// <summary>A coordinating replica applied a versioned write: the sibling it added is the write (found by its unique value).</summary>
    private void OnUpdated(int node, string key, SiblingSet before, SiblingSet after)
    {
        if (IsCounterKey(key))
        {
            Log($"n{node} increments {key}: {before.Counter?.Total ?? 0} -> {after.Counter?.Total}");
            return;
        }

        var added = after.Siblings.ToArray().Where(s => !before.Siblings.ToArray().Any(b => b.Dot == s.Dot)).ToList();
        if (added.Count != 1)
        {
            throw Fail($"an update at n{node} of {key} added {added.Count} siblings: {Describe(before)} became {Describe(after)}");
        }

        var value = added[0].IsTombstone ? "" : Encoding.UTF8.GetString(added[0].Value.Span);
        if (!_byValue.TryGetValue(value, out var op) || op.Key != key)
        {
            throw Fail($"an update at n{node} of {key} added a sibling no client request wrote: {added[0]}");
        }

        Log($"n{node} coordinates #{op.Id}: dot {added[0].Dot}");
        Stamped(op, added[0]);
        foreach (var sibling in after.Siblings)
        {
            if (_byDot.TryGetValue(sibling.Dot, out var held))
            {
                held.MergedAt.Add(node);
            }
        }
    }

    private void CheckReplies()
    {
        foreach (var op in _ops.Values.OrderBy(o => o.Id))
        {
            if (op.Reply is null && !op.Orphaned)
            {
                throw Fail($"invariant 1: #{op.Id} ({op.Kind} {op.Key} at {op.Level} to n{op.Coordinator}) never got a reply");
            }
        }
    }

    private static int Count(ConsistencyLevel level) => level.Required(Replicas, Replicas);

    /// <summary>Invariant 2, checked as each read answers (so the failure shows the events that led to it).</summary>
    private void CheckReadSeesAckedWrites(Op read)
    {
        // Strict quorum only: a sloppy write's stand-ins are not the replicas a later read asks.
        foreach (var write in _ops.Values.Where(w => w.IsWrite && w.Key == read.Key && w.Reply?.Status == ClientStatus.Ok && w.RepliedAt < read.SubmittedAt
            && w.Level.Strict && read.Level.Strict && Count(w.Level) + Count(read.Level) > Replicas))
        {
            if (write.Dot is not { } dot)
            {
                throw Fail($"#{write.Id} was acknowledged but never sent to a replica");
            }

            if (read.Reply!.Set is not { } set || !set.Context.Covers(dot))
            {
                throw Fail($"invariant 2: read #{read.Id} of {read.Key} at {read.Level} via n{read.Coordinator} does not see write #{write.Id} at {write.Level} via n{write.Coordinator} "
                    + $"(dot {dot}, acked before the read began); it saw {(read.Reply.Set is { } s ? Describe(s) : "nothing")}; write merged at {string.Join(",", write.MergedAt.Order())}");
            }
        }
    }

    private void CheckStores()
    {
        var placement = _sim.Nodes[0].Machine.Node.Placement;
        var pendingReads = new List<(string Key, ulong Id, SiblingSet? Expected)>();
        foreach (var key in _keys)
        {
            var replicas = placement.For(Token.Of(SimStore.Bytes(key))).ToArray().Select(id => _sim.Nodes.First(n => n.Id == id)).ToList();
            var records = replicas.Select(r => r.Store.Get(key)).ToList();
            var sets = records.Select(Decode).ToList();
            SiblingSet? union = null;
            foreach (var s in sets.Where(s => s is not null))
            {
                union = union is null ? s : union.Merge(s!);
            }

            var writes = _ops.Values.Where(o => o.IsWrite && o.Key == key).ToList();
            var acked = writes.Where(o => o.Reply?.Status == ClientStatus.Ok).ToList();
            foreach (var write in acked)
            {
                if (write.Dot is not { } dot || union is null || !union.Context.Covers(dot))
                {
                    throw Fail($"invariant 3: acknowledged write #{write.Id} ({write.Kind} {key} at {write.Level}) is lost: the replicas hold {(union is null ? "nothing" : Describe(union))}");
                }
            }

            if (acked.Count > 0)
            {
                var last = acked.MaxBy(w => w.Stamp!.Value)!;
                if (union!.Winner is not { } winner || winner.Stamp < last.Stamp!.Value)
                {
                    throw Fail($"invariant 3: {key}'s acknowledged last-writer-wins winner #{last.Id} ({last.Kind}, stamp {last.Stamp}) is superseded by nothing the replicas hold: {Describe(union)}");
                }
            }

            // Invariant 7: an acknowledged KV.PUT is a sibling, or a write that saw it (or a later plain write) superseded it.
            foreach (var write in acked.Where(w => w.Kind == OpKind.VersionedPut))
            {
                var dot = write.Dot!.Value;
                if (union!.Siblings.ToArray().Any(s => s.Dot == dot) || (union.LwwFloor is { } floor && write.Stamp!.Value < floor))
                {
                    continue;
                }

                if (writes.FirstOrDefault(w => w != write && w.Dot is not null && w.Context.Covers(dot)) is null)
                {
                    throw Fail($"invariant 7: acknowledged KV.PUT #{write.Id} of {key} (dot {dot}, context {write.Context}, via n{write.Coordinator}) is gone though no write saw it: the replicas hold {Describe(union)}");
                }
            }

            // Invariant 6, convergence: after the heal and the anti-entropy rounds (invariant 8, which compares Merkle roots),
            // every replica holds the same record, compared whole. Keys some write reached only part of (before the
            // rounds) are counted apart: those are the ones the rounds had to repair or hand over.
            var reached = writes.Where(w => w.MergedAt.Count > 0).ToList();
            var all = replicas.Select(r => r.Index).ToHashSet();
            KeysCheckedForConvergence++;
            if (!reached.All(w => all.IsSubsetOf(w.MergedAt)))
            {
                KeysDeferred++;
            }

            for (var i = 1; i < sets.Count; i++)
            {
                if (!Equals(sets[i], sets[0]) || records[i].ExpiresAtUnixMs != records[0].ExpiresAtUnixMs)
                {
                    throw Fail($"invariant 6: {key}'s replicas differ after the heal and anti-entropy: {replicas[0].Id} {Show(sets[0])}, {replicas[i].Id} {Show(sets[i])}");
                }
            }

            // A read at ALL through some coordinator returns the merge of the replicas (no write is in flight now).
            var id = _nextClientId++;
            var coordinator = _sim.Nodes[_sim.Random.Next(NodeCount)];
            _ops[id] = new Op(id, key, ConsistencyLevel.All, coordinator.Index, _sim.Now) { Kind = OpKind.Read };
            _sim.Submit(coordinator, ClientRequest.Read(id, SimStore.Bytes(key), ConsistencyLevel.All));
            pendingReads.Add((key, id, union));
        }

        var counterReads = CheckCounters();
        _sim.RunUntil(_sim.Now + RequestTimeout.Ticks + Ticks(1));
        CheckCounterReads(counterReads);
        foreach (var (key, id, expected) in pendingReads)
        {
            var reply = _ops[id].Reply;
            if (reply is null || reply.Status != ClientStatus.Ok)
            {
                throw Fail($"invariant 5: the final read of {key} at ALL answered {reply?.Status} {reply?.Message}");
            }

            if (!Equals(reply.Set, expected))
            {
                throw Fail($"invariant 5: the final read of {key} at ALL returned {Show(reply.Set)}, the replicas' merge is {Show(expected)}");
            }
        }
    }

    /// <summary>
    /// Invariant 8: after the heal, at most <see cref="MaxRepairRounds"/> rounds of anti-entropy (every node runs a full
    /// pass, on demand, after any scheduled pass ends) leave every replica of every vnode range with identical records
    /// (equal Merkle roots); then one more round finds nothing to repair and fails no range.
    /// </summary>
    private void RunAntiEntropy()
    {
        for (var round = 1; ; round++)
        {
            var repaired = RepairRound(round);
            KeysRepairedAfterHeal += repaired;
            var differing = DifferingRange();
            Log($"anti-entropy round {round}: {repaired} keys repaired, {(differing is null ? "replicas agree" : "still differ: " + differing)}");
            if (differing is null)
            {
                var check = RepairRound(round + 1);
                if (check != 0)
                {
                    throw Fail($"invariant 8: a round of anti-entropy after the replicas agreed repaired {check} keys");
                }

                return;
            }

            if (round == MaxRepairRounds)
            {
                throw Fail($"invariant 8: after {round} rounds of anti-entropy the replicas of {differing}");
            }
        }
    }

    /// <summary>Every node runs one full pass (once the scheduled one it may be running ends); the keys they found differing.</summary>
    private long RepairRound(int round)
    {
        var started = new long[NodeCount];
        foreach (var node in _sim.Nodes)
        {
            if (!_sim.RunUntil(() => !node.Machine.Node.RepairFigures.Running, _sim.Now + Ticks(60)))
            {
                throw Fail($"invariant 8: {node.Id}'s scheduled anti-entropy pass still runs 60 s after the heal: {node.Machine.Node.RepairState}");
            }

            if (!node.Machine.TryStartRepair(_sim.ClockOf(node), node.Outbox, out var error))
            {
                throw Fail($"invariant 8: {node.Id} refused a repair pass: {error}");
            }

            started[node.Index] = node.Machine.Node.RepairFigures.Current?.Id ?? node.Machine.Node.RepairFigures.Last!.Id;
        }

        // A scheduled pass may start after the one asked for ends: its end is enough.
        bool Ended() => _sim.Nodes.All(n => n.Machine.Node.RepairFigures.Last?.Id >= started[n.Index]);
        if (!_sim.RunUntil(Ended, _sim.Now + Ticks(120)))
        {
            throw Fail($"invariant 8: round {round} of anti-entropy did not end in 120 s: " + string.Join("; ", _sim.Nodes.Select(n => $"{n.Id} {n.Machine.Node.RepairState}")));
        }

        long repaired = 0;
        foreach (var node in _sim.Nodes)
        {
            var last = node.Machine.Node.RepairFigures.Last!;
            if (last.RangesFailed > 0 || last.RangesDone != last.RangesTotal)
            {
                throw Fail($"invariant 8: {node.Id}'s pass {last.Id} after the heal failed {last.RangesFailed} of {last.RangesTotal} ranges: {last.LastFailure}");
            }

            repaired += last.KeysRepaired;
        }

        return repaired;
    }

    /// <summary>The first vnode range (ring order) whose replicas' Merkle roots differ, described; null when they all agree.</summary>
    private string? DifferingRange()
    {
        var node0 = _sim.Nodes[0].Machine.Node;
        var ring = node0.Ring;
        for (var vnode = 0; vnode < ring.VnodeCount; vnode++)
        {
            var replicas = node0.Placement.ForVnode(vnode).ToArray().Select(id => _sim.Nodes.First(n => n.Id == id)).ToList();
            var (first, second) = TokenRange.FromRing(ring.PreviousToken(vnode), ring.TokenAt(vnode));
            foreach (var piece in second is { } s ? new[] { first, s } : [first])
            {
                var roots = replicas.Select(r => TreeOf(r.Store, piece).Root).ToList();
                if (roots.Distinct().Count() > 1)
                {
                    var keys = replicas.SelectMany(r => KeysIn(r.Store, piece)).Distinct().Order(StringComparer.Ordinal);
                    var differing = keys.Where(k => replicas.Select(r => r.Store.Get(k)).Distinct(RecordComparer.Instance).Count() > 1).ToList();
                    return $"[{piece.First}, {piece.Last}] differ: {string.Join(", ", replicas.Select((r, i) => $"{r.Id} root {roots[i]:x16}"))}; keys "
                        + string.Join("; ", differing.Select(k => $"{k}: " + string.Join(" | ", replicas.Select(r => $"{r.Id} {Show(Decode(r.Store.Get(k)))} exp {r.Store.Get(k).ExpiresAtUnixMs}"))));
                }
            }
        }

        return null;
    }

    private static IEnumerable<string> KeysIn(SimStore store, TokenRange range) =>
        store.Keys.Where(k => store.Get(k).Exists && range.Contains(Token.Of(SimStore.Bytes(k))));

    /// <summary>A replica's Merkle tree of a range, straight from its store (depth 4: the checker's own, not the protocol's).</summary>
    private static MerkleTree TreeOf(SimStore store, TokenRange range) =>
        MerkleTree.Build(range.First.Value, range.Last.Value, 4, KeysIn(store, range).Select(k =>
        {
            var record = store.Get(k);
            var key = SimStore.Bytes(k);
            return (Token.Of(key).Value, MerkleTree.EntryHash(key, record.Set, record.ExpiresAtUnixMs));
        }));

    /// <summary>Records equal by bytes and expiry.</summary>
    private sealed class RecordComparer : IEqualityComparer<ReplicaRecord>
    {
        public static readonly RecordComparer Instance = new();

        public bool Equals(ReplicaRecord x, ReplicaRecord y) => x.ExpiresAtUnixMs == y.ExpiresAtUnixMs && x.Set.AsSpan().SequenceEqual(y.Set);

        public int GetHashCode(ReplicaRecord obj) => obj.Set.Length;
    }

    private static SiblingSet? Decode(ReplicaRecord record) =>
        record.Exists && SiblingSet.TryDecode(record.Set, out var set, out _) ? set : null;

    private static string Show(SiblingSet? set) => set is null ? "nothing" : Describe(set);

    private static string Describe(SiblingSet set) =>
        $"[{string.Join(", ", set.Siblings.ToArray().Select(s => $"{(s.IsTombstone ? "tomb" : Encoding.UTF8.GetString(s.Value.Span))}@{s.Stamp}"))}] ctx {set.Context} floor {set.LwwFloor}";

    private string Views() => string.Join("; ", _sim.Nodes.Select(n => n.Up
        ? $"{n.Id}: {string.Join(",", n.Machine.View.Members.Select(m => $"{m.Id}{(m.Down ? "(DOWN)" : "")}:{m.Record.State}"))} ring {n.Machine.Node.Ring.MemberCount}, tokens {n.Machine.Tokens.Length} from {(n.Machine.Tokens.IsEmpty ? 0 : n.Machine.Tokens[0])}, change {n.Machine.ChangeInFlight ?? "none"} (in flight {n.Machine.Node.ChangeInFlight}, streamed {n.Machine.StreamFigures.RangesDone}/{n.Machine.StreamFigures.RangesTotal}, gainers {string.Join(",", n.Machine.Node.Gainers)}, all streamed {n.Machine.Node.ChangeStreamed})"
        : $"{n.Id}: crashed"));

    private void Log(string line)
    {
        _recent.Enqueue(FormattableString.Invariant($"{_sim.Now / TimeSpan.TicksPerMillisecond,7} ms {line}"));
        if (_recent.Count > 120)
        {
            _recent.Dequeue();
        }
    }

    private SimulationFailure Fail(string message)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"RINGKV_SEED={_seed}: {message}").AppendLine();
        text.AppendLine("last events:");
        foreach (var line in _recent)
        {
            text.Append("  ").AppendLine(line);
        }

        return new SimulationFailure(text.ToString());
    }

    private static long Ticks(int seconds) => TimeSpan.FromSeconds(seconds).Ticks;

    private static long Ms(int ms) => TimeSpan.FromMilliseconds(ms).Ticks;

    private enum OpKind
    {
        Read,
        PlainPut,
        PlainDelete,
        VersionedPut,

        /// <summary>An increment's first step: the read at its level (CoordinatedStore.IncrementAsync's).</summary>
        CounterRead,

        /// <summary>An increment's second step: the Increment write with what the read saw.</summary>
        Increment,
    }

    /// <summary>What became of an increment, as its client can tell.</summary>
    private enum IncrementOutcome
    {
        /// <summary>No reply yet.</summary>
        Pending,

        /// <summary>An Ok reply: the count must hold it, once.</summary>
        Acknowledged,

        /// <summary>A reply that means nothing was written (UNAVAILABLE; refused before the coordinating replica applied it).</summary>
        NotApplied,

        /// <summary>Timeout, a failure after the coordinating replica applied it, or its coordinator crashed: held once or not at all.</summary>
        Ambiguous,
    }

    private sealed class Op(ulong id, string key, ConsistencyLevel level, int coordinator, long submittedAt)
    {
        public ulong Id { get; } = id;

        public string Key { get; } = key;

        public ConsistencyLevel Level { get; } = level;

        public int Coordinator { get; } = coordinator;

        public long SubmittedAt { get; } = submittedAt;

        public OpKind Kind { get; set; }

        public bool IsWrite => Kind is OpKind.PlainPut or OpKind.PlainDelete or OpKind.VersionedPut;

        /// <summary>An increment: its delta (a power of two unique to it among its key's increments).</summary>
        public long Delta { get; set; }

        /// <summary>An increment: the read it followed.</summary>
        public Op? Read { get; set; }

        /// <summary>A counter read: the coordinator's incarnation, so its increment goes to the same connection.</summary>
        public ulong Generation { get; set; }

        public IncrementOutcome Outcome { get; set; }

        /// <summary>An increment: the base of the counter it was applied to (null until a store applied it).</summary>
        public WriteStamp? Base { get; set; }

        public string Value { get; set; } = "";

        public VersionVector Context { get; set; } = VersionVector.Empty;

        public ClientReply? Reply { get; set; }

        public long RepliedAt { get; set; }

        public bool Orphaned { get; set; }

        public Dot? Dot { get; set; }

        public WriteStamp? Stamp { get; set; }

        public HashSet<int> MergedAt { get; } = [];
    }
}

/// <summary>A broken invariant of a simulation run; the message names the seed that replays it.</summary>
internal sealed class SimulationFailure(string message) : Exception(message);
