using System;
using System.Buffers;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using RingKV.Cluster;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Membership;
using RingKV.Cluster.Messages;
using RingKV.Core.Random;

namespace RingKV.Simulation;

/// <summary>
/// A deterministic cluster on one thread: every node's <see cref="NodeMachine"/>, simulated time (events ordered by time
/// then by sequence number), a seeded network that delays, drops, duplicates and reorders the real encoded bytes and
/// can be partitioned, per-node clock skew, and crashable replica stores.
/// </summary>
/// <remarks>
/// One seed replays a run exactly: every choice comes from <see cref="Random"/>, and nothing iterates a hash container
/// to decide. Time is in <see cref="TimeSpan"/> ticks since <see cref="Epoch"/>. A node's clock is simulated time plus
/// its skew, never going back. A crashed node receives nothing and its pending ticks and storage answers are dropped
/// (they carry the incarnation they were made for); a restart builds a new machine with the next generation, the same
/// tokens and store contents, and a clock floor above every stamp it issued (what the host persists).
/// </remarks>
internal sealed class Simulator
{
    public static readonly DateTimeOffset Epoch = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly long TickPeriod = TimeSpan.FromMilliseconds(100).Ticks;

    private readonly PriorityQueue<Action, (long At, long Seq)> _queue = new();
    private long _sequence;

    public Simulator(long seed, int nodes, Func<int, NodeMachineSettings> settings)
    {
        Random = new SplitMix64(seed);
        SettingsOf = settings;
        for (var i = 0; i < nodes; i++)
        {
            var node = new SimNode(i, this)
            {
                SkewTicks = TimeSpan.FromMilliseconds(Random.Next(-150, 151)).Ticks,
            };
            Nodes.Add(node);
        }

        foreach (var node in Nodes)
        {
            Boot(node, generation: 1, tokens: [], clockFloorUnixMs: 0);
        }
    }

    /// <summary>
    /// Starts a new node while the simulation runs: the next index, settings from <see cref="SettingsOf"/> (seeds, no
    /// tokens: it joins), generation 1 and an empty store.
    /// </summary>
    public SimNode AddNode()
    {
        var node = new SimNode(Nodes.Count, this)
        {
            SkewTicks = TimeSpan.FromMilliseconds(Random.Next(-150, 151)).Ticks,
        };
        Nodes.Add(node);
        Boot(node, generation: 1, tokens: [], clockFloorUnixMs: 0);
        return node;
    }

    /// <summary>Stops <paramref name="node"/> for good (a process that exited, or a machine that died): it never restarts.</summary>
    public void Stop(SimNode node)
    {
        Crash(node);
        node.Stopped = true;
    }

    public SplitMix64 Random { get; }

    public long Now { get; private set; }

    public List<SimNode> Nodes { get; } = [];

    public Func<int, NodeMachineSettings> SettingsOf { get; }

    /// <summary>Per node, the partition side it is on; messages between sides are lost. Null: no partition.</summary>
    public int[]? Partition { get; set; }

    public int DropPercent { get; set; }

    /// <summary>Node pairs (lower index first) whose link is cut both ways, whatever <see cref="Partition"/> says.</summary>
    public HashSet<(int, int)> CutLinks { get; } = [];

    public int DuplicatePercent { get; set; }

    public long MinDelay { get; set; } = TimeSpan.FromMilliseconds(1).Ticks;

    public long MaxDelay { get; set; } = TimeSpan.FromMilliseconds(20).Ticks;

    /// <summary>Called for every client reply: (coordinator, client request id, reply, simulated time).</summary>
    public Action<int, ulong, ClientReply>? OnReply { get; set; }

    /// <summary>Called when a node crashes or stops (before its machine is dropped): the run orphans its client requests.</summary>
    public Action<SimNode>? OnCrash { get; set; }

    /// <summary>How long after a node is LEFT its host stops it.</summary>
    public long LeftStopDelay { get; set; } = TimeSpan.FromSeconds(3).Ticks;

    /// <summary>Called whenever a message to or from a node is lost (drop, partition, down): (node, time).</summary>
    public Action<int>? OnLoss { get; set; }

    /// <summary>
    /// While set, sees the record of every replica write a node starts (sent or merged locally): the checker learns a plain
    /// write's dot. A versioned write's dot is minted later, by its coordinating replica's store (SimStore.OnUpdated).
    /// </summary>
    public Action<ReplicaRecord>? CaptureWrites { get; set; }

    public long Sent { get; private set; }

    public long Delivered { get; private set; }

    public void Schedule(long at, Action action) => _queue.Enqueue(action, (Math.Max(at, Now), _sequence++));

    /// <summary>Runs events up to and including <paramref name="until"/>.</summary>
    public void RunUntil(long until)
    {
        while (_queue.TryPeek(out _, out var key) && key.At <= until)
        {
            var action = _queue.Dequeue();
            Now = key.At;
            action();
        }

        Now = Math.Max(Now, until);
    }

    /// <summary>Runs until <paramref name="condition"/> holds (checked after each event) or <paramref name="deadline"/>; true when it held.</summary>
    public bool RunUntil(Func<bool> condition, long deadline)
    {
        while (!condition())
        {
            if (!_queue.TryPeek(out _, out var key) || key.At > deadline)
            {
                Now = Math.Max(Now, deadline);
                return condition();
            }

            var action = _queue.Dequeue();
            Now = key.At;
            action();
        }

        return true;
    }

    public void Crash(SimNode node)
    {
        if (!node.Up)
        {
            return;
        }

        node.Up = false;
        node.Store.Crash();
        OnCrash?.Invoke(node);
        node.PersistedTokens = node.Machine.Tokens;
        node.PersistedState = node.Machine.State;
        node.PersistedMembers = node.Machine.KnownMembers;
        // The host persists a floor above every stamp it issued (sync-always: the lease is the last stamp).
        node.ClockFloorUnixMs = Math.Max(node.ClockFloorUnixMs, node.Machine.Node.ClockUnixMs + 1);
        OnLoss?.Invoke(node.Index);
    }

    public void Restart(SimNode node)
    {
        if (node.Up || node.Stopped)
        {
            return;
        }

        if (node.PersistedState == NodeState.Left)
        {
            node.Stopped = true; // a node that left exits for good: its host does not start it again
            return;
        }

        Boot(node, node.Generation + 1, node.PersistedTokens, node.ClockFloorUnixMs, node.PersistedMembers);
        OnLoss?.Invoke(node.Index);
    }

    /// <summary>The node's clock: simulated time plus its skew, never going back.</summary>
    public DateTimeOffset ClockOf(SimNode node)
    {
        var t = Math.Max(node.LastClock, Now + node.SkewTicks);
        node.LastClock = t;
        return Epoch + TimeSpan.FromTicks(t);
    }

    /// <summary>Hands a client request to <paramref name="node"/>'s machine.</summary>
    public void Submit(SimNode node, ClientRequest request)
    {
        node.Machine.Submit(request, ClockOf(node), node.Outbox);
    }

    public void CompleteStorage(int index, ulong generation, StorageDone done)
    {
        var node = Nodes[index];
        if (node.Up && node.Generation == generation)
        {
            node.Machine.OnStorage(done, ClockOf(node), node.Outbox);
        }
    }

    private void Boot(SimNode node, ulong generation, ImmutableArray<ulong> tokens, long clockFloorUnixMs, IReadOnlyList<KnownMember>? known = null)
    {
        var settings = SettingsOf(node.Index);
        settings = settings with
        {
            Generation = generation,
            Tokens = tokens,
            KnownMembers = known ?? [],
            Cluster = settings.Cluster with { ClockFloorUnixMs = clockFloorUnixMs },
            InitialState = generation == 1 ? null : node.PersistedState,
            StreamCheckpoint = generation == 1 ? null : node.PersistedCheckpoint,
        };
        node.Generation = generation;
        node.Store.Generation = generation;
        node.Machine = new NodeMachine(settings, node.Store, new SplitMix64((long)Random.NextUInt64()));
        node.Up = true;
        node.LeftSeen = false;
        var first = Now + Random.Next(1, (int)TickPeriod);
        ScheduleTick(node, generation, first);
    }

    private void ScheduleTick(SimNode node, ulong generation, long at) => Schedule(at, () =>
    {
        if (!node.Up || node.Generation != generation)
        {
            return;
        }

        node.Machine.Tick(ClockOf(node), node.Outbox);
        AfterTick(node, generation);
        ScheduleTick(node, generation, Now + TickPeriod);
    });

    /// <summary>
    /// What the host does after a tick: saves the stream checkpoint at most once a second (so a crash loses up to a
    /// second of stream progress), and stops a node a few seconds after it is LEFT (a decommissioned process exits).
    /// </summary>
    private void AfterTick(SimNode node, ulong generation)
    {
        if (Now - node.CheckpointSavedAt >= TimeSpan.TicksPerSecond)
        {
            node.PersistedCheckpoint = node.Machine.StreamCheckpoint;
            node.CheckpointSavedAt = Now;
        }

        if (node.Machine.State == NodeState.Left && !node.LeftSeen)
        {
            node.LeftSeen = true;
            Schedule(Now + LeftStopDelay, () =>
            {
                if (node.Up && node.Generation == generation)
                {
                    Stop(node);
                }
            });
        }
    }

    private void Send(SimNode from, string address, ClusterMessage message)
    {
        Sent++;
        if (CaptureWrites is { } capture && message is ReplicaWriteRequest or HintedWriteRequest)
        {
            capture(message is ReplicaWriteRequest write ? write.Record : ((HintedWriteRequest)message).Record);
        }

        var to = Nodes.FirstOrDefault(n => n.Address == address);
        if (to is null)
        {
            return;
        }

        var buffer = new ArrayBufferWriter<byte>();
        MessageCodec.Encode(message, buffer);
        var bytes = buffer.WrittenSpan.ToArray();
        var kind = message.Kind;
        var copies = Random.Chance(DuplicatePercent) ? 2 : 1;
        for (var c = 0; c < copies; c++)
        {
            if (Random.Chance(DropPercent))
            {
                Lost(from, to);
                continue;
            }

            var at = Now + MinDelay + (long)(Random.NextUInt64() % (ulong)(MaxDelay - MinDelay + 1));
            var fromId = from.Id;
            Schedule(at, () => Deliver(from, fromId, to, kind, bytes));
        }
    }

    private void Deliver(SimNode from, NodeId fromId, SimNode to, MessageKind kind, byte[] bytes)
    {
        if (!to.Up || Cut(from, to))
        {
            Lost(from, to);
            return;
        }

        if (!MessageCodec.TryDecode(kind, bytes, out var message, out var error))
        {
            throw new InvalidOperationException($"a {kind} message from {fromId} to {to.Id} does not decode: {error}");
        }

        Delivered++;
        to.Machine.Receive(fromId, message, ClockOf(to), to.Outbox);
    }

    private bool Cut(SimNode a, SimNode b) =>
        (Partition is { } p && p[a.Index] != p[b.Index]) || CutLinks.Contains((Math.Min(a.Index, b.Index), Math.Max(a.Index, b.Index)));

    private void Lost(SimNode from, SimNode to)
    {
        if (OnLoss is { } loss)
        {
            loss(from.Index);
            loss(to.Index);
        }
    }

    /// <summary>One simulated node: its machine, store, clock skew and what its host persists across crashes.</summary>
    internal sealed class SimNode
    {
        public SimNode(int index, Simulator sim)
        {
            Index = index;
            Id = new NodeId($"n{index}");
            Address = $"10.0.0.{index + 1}:7380";
            Store = new SimStore(sim, index);
            Outbox = new NodeOutbox(sim, this);
            Machine = null!;
        }

        public int Index { get; }

        public NodeId Id { get; }

        public string Address { get; }

        public SimStore Store { get; }

        public NodeMachine Machine { get; set; }

        public NodeOutbox Outbox { get; }

        public bool Up { get; set; }

        /// <summary>Stopped for good (<see cref="Stop"/>): not restarted.</summary>
        public bool Stopped { get; set; }

        public ulong Generation { get; set; }

        public long SkewTicks { get; init; }

        public long LastClock { get; set; } = long.MinValue;

        public ImmutableArray<ulong> PersistedTokens { get; set; } = [];

        public IReadOnlyList<KnownMember> PersistedMembers { get; set; } = [];

        public long ClockFloorUnixMs { get; set; }

        /// <summary>The state the host saved with the tokens (<see cref="NodeMachine.State"/> at the crash).</summary>
        public NodeState? PersistedState { get; set; }

        /// <summary>The stream progress the host saved last (at most once a simulated second).</summary>
        public StreamCheckpoint? PersistedCheckpoint { get; set; }

        public long CheckpointSavedAt { get; set; } = long.MinValue / 2;

        /// <summary>This incarnation was seen LEFT (its stop is scheduled).</summary>
        public bool LeftSeen { get; set; }
    }

    internal sealed class NodeOutbox(Simulator sim, SimNode node) : INodeOutbox
    {
        public void Send(string peerAddress, NodeId? target, ClusterMessage message) => sim.Send(node, peerAddress, message);

        public void Reply(ulong clientRequestId, ClientReply reply) => sim.OnReply?.Invoke(node.Index, clientRequestId, reply);
    }

    /// <summary>Whether every live node sees every node as a NORMAL member, none DOWN, with the same ring.</summary>
    public bool Converged()
    {
        foreach (var node in Nodes)
        {
            if (!node.Up)
            {
                return false;
            }

            var view = node.Machine.View;
            if (view.Members.Length != Nodes.Count || view.Members.Any(m => m.Down || m.Record.State != NodeState.Normal))
            {
                return false;
            }

            if (node.Machine.Node.Ring.Members.Count != Nodes.Count)
            {
                return false;
            }
        }

        return true;
    }
}
