using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using RingKV.Cluster;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Membership;
using RingKV.Cluster.Ring;
using RingKV.Core.Consistency;

namespace RingKV.Simulation;

/// <summary>
/// One seed of WAIT under faults (issue 14): five nodes, N = 3, clients writing keys that are each written once (plain
/// and versioned puts, so non-replica coordinators forward), at every level, through crashes, partitions, loss,
/// duplication and delays; after each acknowledged write the client asks its coordinator how many replicas hold it.
/// </summary>
/// <remarks>
/// Invariants: (1) truth: when a WaitAcks answers k, at least k nodes hold the key at that instant (in their records,
/// or as a hint a stand-in keeps for it; the stores are durable, so nothing acknowledged is lost); (2) k is at most N
/// and at least the count the write was answered with (a count only grows), or -1 only from a node restarted since the
/// write; (3) every WaitAcks to a node that stays up is answered once, no later than its timeout (or, for 0, the
/// write's deadline) plus slack; (4) after the heal, a QUORUM write answered by a healthy cluster counts all three
/// replicas once WAIT 3 0 answers.
/// </remarks>
internal sealed class WaitRun
{
    private const int NodeCount = 5;
    private const int Replicas = 3;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(2);
    private static readonly long Slack = TimeSpan.FromMilliseconds(300).Ticks;
    private static readonly ConsistencyLevel[] Levels = [ConsistencyLevel.One, ConsistencyLevel.Two, ConsistencyLevel.Quorum, ConsistencyLevel.All];

    private readonly long _seed;
    private readonly Simulator _sim;
    private readonly Dictionary<ulong, Write> _writes = [];
    private readonly Dictionary<ulong, Wait> _waits = [];
    private readonly List<string> _log = [];
    private ulong _nextId = 1;
    private bool _workload;

    public WaitRun(long seed)
    {
        _seed = seed;
        _sim = new Simulator(seed, NodeCount, Settings) { OnReply = OnReply, OnCrash = OnCrash };
    }

    /// <summary>WaitAcks answered, and those that waited (fewer acknowledgements than asked when asked).</summary>
    public int WaitsAnswered { get; private set; }

    public int WaitsThatWaited { get; private set; }

    public int WritesAcknowledged { get; private set; }

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
        if (!_sim.RunUntil(_sim.Converged, _sim.Now + TimeSpan.FromSeconds(40).Ticks))
        {
            throw Fail("gossip did not settle in 40 s");
        }

        _workload = true;
        var end = _sim.Now + TimeSpan.FromSeconds(15).Ticks;
        ScheduleClient(_sim.Now + Ms(5));
        ScheduleFault(_sim.Now + Ms(_sim.Random.Next(300, 2_000)), end);
        _sim.RunUntil(end);
        _workload = false;

        _sim.Partition = null;
        _sim.DropPercent = 0;
        _sim.DuplicatePercent = 0;
        _sim.MaxDelay = Ms(20);
        foreach (var node in _sim.Nodes.Where(n => !n.Up))
        {
            _sim.Restart(node);
        }

        if (!_sim.RunUntil(_sim.Converged, _sim.Now + TimeSpan.FromSeconds(60).Ticks))
        {
            throw Fail("membership did not converge 60 s after the heal");
        }

        // Invariant 3: every wait to a node that stayed up was answered by its bound.
        _sim.RunUntil(_sim.Now + (3 * RequestTimeout.Ticks));
        foreach (var wait in _waits.Values.Where(w => w.Answered is null && !w.Orphaned))
        {
            throw Fail($"WaitAcks #{wait.Id} for write #{wait.Write.Id} to n{wait.Write.Coordinator} was never answered");
        }

        // Invariant 4: healthy again, QUORUM writes reach all three replicas and WAIT 3 0 says so.
        for (var i = 0; i < 10; i++)
        {
            var node = _sim.Nodes[_sim.Random.Next(NodeCount)];
            var write = Submit(node, ConsistencyLevel.Quorum, versioned: i % 2 == 1);
            _sim.RunUntil(_sim.Now + RequestTimeout.Ticks);
            if (write.Reply is not { Status: ClientStatus.Ok })
            {
                throw Fail($"after the heal, write #{write.Id} through {node.Id} did not succeed: {write.Reply?.Message ?? "no reply"}");
            }

            var wait = SubmitWait(write, Replicas, TimeSpan.Zero);
            _sim.RunUntil(_sim.Now + (2 * RequestTimeout.Ticks));
            if (wait.Answered != Replicas)
            {
                throw Fail($"after the heal, WAIT 3 0 for write #{write.Id} through {node.Id} answered {wait.Answered?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing"}");
            }
        }
    }

    private void ScheduleClient(long at) => _sim.Schedule(at, () =>
    {
        if (!_workload)
        {
            return;
        }

        var up = _sim.Nodes.Where(n => n.Up).ToList();
        if (up.Count > 0)
        {
            var level = Levels[_sim.Random.Next(Levels.Length)];
            Submit(up[_sim.Random.Next(up.Count)], _sim.Random.Next(2) == 0 ? level : level.AsStrict(), versioned: _sim.Random.Next(3) == 0);
        }

        ScheduleClient(_sim.Now + Ms(_sim.Random.Next(5, 40)));
    });

    private Write Submit(Simulator.SimNode node, ConsistencyLevel level, bool versioned)
    {
        var id = _nextId++;
        var write = new Write(id, $"w{id}", node.Index, node.Generation);
        _writes[id] = write;
        var value = Encoding.UTF8.GetBytes($"v{id}");
        _log.Add($"{_sim.Now / TimeSpan.TicksPerMillisecond} submit #{id} {(versioned ? "KV.PUT" : "SET")} {write.Key} at {level} to {node.Id}");
        _sim.Submit(node, ClientRequest.WriteOf(id, SimStore.Bytes(write.Key), versioned ? WriteOperation.VersionedPut : WriteOperation.PlainPut, value, consistency: level));
        return write;
    }

    private Wait SubmitWait(Write write, int replicas, TimeSpan timeout)
    {
        var id = _nextId++;
        var wait = new Wait(id, write, replicas, timeout, _sim.Now);
        _waits[id] = wait;
        _log.Add($"{_sim.Now / TimeSpan.TicksPerMillisecond} wait #{id} for #{write.Id} ({replicas}, {timeout.TotalMilliseconds} ms) to n{write.Coordinator}");
        _sim.Submit(_sim.Nodes[write.Coordinator], ClientRequest.WaitAcks(id, write.Id, replicas, timeout));
        return wait;
    }

    private void OnReply(int coordinator, ulong id, ClientReply reply)
    {
        if (_writes.TryGetValue(id, out var write))
        {
            if (write.Reply is not null)
            {
                throw Fail($"write #{id} answered twice");
            }

            write.Reply = reply;
            _log.Add($"{_sim.Now / TimeSpan.TicksPerMillisecond} reply #{id} {reply.Status} acked {reply.Acked} {reply.Message}");
            if (reply.Status != ClientStatus.Ok)
            {
                return;
            }

            WritesAcknowledged++;
            CheckTruth($"write #{id}'s answer", write, reply.Acked);
            if (_workload && _sim.Random.Next(3) > 0)
            {
                var timeout = _sim.Random.Next(3) == 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(_sim.Random.Next(10, 1_500));
                SubmitWait(write, _sim.Random.Next(1, Replicas + 1), timeout);
            }

            return;
        }

        if (!_waits.TryGetValue(id, out var wait))
        {
            throw Fail($"a reply to unknown request #{id}");
        }

        if (wait.Answered is not null)
        {
            throw Fail($"WaitAcks #{id} answered twice");
        }

        wait.Answered = reply.Acked;
        WaitsAnswered++;
        WaitsThatWaited += wait.Write.Reply!.Acked < wait.Replicas ? 1 : 0;
        _log.Add($"{_sim.Now / TimeSpan.TicksPerMillisecond} wait #{id} answered {reply.Status} {reply.Acked}");
        if (reply.Status != ClientStatus.Ok)
        {
            throw Fail($"WaitAcks #{id} answered {reply.Status} {reply.Message}");
        }

        var node = _sim.Nodes[wait.Write.Coordinator];
        if (reply.Acked == -1)
        {
            if (node.Generation == wait.Write.Generation)
            {
                throw Fail($"WaitAcks #{id}: n{wait.Write.Coordinator} forgot write #{wait.Write.Id} without a restart");
            }

            return;
        }

        if (node.Generation == wait.Write.Generation && reply.Acked < wait.Write.Reply.Acked)
        {
            throw Fail($"WaitAcks #{id} answered {reply.Acked}, fewer than write #{wait.Write.Id}'s answer ({wait.Write.Reply.Acked})");
        }

        var bound = (wait.Timeout > TimeSpan.Zero ? Math.Min(wait.Timeout.Ticks, 2 * RequestTimeout.Ticks) : 2 * RequestTimeout.Ticks) + Slack;
        if (_sim.Now - wait.At > bound)
        {
            throw Fail($"WaitAcks #{id} answered after {(_sim.Now - wait.At) / TimeSpan.TicksPerMillisecond} ms (timeout {wait.Timeout.TotalMilliseconds} ms)");
        }

        CheckTruth($"WaitAcks #{id}", wait.Write, reply.Acked);
    }

    /// <summary>Invariants 1 and 2: <paramref name="acked"/> nodes hold the key now, and at most N.</summary>
    private void CheckTruth(string what, Write write, int acked)
    {
        var holders = _sim.Nodes.Count(n => n.Store.Get(write.Key).Exists || n.Store.Hints.Keys.Any(h => h.Key == write.Key));
        if (acked > Replicas || acked > holders)
        {
            throw Fail($"{what} counts {acked} replicas of {write.Key}; {holders} nodes hold it (N = {Replicas})");
        }
    }

    private void OnCrash(Simulator.SimNode node)
    {
        foreach (var wait in _waits.Values.Where(w => w.Write.Coordinator == node.Index && w.Answered is null))
        {
            wait.Orphaned = true;
        }
    }

    private void ScheduleFault(long at, long end) => _sim.Schedule(at, () =>
    {
        if (_sim.Now >= end)
        {
            return;
        }

        var roll = _sim.Random.Next(100);
        var down = _sim.Nodes.Where(n => !n.Up).ToList();
        if (roll < 20 && down.Count < 2)
        {
            var up = _sim.Nodes.Where(n => n.Up).ToList();
            var victim = up[_sim.Random.Next(up.Count)];
            _log.Add($"{_sim.Now / TimeSpan.TicksPerMillisecond} crash {victim.Id}");
            _sim.Crash(victim);
        }
        else if (roll < 40 && down.Count > 0)
        {
            var node = down[_sim.Random.Next(down.Count)];
            _log.Add($"{_sim.Now / TimeSpan.TicksPerMillisecond} restart {node.Id}");
            _sim.Restart(node);
        }
        else if (roll < 55)
        {
            _sim.Partition = [.. Enumerable.Range(0, NodeCount).Select(_ => _sim.Random.Next(2))];
            _log.Add($"{_sim.Now / TimeSpan.TicksPerMillisecond} partition {string.Join("", _sim.Partition)}");
        }
        else if (roll < 70)
        {
            _sim.Partition = null;
            _log.Add($"{_sim.Now / TimeSpan.TicksPerMillisecond} heal partition");
        }
        else if (roll < 85)
        {
            _sim.DropPercent = _sim.Random.Next(0, 15);
            _sim.DuplicatePercent = _sim.Random.Next(0, 10);
        }
        else
        {
            _sim.MaxDelay = Ms(_sim.Random.Next(2, 400));
        }

        ScheduleFault(_sim.Now + Ms(_sim.Random.Next(300, 3_000)), end);
    });

    private NodeMachineSettings Settings(int index)
    {
        var cluster = new ClusterNodeSettings(new NodeId($"n{index}"), "dc1", $"r{index % 3}")
        {
            Replication = ReplicationSettings.Uniform(Replicas),
            RequestTimeout = RequestTimeout,
        };
        var seeds = new[] { 0, 1 }.Where(s => s != index).Select(s => $"10.0.0.{s + 1}:7380").ToList();
        return new NodeMachineSettings(cluster, new GossipSettings(), 1, $"10.0.0.{index + 1}:6379", $"10.0.0.{index + 1}:7380", seeds, 1, []);
    }

    private SimulationFailure Fail(string message) =>
        new($"seed {_seed}: {message}\n  last events:\n    {string.Join("\n    ", _log.TakeLast(30))}");

    private static long Ms(int ms) => TimeSpan.FromMilliseconds(ms).Ticks;

    private sealed class Write(ulong id, string key, int coordinator, ulong generation)
    {
        public ulong Id { get; } = id;

        public string Key { get; } = key;

        public int Coordinator { get; } = coordinator;

        public ulong Generation { get; } = generation;

        public ClientReply? Reply { get; set; }
    }

    private sealed class Wait(ulong id, Write write, int replicas, TimeSpan timeout, long at)
    {
        public ulong Id { get; } = id;

        public Write Write { get; } = write;

        public int Replicas { get; } = replicas;

        public TimeSpan Timeout { get; } = timeout;

        public long At { get; } = at;

        public int? Answered { get; set; }

        public bool Orphaned { get; set; }
    }
}
