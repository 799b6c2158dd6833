using System;
using System.Collections.Generic;
using System.Linq;
using RingKV.Cluster.Membership;
using RingKV.Core.Random;

namespace RingKV.Cluster.Tests.Membership;

/// <summary>
/// A tiny deterministic network for gossipers: a manual clock, messages encoded to bytes and queued with seeded delays
/// and drops, delivered in time order (ties by send order), cuts between pairs of nodes, kill and restart.
/// </summary>
/// <remarks>Single-threaded; one seed replays a run exactly (<see cref="TraceHash"/> summarises every delivery).</remarks>
internal sealed class GossipTestNetwork
{
    public static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly SplitMix64 _random;
    private readonly PriorityQueue<Delivery, (long At, long Seq)> _queue = new();
    private readonly List<TestNode> _nodes = [];
    private readonly HashSet<(string, string)> _cuts = [];
    private long _sequence;

    public GossipTestNetwork(SplitMix64 random, GossipSettings? settings = null)
    {
        _random = random;
        Settings = settings ?? new GossipSettings();
    }

    public GossipSettings Settings { get; }

    public DateTimeOffset Now { get; private set; } = Start;

    public int DropPercent { get; set; } = 2;

    public TimeSpan MinDelay { get; set; } = TimeSpan.FromMilliseconds(1);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(30);

    /// <summary>How often each node's host calls Tick (the gossip interval is the gossiper's own).</summary>
    public TimeSpan TickPeriod { get; set; } = TimeSpan.FromMilliseconds(100);

    public long Sent { get; private set; }

    public long Delivered { get; private set; }

    public long Dropped { get; private set; }

    public long BytesSent { get; private set; }

    /// <summary>FNV-1a over (time, sender, receiver, bytes) of every delivery.</summary>
    public ulong TraceHash { get; private set; } = 14695981039346656037UL;

    public IReadOnlyList<TestNode> Nodes => _nodes;

    public IEnumerable<TestNode> Alive => _nodes.Where(n => n.IsAlive);

    public TestNode this[string name] => _nodes.Single(n => n.Name == name);

    public TestNode Add(string name, params string[] seeds)
    {
        var node = new TestNode(this, name, seeds);
        node.Boot(generation: 1, Now + TimeSpan.FromTicks(_random.Next(0, (int)TickPeriod.Ticks)));
        _nodes.Add(node);
        return node;
    }

    public static void Kill(TestNode node) => node.IsAlive = false;

    /// <summary>Starts <paramref name="node"/> again as a new process: a higher generation, an empty membership, the same seeds.</summary>
    public void Restart(TestNode node)
    {
        node.Boot(node.Generation + 1, Now + TimeSpan.FromTicks(_random.Next(0, (int)TickPeriod.Ticks)));
    }

    /// <summary>Cuts the link between <paramref name="a"/> and <paramref name="b"/> both ways; messages in flight are lost too.</summary>
    public void Cut(TestNode a, TestNode b)
    {
        _cuts.Add((a.Name, b.Name));
        _cuts.Add((b.Name, a.Name));
    }

    public void Heal(TestNode a, TestNode b)
    {
        _cuts.Remove((a.Name, b.Name));
        _cuts.Remove((b.Name, a.Name));
    }

    /// <summary>Runs events until <paramref name="duration"/> has passed, calling <paramref name="check"/> after each.</summary>
    public void RunFor(TimeSpan duration, Action? check = null)
    {
        var until = Now + duration;
        while (NextEventAt() is { } at && at <= until)
        {
            Step(at);
            check?.Invoke();
        }

        Now = until;
    }

    /// <summary>Runs until <paramref name="condition"/> holds and returns how long that took; throws after <paramref name="deadline"/>.</summary>
    public TimeSpan RunUntil(Func<bool> condition, TimeSpan deadline, string what)
    {
        var from = Now;
        var until = Now + deadline;
        while (!condition())
        {
            var at = NextEventAt();
            if (at is null || at > until)
            {
                throw new InvalidOperationException($"not within {deadline.TotalSeconds} s: {what}\n{Describe()}");
            }

            Step(at.Value);
        }

        return Now - from;
    }

    /// <summary>Every live node's view, for failure messages.</summary>
    public string Describe()
        => string.Join('\n', Alive.Select(n => $"{n.Name} (g{n.Generation}): " + string.Join("; ", n.Gossiper.View.Members.Select(m =>
            $"{m.Id} g{m.Record.Generation} v{m.Record.Version} {m.Record.State} phi {m.Phi:0.0}{(m.SuspectedLocally ? " suspected" : "")}{(m.Down ? " DOWN" : "")} obs {m.Observers}"))));

    internal void Send(TestNode from, string peerAddress, GossipMessage message)
    {
        Sent++;
        var bytes = GossipCodec.Encode(message);
        BytesSent += bytes.Length;
        if (_random.Chance(DropPercent))
        {
            Dropped++;
            return;
        }

        var delay = MinDelay + TimeSpan.FromTicks((long)(_random.NextUInt64() % (ulong)(MaxDelay - MinDelay).Ticks));
        _queue.Enqueue(new Delivery(from.Name, peerAddress, bytes), ((Now + delay).UtcTicks, _sequence++));
    }

    private DateTimeOffset? NextEventAt()
    {
        DateTimeOffset? next = _queue.TryPeek(out _, out var key) ? new DateTimeOffset(key.At, TimeSpan.Zero) : null;
        foreach (var node in _nodes)
        {
            if (node.IsAlive && (next is null || node.NextTickAt < next))
            {
                next = node.NextTickAt;
            }
        }

        return next;
    }

    private void Step(DateTimeOffset at)
    {
        Now = at;
        while (_queue.TryPeek(out var delivery, out var key) && key.At <= at.UtcTicks)
        {
            _queue.Dequeue();
            Deliver(delivery);
        }

        foreach (var node in _nodes)
        {
            if (node.IsAlive && node.NextTickAt <= at)
            {
                node.Gossiper.Tick(Now, node);
                node.NextTickAt += TickPeriod;
            }
        }
    }

    private void Deliver(Delivery delivery)
    {
        var to = _nodes.SingleOrDefault(n => n.Address == delivery.ToAddress);
        if (to is null || !to.IsAlive || _cuts.Contains((delivery.From, to.Name)))
        {
            Dropped++;
            return;
        }

        if (!GossipCodec.TryDecode(delivery.Bytes, out var message, out var error))
        {
            throw new InvalidOperationException($"{to.Name} could not decode what {delivery.From} sent: {error}");
        }

        Delivered++;
        Mix((ulong)Now.UtcTicks);
        Mix(delivery.From);
        Mix(to.Name);
        foreach (var b in delivery.Bytes)
        {
            TraceHash = (TraceHash ^ b) * 1099511628211UL;
        }

        to.Gossiper.Handle(message, Now, to);
    }

    private void Mix(ulong value)
    {
        for (var i = 0; i < 8; i++)
        {
            TraceHash = (TraceHash ^ (byte)(value >> (8 * i))) * 1099511628211UL;
        }
    }

    private void Mix(string value)
    {
        foreach (var c in value)
        {
            Mix(c);
        }
    }

    private sealed record Delivery(string From, string ToAddress, byte[] Bytes);

    /// <summary>One node's host: its gossiper, its address, whether its process runs.</summary>
    internal sealed class TestNode(GossipTestNetwork network, string name, string[] seeds) : IGossipOutbox
    {
        public string Name { get; } = name;

        public NodeId Id { get; } = new(name);

        public string Address => Name + ":7380";

        public ulong Generation { get; private set; }

        public bool IsAlive { get; set; }

        public DateTimeOffset NextTickAt { get; set; }

        public Gossiper Gossiper { get; private set; } = null!;

        public MembershipView View => Gossiper.View;

        public void Send(string peerAddress, NodeId? node, GossipMessage message) => network.Send(this, peerAddress, message);

        internal void Boot(ulong generation, DateTimeOffset firstTick)
        {
            Generation = generation;
            var record = new NodeRecord(Id, generation, 1, 1, NodeState.Joining, [], "dc1", "rack1", 1, Name + ":7379", Address, default, []);
            Gossiper = new Gossiper(record, seeds, network.Settings, new SplitMix64((long)network._random.NextUInt64()));
            IsAlive = true;
            NextTickAt = firstTick;
        }
    }
}
