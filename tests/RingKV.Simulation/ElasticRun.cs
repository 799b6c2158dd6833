using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using RingKV.Cluster;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Membership;
using RingKV.Cluster.Messages;
using RingKV.Cluster.Ring;
using RingKV.Core.Consistency;
using RingKV.Core.Hashing;
using RingKV.Core.Versioning;

namespace RingKV.Simulation;

/// <summary>
/// One seed of the elasticity simulation: a cluster of three or four nodes (N=3) under client traffic goes through one
/// membership change at a time, chosen by the seed (a join, two joins, a decommission, a removenode of a dead node, a
/// replacement of a dead node), with a fault during the change (the joining node or a streaming source crashes and
/// restarts, a partition cuts a stream, messages are lost and delayed); then everything heals, the change completes,
/// anti-entropy and cleanup run, and the checker reads the stores directly.
/// </summary>
/// <remarks>
/// Invariants (each failure names the seed; E-numbers in the messages):
/// (E1) every request is answered exactly once by its coordinator, within the request timeout plus a tick's slack,
/// unless the coordinator crashed or stopped first (the client saw the connection drop).
/// (E2) a strict read at R that starts after a strict write at W was acknowledged, with R+W&gt;N, sees it (its context
/// covers the write's dot), during the change too: the quorums of the old and the new replicas must overlap.
/// (E3) while a change is in flight, every acknowledged strict write at W is held (the key's record in the store covers
/// its dot) by at least W stores among the replicas of the key by the ring before the change and by the ring after it.
/// Why that much is guaranteed and no more: when the write was acknowledged, W replicas by some coordinator's ring had
/// merged it durably (sync-always), and that ring was the ring before or after the change in flight (one change at a
/// time, and the checker keeps the ring before until every live node saw the change end); a crash keeps what was
/// synced, streaming only adds records, and the only deletion (cleanup) is refused while a change is in flight. So
/// the count over the union never drops below W. It is not guaranteed over the new replicas alone while the change
/// runs (a write acknowledged by a losing replica after it streamed the range, with the pending replica's copy lost,
/// is held by the old replicas), nor over live stores alone: a node that died for good (removenode, replace) keeps
/// its copies, counted here because they were acknowledged, but out of reach (E6 accounts for them).
/// (E4) an interrupted change completes: within a bounded time after the heal every live node sees the expected
/// members NORMAL and UP on the final ring, the decommissioned or removed node LEFT, no change in flight.
/// (E5) once the change completed, every acknowledged strict write at W is held by at least W minus its holders that
/// died for good among the final replicas: the gainers got the ranges from the replicas losing them (or every replica
/// that held the write), and writes during the change reached the pending replicas as well as the old ones.
/// (E6) after the heal, anti-entropy and cleanup no acknowledged write is lost: every write that some store of a node
/// still in the cluster ever merged (and every strict write at two or more) is covered by every final replica of its
/// key, reads at QUORUM and ALL return it, and the last-writer-wins winner is at least the newest acknowledged write.
/// Exempt: a write whose only copies were on (or hinted for) the node that died for good; that loss is what N-way
/// replication at ONE allows, as in Cassandra.
/// (E7) after the cleanup every key is held by exactly its N final replicas: every store of a node in the cluster
/// that is not a replica of the key by the final ring holds no record of it (hints excluded).
/// (E8) anti-entropy after the heal makes the final replicas of every range agree within three rounds.
/// </remarks>
internal sealed class ElasticRun
{
    public const int Replicas = 3;
    private const int KeyCount = 200;
    private const int MaxRepairRounds = 3;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(2);
    private static readonly long ReplySlack = TimeSpan.FromMilliseconds(400).Ticks;
    private static readonly TimeSpan RepairTimeout = TimeSpan.FromSeconds(3);
    private static readonly ConsistencyLevel[] Levels = [ConsistencyLevel.One, ConsistencyLevel.Two, ConsistencyLevel.Quorum, ConsistencyLevel.All];
    private static readonly ReplicationSettings Replication = ReplicationSettings.Uniform(Replicas);

    private readonly long _seed;
    private readonly Simulator _sim;
    private readonly Dictionary<ulong, Op> _ops = [];
    private readonly Dictionary<Dot, Op> _byDot = [];
    private readonly Queue<string> _recent = new();
    private readonly List<string> _keys = [.. Enumerable.Range(0, KeyCount).Select(i => $"k{i}")];
    private readonly Dictionary<int, string> _rackOf = [];
    private readonly HashSet<int> _deadForGood = [];
    private readonly HashSet<int> _leaving = [];
    private readonly Dictionary<int, string> _watched = [];
    private readonly int _initial;
    private ulong _nextClientId = 1;
    private bool _workload;
    private int _replaced = -1;
    private int _replacer = -1;

    // The checker's rings: the ring before the change in flight (null when none), and the change as a function of it.
    private TokenRing _ring = TokenRing.Empty;
    private Func<TokenRing?>? _future;
    private long _checkpoints;

    public ElasticRun(long seed)
    {
        _seed = seed;
        var pick = new RingKV.Core.Random.SplitMix64(seed ^ 0x5EED_E1A5);
        Change = (ChangeKind)pick.Next(5);
        Fault = (FaultKind)pick.Next(5);
        // RINGKV_SIM_CHANGE / RINGKV_SIM_FAULT (names of the enums) pin the change or the fault, to sweep one kind.
        if (Environment.GetEnvironmentVariable("RINGKV_SIM_CHANGE") is { Length: > 0 } change)
        {
            Change = Enum.Parse<ChangeKind>(change, ignoreCase: true);
        }

        if (Environment.GetEnvironmentVariable("RINGKV_SIM_FAULT") is { Length: > 0 } fault)
        {
            Fault = Enum.Parse<FaultKind>(fault, ignoreCase: true);
        }

        _initial = Change is ChangeKind.Decommission or ChangeKind.RemoveNode ? 4 : 3 + pick.Next(2);
        _sim = new Simulator(seed, _initial, Settings) { OnReply = OnReply, OnCrash = OnCrash };
        foreach (var node in _sim.Nodes)
        {
            Watch(node);
        }
    }

    public enum ChangeKind
    {
        Join,
        JoinTwo,
        Decommission,
        RemoveNode,
        Replace,
    }

    public enum FaultKind
    {
        None,
        CrashNewNode,
        CrashSource,
        Partition,
        Lossy,
    }

    public ChangeKind Change { get; }

    public FaultKind Fault { get; }

    public int Submitted => _ops.Count;

    public long Messages => _sim.Delivered;

    /// <summary>Simulated time from the start of the change to its end as every live node sees it.</summary>
    public TimeSpan ChangeTook { get; private set; }

    public long Checkpoints => _checkpoints;

    public long CleanupKeysRemoved { get; private set; }

    /// <summary>Hints still kept, after the change, for the node that died for good.</summary>
    public long HintsForGoneNodes { get; private set; }

    public long KeysRepairedAfterHeal { get; private set; }

    /// <summary>Acknowledged writes exempt from E6 (their only copies were on the node that died for good).</summary>
    public int WritesLostWithDeadNode { get; private set; }

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
        Log($"{Change} with fault {Fault}, {_initial} nodes");
        if (!_sim.RunUntil(() => Settled(out _), Ticks(40)))
        {
            Settled(out var why);
            throw Fail($"the first {_initial} nodes did not settle in 40 s: {why}; {Views()}");
        }

        _ring = _sim.Nodes[0].Machine.Node.Ring;

        // Load: every key written once at ALL, then random traffic.
        _workload = true;
        for (var i = 0; i < _keys.Count; i++)
        {
            var key = _keys[i];
            _sim.Schedule(_sim.Now + Ms(2 * i), () => SubmitWrite(RandomUp(), key, ConsistencyLevel.All.AsStrict()));
        }

        ScheduleClient(_sim.Now + Ms(5));
        _sim.RunUntil(_sim.Now + Ticks(2));
        ScheduleCheckpoint();
        ScheduleWatch();

        var start = _sim.Now;
        switch (Change)
        {
            case ChangeKind.Join:
                Join(withFault: true);
                break;
            case ChangeKind.JoinTwo:
                var faultFirst = _sim.Random.Next(2) == 0;
                Join(withFault: faultFirst);
                Join(withFault: !faultFirst);
                break;
            case ChangeKind.Decommission:
                Decommission();
                break;
            case ChangeKind.RemoveNode:
                RemoveNode();
                break;
            case ChangeKind.Replace:
                Replace();
                break;
        }

        ChangeTook = TimeSpan.FromTicks(_sim.Now - start);
        _workload = false;
        _sim.RunUntil(_sim.Now + RequestTimeout.Ticks + Ticks(1));
        CheckReplies();

        // Hints for the node that died for good are not handed over (its ranges came from the survivors); the first cut
        // keeps them until the hint window ends. They are counted, not waited for (see the report to the lead).
        var gone = _deadForGood.Select(d => _sim.Nodes[d].Id).ToHashSet();
        long Pending(Simulator.SimNode n) => n.Machine.Node.Hints.PendingByTarget.Where(p => !gone.Contains(p.Target)).Sum(p => p.Pending);
        if (!_sim.RunUntil(() => Live().All(n => Pending(n) == 0), _sim.Now + Ticks(60)))
        {
            throw Fail("hints did not drain 60 s after the change: "
                + string.Join("; ", Live().Select(n => $"{n.Id}: {string.Join(",", n.Machine.Node.Hints.PendingByTarget.Select(p => $"{p.Target}={p.Pending}"))} (store {n.Store.Hints.Count})")));
        }

        HintsForGoneNodes = Live().Sum(n => n.Machine.Node.Hints.PendingByTarget.Where(p => gone.Contains(p.Target)).Sum(p => p.Pending));
        CheckFinalHolders();
        RunAntiEntropy();
        Cleanup();
        CheckStores();
    }

    // ---- the changes ----

    /// <summary>A new node joins; with <paramref name="withFault"/> the seed's fault hits it during the stream. Returns once every live node saw it end.</summary>
    private void Join(bool withFault)
    {
        var node = _sim.AddNode();
        Watch(node);
        Log($"join {node.Id}");
        var before = _ring;
        _future = () => node.Machine.Tokens.IsEmpty ? null : before.With(MemberOf(node), [.. node.Machine.Tokens.Select(t => new Token(t))]);
        var newcomer = node;
        RunChange(
            withFault ? Fault : FaultKind.None,
            newcomer,
            sources: () => [.. _ring.Members.Select(m => NodeOf(m.Id))],
            done: () => Completed(expectNormal: [.. _ring.Members.Select(m => NodeOf(m.Id)), newcomer], expectLeft: []));
    }

    private void Decommission()
    {
        var leaver = _sim.Nodes[_sim.Random.Next(_initial)];
        _leaving.Add(leaver.Index);
        var before = _ring;
        _future = () => before.Without(leaver.Id);
        var normal = _ring.Members.Where(m => m.Id != leaver.Id).Select(m => NodeOf(m.Id)).ToList();
        var deadline = _sim.Now + Ticks(20);
        string error = "";
        if (!_sim.RunUntil(() => leaver.Up && leaver.Machine.TryDecommission(_sim.ClockOf(leaver), leaver.Outbox, out error), deadline))
        {
            throw Fail($"E4: {leaver.Id} refused to decommission for 20 s: {error}");
        }

        Log($"decommission {leaver.Id}");
        RunChange(Fault, leaver, sources: () => [leaver], done: () => Completed(expectNormal: normal, expectLeft: [leaver]));
    }

    private void RemoveNode()
    {
        var dead = _sim.Nodes[_sim.Random.Next(_initial)];
        KillForGood(dead);
        var before = _ring;
        _future = () => before.Without(dead.Id);
        var normal = _ring.Members.Where(m => m.Id != dead.Id).Select(m => NodeOf(m.Id)).ToList();
        var remover = normal[_sim.Random.Next(normal.Count)];
        string error = "";
        if (!_sim.RunUntil(() => remover.Up && remover.Machine.TryRemoveNode(dead.Id, _sim.ClockOf(remover), remover.Outbox, out error), _sim.Now + Ticks(30)))
        {
            throw Fail($"E4: {remover.Id} refused to remove {dead.Id} for 30 s: {error}; {Views()}");
        }

        Log($"removenode {dead.Id} through {remover.Id}");
        // A removal is one node's gossip until it spreads: a crash of that node first rolls it back (every node still
        // sees the dead node NORMAL). The operator then runs removenode again; after the heal, so does this run.
        void RetryRolledBack()
        {
            if (Live().All(n => n.Machine.View.TryGet(dead.Id, out var s) && s.Record.State == NodeState.Normal))
            {
                foreach (var n in Live().Where(n => n.Machine.State == NodeState.Normal))
                {
                    if (n.Machine.TryRemoveNode(dead.Id, _sim.ClockOf(n), n.Outbox, out _))
                    {
                        Log($"removenode {dead.Id} rolled back by the crash; run again through {n.Id}");
                        break;
                    }
                }
            }
        }

        RunChange(Fault == FaultKind.CrashNewNode ? FaultKind.CrashSource : Fault, remover, sources: () => normal, done: () => Completed(expectNormal: normal, expectLeft: [dead]), afterHeal: RetryRolledBack);
    }

    private void Replace()
    {
        var dead = _sim.Nodes[_sim.Random.Next(_initial)];
        KillForGood(dead);
        var normal = _ring.Members.Where(m => m.Id != dead.Id).Select(m => NodeOf(m.Id)).ToList();
        if (!_sim.RunUntil(() => normal.All(n => n.Machine.View.TryGet(dead.Id, out var s) && s.Down), _sim.Now + Ticks(30)))
        {
            throw Fail($"{dead.Id} is not DOWN everywhere 30 s after it died: {Views()}");
        }

        _replaced = dead.Index;
        _replacer = _sim.Nodes.Count;
        _rackOf[_replacer] = _rackOf[dead.Index];
        var node = _sim.AddNode();
        Watch(node);
        Log($"replace {dead.Id} by {node.Id}");
        var before = _ring;
        var tokens = before.TokensOf(dead.Id);
        _future = () => before.Without(dead.Id).With(MemberOf(node), tokens);
        RunChange(Fault, node, sources: () => normal, done: () => Completed(expectNormal: [.. normal, node], expectLeft: []));
    }

    /// <summary>A node dies and never comes back: its requests are orphaned; the cluster must see it DOWN.</summary>
    private void KillForGood(Simulator.SimNode node)
    {
        Log($"{node.Id} dies for good");
        _deadForGood.Add(node.Index);
        _sim.Stop(node);
        if (!_sim.RunUntil(() => Live().All(n => n.Machine.View.TryGet(node.Id, out var s) && s.Down), _sim.Now + Ticks(30)))
        {
            throw Fail($"{node.Id} is not DOWN everywhere 30 s after it died: {Views()}");
        }
    }

    /// <summary>
    /// Runs a change that has begun: the fault hits once the changing node streams (or soon after it started), lasts a
    /// while or until the heal 4 to 12 s into the change; then E4: the change ends within 60 s after the heal.
    /// </summary>
    private void RunChange(FaultKind fault, Simulator.SimNode changing, Func<List<Simulator.SimNode>> sources, Func<string?> done, Action? afterHeal = null)
    {
        var start = _sim.Now;
        var heal = start + Ms(_sim.Random.Next(4_000, 12_000));
        // The fault lands while the ranges stream: once the changing node has tokens (a joiner) or at once, plus a little.
        var faultAt = long.MaxValue;
        if (fault != FaultKind.None)
        {
            _sim.RunUntil(() => !changing.Machine.Tokens.IsEmpty || !changing.Up, _sim.Now + Ticks(15));
            faultAt = _sim.Now + Ms(_sim.Random.Next(0, 600));
            _sim.RunUntil(faultAt);
            InjectFault(fault, changing, sources(), heal);
        }

        _sim.RunUntil(() => done() is null, heal);
        Heal();
        var retryAt = _sim.Now + Ticks(5);
        if (!_sim.RunUntil(
            () =>
            {
                if (afterHeal is not null && _sim.Now >= retryAt)
                {
                    afterHeal();
                    retryAt = _sim.Now + Ticks(5);
                }

                return done() is null;
            },
            _sim.Now + Ticks(60)))
        {
            throw Fail($"E4: the change did not complete 60 s after the heal: {done()}; {Views()}");
        }

        Log($"change complete after {(_sim.Now - start) / TimeSpan.TicksPerMillisecond} ms");
        // The last checkpoint of the change, then the ring after it is the ring.
        Checkpoint();
        _ring = _future!() ?? throw Fail("the change completed without a ring after it");
        _future = null;
        CheckCompletedHolders();
    }

    private void InjectFault(FaultKind fault, Simulator.SimNode changing, List<Simulator.SimNode> sources, long heal)
    {
        switch (fault)
        {
            case FaultKind.CrashNewNode:
                {
                    Log($"crash {changing.Id} (the changing node)");
                    _sim.Crash(changing);
                    var back = _sim.Now + Ms(_sim.Random.Next(300, 4_000));
                    if (back < heal)
                    {
                        _sim.Schedule(back, () => Restart(changing));
                    }

                    break;
                }

            case FaultKind.CrashSource:
                {
                    var candidates = sources.Where(s => s.Up && !_deadForGood.Contains(s.Index)).ToList();
                    if (candidates.Count == 0)
                    {
                        return;
                    }

                    var victim = candidates[_sim.Random.Next(candidates.Count)];
                    Log($"crash {victim.Id} (a streaming source)");
                    _sim.Crash(victim);
                    var back = _sim.Now + Ms(_sim.Random.Next(300, 4_000));
                    if (back < heal)
                    {
                        _sim.Schedule(back, () => Restart(victim));
                    }

                    break;
                }

            case FaultKind.Partition:
                {
                    var sides = new int[_sim.Nodes.Count];
                    var others = _sim.Nodes.Where(n => n != changing).ToList();
                    foreach (var n in others)
                    {
                        sides[n.Index] = _sim.Random.Next(2);
                    }

                    // At least one other node is across the cut from the changing node.
                    sides[others[_sim.Random.Next(others.Count)].Index] = 1;
                    sides[changing.Index] = 0;
                    _sim.Partition = sides;
                    Log($"partition {string.Join("", sides)}");
                    var end = _sim.Now + Ms(_sim.Random.Next(500, 6_000));
                    if (end < heal)
                    {
                        _sim.Schedule(end, () =>
                        {
                            _sim.Partition = null;
                            Log("partition healed");
                        });
                    }

                    break;
                }

            case FaultKind.Lossy:
                _sim.DropPercent = _sim.Random.Next(3, 25);
                _sim.DuplicatePercent = _sim.Random.Next(0, 10);
                _sim.MaxDelay = Ms(_sim.Random.Next(2, 300));
                Log($"drop {_sim.DropPercent}% duplicate {_sim.DuplicatePercent}% max delay {_sim.MaxDelay / TimeSpan.TicksPerMillisecond} ms");
                break;
        }
    }

    private void Restart(Simulator.SimNode node)
    {
        if (!node.Up && !node.Stopped)
        {
            Log($"restart {node.Id} (state {node.PersistedState}, {node.PersistedTokens.Length} tokens)");
            _sim.Restart(node);
        }
    }

    private void Heal()
    {
        Log("heal");
        _sim.Partition = null;
        _sim.DropPercent = 0;
        _sim.DuplicatePercent = 0;
        _sim.MaxDelay = TimeSpan.FromMilliseconds(20).Ticks;
        foreach (var node in _sim.Nodes.Where(n => !n.Up && !n.Stopped))
        {
            Restart(node);
        }
    }

    /// <summary>Null when every live node sees the change ended as expected; else what is missing.</summary>
    private string? Completed(List<Simulator.SimNode> expectNormal, List<Simulator.SimNode> expectLeft)
    {
        var expected = expectNormal.Select(n => n.Id).Order().ToList();
        foreach (var node in Live())
        {
            if (node.Machine.ChangeInFlight is { } change)
            {
                return $"{node.Id} sees a change in flight: {change}";
            }

            foreach (var member in expectNormal)
            {
                if (!node.Machine.View.TryGet(member.Id, out var status) || status.Record.State != NodeState.Normal || status.Down)
                {
                    return $"{node.Id} does not see {member.Id} NORMAL and UP";
                }
            }

            foreach (var member in expectLeft)
            {
                if (node.Machine.View.TryGet(member.Id, out var status) && status.Record.State != NodeState.Left)
                {
                    return $"{node.Id} sees {member.Id} {status.Record.State}, not LEFT";
                }
            }

            var ring = node.Machine.Node.Ring.Members.Select(m => m.Id).Order().ToList();
            if (!ring.SequenceEqual(expected))
            {
                return $"{node.Id} routes by a ring of {string.Join(",", ring)}";
            }
        }

        // A decommissioned node is stopped a few seconds after it is LEFT (what its host does).
        return expectLeft.FirstOrDefault(n => n.Up) is { } running ? $"{running.Id} still runs" : null;
    }

    /// <summary>The first nodes are NORMAL and UP on every node, with the full ring.</summary>
    private bool Settled(out string why)
    {
        why = "";
        foreach (var node in _sim.Nodes)
        {
            if (!node.Up || node.Machine.View.Members.Length != _sim.Nodes.Count
                || node.Machine.View.Members.Any(m => m.Down || m.Record.State != NodeState.Normal) || node.Machine.Node.Ring.MemberCount != _sim.Nodes.Count)
            {
                why = $"{node.Id} not settled";
                return false;
            }
        }

        return true;
    }

    // ---- workload ----

    private NodeMachineSettings Settings(int index)
    {
        var id = new NodeId($"n{index}");
        if (!_rackOf.TryGetValue(index, out var rack))
        {
            rack = $"r{index % 3}";
            _rackOf[index] = rack;
        }

        var cluster = new ClusterNodeSettings(id, "dc1", rack)
        {
            Replication = Replication,
            RequestTimeout = RequestTimeout,
            RepairTimeout = RepairTimeout,
            RepairRangesPerExchange = 3,
            // Throttled, so a stream spans a few seconds and the faults land in the middle of it.
            StreamRateBytesPerSecond = 4 * 1024,
        };
        var seeds = new[] { 0, 1 }.Where(s => s != index).Select(s => $"10.0.0.{s + 1}:7380").ToList();
        var settings = new NodeMachineSettings(cluster, new GossipSettings(), 1, $"10.0.0.{index + 1}:6379", $"10.0.0.{index + 1}:7380", seeds, 1, []);
        return index == _replacer ? settings with { Replace = new NodeId($"n{_replaced}") } : settings;
    }

    private RingMember MemberOf(Simulator.SimNode node) => new(node.Id, "dc1", _rackOf[node.Index], 1);

    private Simulator.SimNode NodeOf(NodeId id) => _sim.Nodes.First(n => n.Id == id);

    private void Watch(Simulator.SimNode node) => node.Store.OnMerged = OnMerged;

    private IEnumerable<Simulator.SimNode> Live() => _sim.Nodes.Where(n => n.Up);

    /// <summary>Nodes whose stores are part of the cluster at the end: not dead for good, not decommissioned.</summary>
    private IEnumerable<Simulator.SimNode> Members() => _sim.Nodes.Where(n => !n.Stopped);

    private Simulator.SimNode RandomUp()
    {
        var up = Live().Where(n => !n.Machine.Node.Ring.IsEmpty).ToList();
        return up.Count == 0 ? _sim.Nodes[0] : up[_sim.Random.Next(up.Count)];
    }

    private void ScheduleClient(long at) => _sim.Schedule(at, () =>
    {
        if (!_workload)
        {
            return;
        }

        var node = RandomUp();
        if (node.Up)
        {
            var key = _keys[_sim.Random.Next(_keys.Count)];
            var level = Levels[_sim.Random.Next(Levels.Length)];
            level = _sim.Random.Next(2) == 0 ? level.AsStrict() : level;
            if (_sim.Random.Next(100) < 40)
            {
                SubmitRead(node, key, level);
            }
            else
            {
                SubmitWrite(node, key, level);
            }
        }

        ScheduleClient(_sim.Now + Ms(_sim.Random.Next(5, 40)));
    });

    private Op SubmitRead(Simulator.SimNode node, string key, ConsistencyLevel level)
    {
        var id = _nextClientId++;
        var op = new Op(id, key, level, node.Index, _sim.Now) { Kind = OpKind.Read };
        _ops[id] = op;
        _sim.Submit(node, ClientRequest.Read(id, SimStore.Bytes(key), level));
        return op;
    }

    private void SubmitWrite(Simulator.SimNode node, string key, ConsistencyLevel level)
    {
        if (!node.Up)
        {
            return;
        }

        var id = _nextClientId++;
        var op = new Op(id, key, level, node.Index, _sim.Now) { Kind = OpKind.PlainPut, Value = $"v{id}" };
        _ops[id] = op;
        _sim.CaptureWrites = record => Stamped(op, record);
        _sim.Submit(node, ClientRequest.WriteOf(id, SimStore.Bytes(key), WriteOperation.PlainPut, Encoding.UTF8.GetBytes(op.Value), context: VersionVector.Empty, consistency: level));
        _sim.CaptureWrites = null;
    }

    private void Stamped(Op op, ReplicaRecord record)
    {
        if (!SiblingSet.TryDecode(record.Set, out var set, out var error) || set.Count != 1)
        {
            throw Fail($"#{op.Id}'s replica write is not one sibling: {error ?? set!.ToString()}");
        }

        var sibling = set[0];
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

    private void OnMerged(int node, string key, ReplicaRecord delta)
    {
        if (!SiblingSet.TryDecode(delta.Set, out var set, out var error))
        {
            throw Fail($"a merge at n{node} carries an undecodable set: {error}");
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

    private void OnCrash(Simulator.SimNode node)
    {
        foreach (var op in _ops.Values.Where(o => o.Coordinator == node.Index && o.Reply is null))
        {
            op.Orphaned = true;
        }
    }

    private void OnReply(int coordinator, ulong id, ClientReply reply)
    {
        if (!_ops.TryGetValue(id, out var op))
        {
            throw Fail($"E1: a reply to request #{id}, which was never submitted");
        }

        if (op.Reply is not null || op.Orphaned)
        {
            throw Fail($"E1: a second reply to #{id} ({reply.Status} {reply.Message}; first: {op.Reply?.Status}, orphaned: {op.Orphaned})");
        }

        if (coordinator != op.Coordinator)
        {
            throw Fail($"E1: #{id} was answered by n{coordinator}, submitted to n{op.Coordinator}");
        }

        op.Reply = reply;
        op.RepliedAt = _sim.Now;
        if (reply.Status != ClientStatus.Ok || op.Kind != OpKind.Read)
        {
            Log($"reply #{id} {op.Kind} {op.Key} {op.Level} via n{op.Coordinator}: {reply.Status} {reply.Message}");
        }

        if (op.RepliedAt - op.SubmittedAt > RequestTimeout.Ticks + ReplySlack)
        {
            throw Fail($"E1: #{id} answered {(op.RepliedAt - op.SubmittedAt) / TimeSpan.TicksPerMillisecond} ms after it was submitted (timeout {RequestTimeout})");
        }

        if (op.Kind == OpKind.Read && reply.Status == ClientStatus.Ok)
        {
            CheckReadSeesAckedWrites(op);
        }
    }

    private void CheckReplies()
    {
        foreach (var op in _ops.Values.OrderBy(o => o.Id))
        {
            if (op.Reply is null && !op.Orphaned)
            {
                throw Fail($"E1: #{op.Id} ({op.Kind} {op.Key} at {op.Level} to n{op.Coordinator}) never got a reply");
            }
        }
    }

    private static int Count(ConsistencyLevel level) => level.Required(Replicas, Replicas);

    /// <summary>E2, checked as each read answers.</summary>
    private void CheckReadSeesAckedWrites(Op read)
    {
        if (!read.Level.Strict)
        {
            return;
        }

        foreach (var write in AckedWrites(read.Key).Where(w => w.RepliedAt < read.SubmittedAt && w.Level.Strict && Count(w.Level) + Count(read.Level) > Replicas))
        {
            if (read.Reply!.Set is not { } set || !set.Context.Covers(write.Dot!.Value))
            {
                throw Fail($"E2: read #{read.Id} of {read.Key} at {read.Level} via n{read.Coordinator} does not see write #{write.Id} at {write.Level} via n{write.Coordinator} "
                    + $"(dot {write.Dot}, acked before the read began); it saw {(read.Reply.Set is { } s ? Describe(s) : "nothing")}; holders now {Holders(write)}; write merged at {string.Join(",", write.MergedAt.Order())}");
            }
        }
    }

    private IEnumerable<Op> AckedWrites(string key) =>
        _ops.Values.Where(o => o.Kind == OpKind.PlainPut && o.Key == key && o.Reply?.Status == ClientStatus.Ok);

    // ---- checkpoints ----

    /// <summary>Logs each node's state and change in flight whenever they change (checked every 50 ms), for the failure's story.</summary>
    private void ScheduleWatch() => _sim.Schedule(_sim.Now + Ms(50), () =>
    {
        foreach (var node in Live())
        {
            var seen = $"{node.Machine.State}, tokens {node.Machine.Tokens.Length}, change {node.Machine.ChangeInFlight ?? "none"}, ring {node.Machine.Node.Ring.MemberCount}";
            if (!_watched.TryGetValue(node.Index, out var last) || last != seen)
            {
                _watched[node.Index] = seen;
                Log($"{node.Id}: {seen}");
            }
        }

        if (_workload)
        {
            ScheduleWatch();
        }
    });

    private void ScheduleCheckpoint() => _sim.Schedule(_sim.Now + Ms(250), () =>
    {
        if (_future is not null)
        {
            Checkpoint();
        }

        if (_workload)
        {
            ScheduleCheckpoint();
        }
    });

    /// <summary>E3: every acknowledged strict write at W is held by at least W stores among the replicas before and after the change.</summary>
    private void Checkpoint()
    {
        _checkpoints++;
        var before = Placement.Create(_ring, Replication);
        var after = _future?.Invoke() is { } ring ? Placement.Create(ring, Replication) : null;
        var sets = new Dictionary<(int, string), SiblingSet?>();
        bool Holds(Simulator.SimNode node, Op write)
        {
            if (!sets.TryGetValue((node.Index, write.Key), out var set))
            {
                set = Decode(node.Store.Get(write.Key));
                sets[(node.Index, write.Key)] = set;
            }

            return set is not null && set.Context.Covers(write.Dot!.Value);
        }

        foreach (var write in _ops.Values.Where(o => o.Kind == OpKind.PlainPut && o.Reply?.Status == ClientStatus.Ok && o.Level.Strict))
        {
            var token = Token.Of(SimStore.Bytes(write.Key));
            var replicas = before.For(token).ToArray().ToHashSet();
            if (after is not null)
            {
                replicas.UnionWith(after.For(token).ToArray());
            }

            var holders = replicas.Select(NodeOf).Count(n => Holds(n, write));
            if (holders < Count(write.Level))
            {
                throw Fail($"E3: acknowledged write #{write.Id} of {write.Key} at {write.Level} via n{write.Coordinator} is held by {holders} of the replicas before and after the change "
                    + $"({string.Join(",", replicas.Order())}); holders {Holders(write)}; merged at {string.Join(",", write.MergedAt.Order())}");
            }
        }
    }

    /// <summary>E5: once the change completed, every acknowledged strict write at W is held by W of the final replicas (less its holders that died for good).</summary>
    private void CheckCompletedHolders()
    {
        var placement = Placement.Create(_ring, Replication);
        foreach (var write in _ops.Values.Where(o => o.Kind == OpKind.PlainPut && o.Reply?.Status == ClientStatus.Ok && o.Level.Strict))
        {
            var replicas = placement.For(Token.Of(SimStore.Bytes(write.Key))).ToArray();
            var holders = replicas.Select(NodeOf).Count(n => Covers(n.Store, write));
            var lost = _deadForGood.Count(d => Covers(_sim.Nodes[d].Store, write));
            if (holders < Count(write.Level) - lost)
            {
                throw Fail($"E5: after the change, acknowledged write #{write.Id} of {write.Key} at {write.Level} via n{write.Coordinator} is held by {holders} of its final replicas "
                    + $"({string.Join(",", replicas.ToArray())}); holders {Holders(write)}; merged at {string.Join(",", write.MergedAt.Order())}");
            }
        }
    }

    /// <summary>Before anti-entropy: every write E6 protects has a copy on a final replica (else cleanup would lose it).</summary>
    private void CheckFinalHolders()
    {
        var placement = Placement.Create(_ring, Replication);
        foreach (var write in MustSurvive())
        {
            var replicas = placement.For(Token.Of(SimStore.Bytes(write.Key))).ToArray();
            if (!replicas.ToArray().Any(r => Covers(NodeOf(r).Store, write)))
            {
                throw Fail($"E6: acknowledged write #{write.Id} of {write.Key} at {write.Level} via n{write.Coordinator} is on none of its final replicas "
                    + $"({string.Join(",", replicas.ToArray())}) after the change; holders {Holders(write)}; merged at {string.Join(",", write.MergedAt.Order())}");
            }
        }
    }

    /// <summary>The acknowledged writes E6 protects (see the remarks).</summary>
    private List<Op> MustSurvive()
    {
        var result = new List<Op>();
        var exempt = 0;
        foreach (var write in _ops.Values.Where(o => o.Kind == OpKind.PlainPut && o.Reply?.Status == ClientStatus.Ok).OrderBy(o => o.Id))
        {
            var lost = _deadForGood.Count(d => write.MergedAt.Contains(d));
            if (_deadForGood.Count == 0 || write.MergedAt.Any(m => !_deadForGood.Contains(m)) || (write.Level.Strict && Count(write.Level) - lost >= 1))
            {
                result.Add(write);
            }
            else
            {
                exempt++;
            }
        }

        WritesLostWithDeadNode = exempt;
        return result;
    }

    private static bool Covers(SimStore store, Op write) =>
        Decode(store.Get(write.Key)) is { } set && set.Context.Covers(write.Dot!.Value);

    private string Holders(Op write) => string.Join(",", _sim.Nodes.Where(n => Covers(n.Store, write)).Select(n => n.Id.Name + (n.Stopped ? "(gone)" : n.Up ? "" : "(down)")))
        + FormattableString.Invariant($" (submitted at {write.SubmittedAt / TimeSpan.TicksPerMillisecond} ms, acked at {write.RepliedAt / TimeSpan.TicksPerMillisecond} ms)");

    // ---- after the change ----

    private void RunAntiEntropy()
    {
        for (var round = 1; ; round++)
        {
            var repaired = RepairRound(round);
            KeysRepairedAfterHeal += repaired;
            var differing = DifferingKey();
            Log($"anti-entropy round {round}: {repaired} keys repaired, {(differing is null ? "replicas agree" : "still differ: " + differing)}");
            if (differing is null)
            {
                return;
            }

            if (round == MaxRepairRounds)
            {
                throw Fail($"E8: after {round} rounds of anti-entropy the final replicas differ: {differing}");
            }
        }
    }

    private long RepairRound(int round)
    {
        var nodes = Members().ToList();
        var started = new Dictionary<int, long>();
        foreach (var node in nodes)
        {
            if (!_sim.RunUntil(() => !node.Machine.Node.RepairFigures.Running, _sim.Now + Ticks(60)))
            {
                throw Fail($"E8: {node.Id}'s anti-entropy pass still runs 60 s after the change: {node.Machine.Node.RepairState}");
            }

            if (!node.Machine.TryStartRepair(_sim.ClockOf(node), node.Outbox, out var error))
            {
                throw Fail($"E8: {node.Id} refused a repair pass: {error}");
            }

            started[node.Index] = node.Machine.Node.RepairFigures.Current?.Id ?? node.Machine.Node.RepairFigures.Last!.Id;
        }

        bool Ended() => nodes.All(n => n.Machine.Node.RepairFigures.Last?.Id >= started[n.Index]);
        if (!_sim.RunUntil(Ended, _sim.Now + Ticks(120)))
        {
            throw Fail($"E8: round {round} of anti-entropy did not end in 120 s: " + string.Join("; ", nodes.Select(n => $"{n.Id} {n.Machine.Node.RepairState}")));
        }

        long repaired = 0;
        foreach (var node in nodes)
        {
            var last = node.Machine.Node.RepairFigures.Last!;
            if (last.RangesFailed > 0 || last.RangesDone != last.RangesTotal)
            {
                throw Fail($"E8: {node.Id}'s pass {last.Id} after the change failed {last.RangesFailed} of {last.RangesTotal} ranges: {last.LastFailure}");
            }

            repaired += last.KeysRepaired;
        }

        return repaired;
    }

    /// <summary>The first key (in key order) whose final replicas' records differ, described; null when they all agree.</summary>
    private string? DifferingKey()
    {
        var placement = Placement.Create(_ring, Replication);
        foreach (var key in _keys)
        {
            var replicas = placement.For(Token.Of(SimStore.Bytes(key))).ToArray().Select(NodeOf).ToList();
            var records = replicas.Select(r => r.Store.Get(key)).ToList();
            if (records.Skip(1).Any(r => r.ExpiresAtUnixMs != records[0].ExpiresAtUnixMs || !r.Set.AsSpan().SequenceEqual(records[0].Set)))
            {
                return $"{key}: " + string.Join(" | ", replicas.Select(r => $"{r.Id} {Show(Decode(r.Store.Get(key)))}"));
            }
        }

        return null;
    }

    /// <summary>Every node of the cluster cleans up; E7 then holds.</summary>
    private void Cleanup()
    {
        foreach (var node in Members())
        {
            var before = node.Store.Cleanups;
            var error = "";

            // Refused while the change's grace lasts (writes still reach the previous replicas): an operator retries.
            if (!_sim.RunUntil(() => node.Machine.TryCleanup(_sim.ClockOf(node), node.Outbox, out error), _sim.Now + Ticks(15)))
            {
                throw Fail($"E7: {node.Id} refused to clean up after the change: {error}");
            }

            if (!_sim.RunUntil(() => node.Store.Cleanups > before, _sim.Now + Ticks(10)))
            {
                throw Fail($"E7: {node.Id}'s cleanup did not reach its store in 10 s");
            }
        }

        CleanupKeysRemoved = Members().Sum(n => n.Store.CleanupKeysRemoved);
    }

    private void CheckStores()
    {
        var placement = Placement.Create(_ring, Replication);
        var members = Members().ToList();

        // E7: exactly the final replicas hold each key.
        foreach (var node in members)
        {
            foreach (var key in node.Store.Keys.Where(k => node.Store.Get(k).Exists))
            {
                if (!placement.For(Token.Of(SimStore.Bytes(key))).ToArray().Contains(node.Id))
                {
                    throw Fail($"E7: after cleanup {node.Id} holds {key}, whose replicas are {string.Join(",", placement.For(Token.Of(SimStore.Bytes(key))).ToArray())}");
                }
            }
        }

        var survivors = MustSurvive();
        var pending = new List<(string Key, Op Read, List<Op> Writes)>();
        foreach (var key in _keys)
        {
            var replicas = placement.For(Token.Of(SimStore.Bytes(key))).ToArray().Select(NodeOf).ToList();
            var writes = survivors.Where(w => w.Key == key).ToList();
            foreach (var replica in replicas)
            {
                if (writes.FirstOrDefault(w => !Covers(replica.Store, w)) is { } missing)
                {
                    throw Fail($"E6: after the heal {replica.Id}, a final replica of {key}, lacks acknowledged write #{missing.Id} at {missing.Level} via n{missing.Coordinator}: "
                        + $"it holds {Show(Decode(replica.Store.Get(key)))}; holders {Holders(missing)}; merged at {string.Join(",", missing.MergedAt.Order())}");
                }

                if (AckedWrites(key).Any() && !replica.Store.Get(key).Exists)
                {
                    throw Fail($"E7: {replica.Id}, a final replica of {key}, holds nothing of it");
                }
            }

            // The last-writer-wins winner is at least the newest acknowledged write.
            if (writes.Count > 0 && Decode(replicas[0].Store.Get(key)) is { } set)
            {
                var newest = writes.MaxBy(w => w.Stamp!.Value)!;
                if (set.Winner is not { } winner || winner.Stamp < newest.Stamp!.Value)
                {
                    throw Fail($"E6: {key}'s newest acknowledged write #{newest.Id} (stamp {newest.Stamp}) is superseded by nothing the replicas hold: {Describe(set)}");
                }
            }

            var coordinator = members[_sim.Random.Next(members.Count)];
            var level = _sim.Random.Next(2) == 0 ? ConsistencyLevel.Quorum : ConsistencyLevel.All;
            pending.Add((key, SubmitRead(coordinator, key, level.AsStrict()), writes));
        }

        _sim.RunUntil(_sim.Now + RequestTimeout.Ticks + Ticks(1));
        foreach (var (key, read, writes) in pending)
        {
            if (read.Reply is not { Status: ClientStatus.Ok } reply)
            {
                throw Fail($"E6: the final read of {key} at {read.Level} via n{read.Coordinator} answered {read.Reply?.Status} {read.Reply?.Message}");
            }

            if (writes.FirstOrDefault(w => reply.Set is null || !reply.Set.Context.Covers(w.Dot!.Value)) is { } missing)
            {
                throw Fail($"E6: the final read of {key} at {read.Level} via n{read.Coordinator} misses acknowledged write #{missing.Id}: it saw {Show(reply.Set)}");
            }
        }
    }

    // ---- output ----

    private static SiblingSet? Decode(ReplicaRecord record) =>
        record.Exists && SiblingSet.TryDecode(record.Set, out var set, out _) ? set : null;

    private static string Show(SiblingSet? set) => set is null ? "nothing" : Describe(set);

    private static string Describe(SiblingSet set) =>
        $"[{string.Join(", ", set.Siblings.ToArray().Select(s => $"{(s.IsTombstone ? "tomb" : Encoding.UTF8.GetString(s.Value.Span))}@{s.Stamp}"))}] ctx {set.Context}";

    private string Views() => string.Join("; ", _sim.Nodes.Select(n => n.Up
        ? $"{n.Id} ({n.Machine.State}, change {n.Machine.ChangeInFlight ?? "none"}, streamed {n.Machine.StreamFigures.RangesDone}/{n.Machine.StreamFigures.RangesTotal}): "
            + $"{string.Join(",", n.Machine.View.Members.Select(m => $"{m.Id}{(m.Down ? "(DOWN)" : "")}:{m.Record.State}"))} ring {n.Machine.Node.Ring.MemberCount}"
        : $"{n.Id}: {(n.Stopped ? "stopped" : "crashed")}"));

    private void Log(string line)
    {
        _recent.Enqueue(FormattableString.Invariant($"{_sim.Now / TimeSpan.TicksPerMillisecond,7} ms {line}"));
        if (_recent.Count > 150)
        {
            _recent.Dequeue();
        }
    }

    private SimulationFailure Fail(string message)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"RINGKV_SEED={_seed} ({Change}, fault {Fault}, {_initial} nodes): {message}").AppendLine();
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
    }

    private sealed class Op(ulong id, string key, ConsistencyLevel level, int coordinator, long submittedAt)
    {
        public ulong Id { get; } = id;

        public string Key { get; } = key;

        public ConsistencyLevel Level { get; } = level;

        public int Coordinator { get; } = coordinator;

        public long SubmittedAt { get; } = submittedAt;

        public OpKind Kind { get; set; }

        public string Value { get; set; } = "";

        public ClientReply? Reply { get; set; }

        public long RepliedAt { get; set; }

        public bool Orphaned { get; set; }

        public Dot? Dot { get; set; }

        public WriteStamp? Stamp { get; set; }

        public HashSet<int> MergedAt { get; } = [];
    }
}
