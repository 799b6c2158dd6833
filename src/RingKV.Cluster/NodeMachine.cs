using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Membership;
using RingKV.Cluster.Messages;
using RingKV.Cluster.Ring;
using RingKV.Core.Hashing;
using RingKV.Core.Random;

namespace RingKV.Cluster;

/// <summary>Where a <see cref="NodeMachine"/>'s effects go: messages to peers by address, and replies to clients.</summary>
/// <remarks>Called on the machine's owner thread only. Sends may be lost; nothing waits on them.</remarks>
internal interface INodeOutbox
{
    /// <summary>Sends <paramref name="message"/> to the node whose peer port is <paramref name="peerAddress"/>.</summary>
    /// <param name="peerAddress">"host:port" of the peer listener.</param>
    /// <param name="node">The node believed to listen there; null for a seed not identified yet.</param>
    /// <param name="message">The message; immutable.</param>
    void Send(string peerAddress, NodeId? node, ClusterMessage message);

    /// <summary>Answers a client request; exactly once per <see cref="NodeMachine.Submit"/>.</summary>
    void Reply(ulong clientRequestId, ClientReply reply);
}

/// <summary>What a node starts with: its coordinator's settings, its gossip settings, its record and where it joins.</summary>
/// <param name="Cluster">The coordinator's settings (id, data center, rack, replication, levels, timeouts).</param>
/// <param name="Gossip">The gossip settings.</param>
/// <param name="Generation">This run's incarnation: above every earlier run's (the host persists it).</param>
/// <param name="ClientAddress">Where clients reach this node ("host:port").</param>
/// <param name="PeerAddress">Where other nodes reach this node ("host:port").</param>
/// <param name="Seeds">Peer addresses to join through; none: a cluster of one.</param>
/// <param name="Capacity">Relative capacity: the node's share of virtual nodes.</param>
/// <param name="Tokens">The tokens an earlier run of this node took (the host persists them); empty: choose them.</param>
internal sealed record NodeMachineSettings(
    ClusterNodeSettings Cluster,
    GossipSettings Gossip,
    ulong Generation,
    string ClientAddress,
    string PeerAddress,
    IReadOnlyList<string> Seeds,
    int Capacity,
    ImmutableArray<ulong> Tokens)
{
    /// <summary>Virtual nodes per unit of capacity.</summary>
    public int VnodesPerCapacity { get; init; } = TokenAllocator.DefaultVnodesPerCapacity;

    /// <summary>
    /// The ring members an earlier run of this node knew (<see cref="NodeMachine.KnownMembers"/>, persisted by the host):
    /// a restarted node routes by them until gossip tells it better, and contacts them as seeds.
    /// </summary>
    public IReadOnlyList<KnownMember> KnownMembers { get; init; } = [];

    /// <summary>How long a node with seeds waits to hear the cluster before it chooses tokens on its own view anyway.</summary>
    public TimeSpan JoinWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The state an earlier run had reached with <see cref="Tokens"/> (JOINING or LEAVING: the change resumes); null: NORMAL.</summary>
    public NodeState? InitialState { get; init; }

    /// <summary>The earlier run's stream progress (<see cref="NodeMachine.StreamCheckpoint"/>): resumed when the change is the same.</summary>
    public StreamCheckpoint? StreamCheckpoint { get; init; }

    /// <summary>serve --replace: the DOWN node whose tokens this new node takes over, streaming its ranges from the survivors.</summary>
    public NodeId? Replace { get; init; }

    /// <summary>Cleanup runs by itself this long after a membership change completed; zero: only when asked (KV.CLEANUP).</summary>
    public TimeSpan CleanupDelay { get; init; }
}

/// <summary>A ring member as a node remembers it across restarts: who, where its peers reach it, its placement and tokens.</summary>
internal sealed record KnownMember(NodeId Id, string PeerAddress, string DataCenter, string Rack, uint Capacity, ImmutableArray<ulong> Tokens);

/// <summary>
/// One node as one state machine: its gossiper (membership, failure detection) and its coordinator (client requests,
/// its replica's part of others'), glued so that the ring, the DOWN set and the locally suspected set the coordinator
/// routes by always come from the gossiper's current view.
/// </summary>
/// <remarks>
/// Not thread-safe: the host (the node's loop, or the simulator) calls it from one thread with an event and the time.
/// It reads no clock, randomness, network or disk of its own.
/// Joining: a node without tokens chooses them (capacity-weighted, <see cref="TokenAllocator.Allocate"/>) against the
/// ring it sees, once a seed answered and every known member with tokens is in its view, or after
/// <see cref="NodeMachineSettings.JoinWait"/>; it then turns NORMAL. Data is not streamed to a joining node (that is
/// the elasticity issue's work): a node that joins a cluster already holding data serves its ranges from what reaches
/// it afterwards and from the other replicas' answers.
/// </remarks>
internal sealed class NodeMachine
{
    private readonly NodeMachineSettings _settings;
    private readonly Gossiper _gossiper;
    private readonly ClusterNode _node;
    private readonly Adapter _adapter;
    private readonly ulong _seed;
    private DateTimeOffset _startedAt = DateTimeOffset.MinValue;
    private DateTimeOffset _viewSettlingSince = DateTimeOffset.MinValue;
    private int _membersSeen;
    private bool _ready;
    private int _joinersAhead;
    private DateTimeOffset _joinQueueMovedAt;
    private ulong _appliedEpoch;
    private List<(NodeId Id, string Dc, string Rack, uint Capacity, ImmutableArray<ulong> Tokens)> _ringMembers = [];
    private readonly Dictionary<NodeId, string> _peerAddresses = [];

    public NodeMachine(NodeMachineSettings settings, IReplicaStore store, SplitMix64 random)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(random);
        _settings = settings;
        var self = settings.Cluster.Self;
        var tokens = settings.Tokens.IsDefault ? [] : settings.Tokens;
        var local = new NodeRecord(
            self,
            settings.Generation,
            version: 1,
            stateVersion: 1,
            tokens.IsEmpty ? NodeState.Joining : settings.InitialState is NodeState.Joining or NodeState.Leaving ? settings.InitialState.Value : NodeState.Normal,
            tokens,
            settings.Cluster.DataCenter,
            settings.Cluster.Rack,
            (uint)settings.Capacity,
            settings.ClientAddress,
            settings.PeerAddress,
            default,
            []);
        _seed = random.NextUInt64();
        var seeds = settings.Seeds.Concat(settings.KnownMembers.Where(m => m.Id != self).Select(m => m.PeerAddress)).Distinct(StringComparer.Ordinal);
        _gossiper = new Gossiper(local, seeds, settings.Gossip, random);
        foreach (var member in settings.KnownMembers)
        {
            _peerAddresses[member.Id] = member.PeerAddress;
        }
        _node = new ClusterNode(settings.Cluster with { FirstRequestId = (settings.Generation << 32) | 1 }, store, TokenRing.Empty);
        _node.ResumeStreams(settings.StreamCheckpoint);
        _adapter = new Adapter(this);
    }

    /// <summary>This node's id.</summary>
    public NodeId Self => _settings.Cluster.Self;

    /// <summary>The coordinator.</summary>
    public ClusterNode Node => _node;

    /// <summary>The gossiper.</summary>
    public Gossiper Gossiper => _gossiper;

    /// <summary>The membership as of the last event.</summary>
    public MembershipView View => _gossiper.View;

    /// <summary>This node's state as it gossips it.</summary>
    public NodeState State => _gossiper.LocalRecord.State;

    /// <summary>This node's tokens (empty until it chose them): the host persists them.</summary>
    public ImmutableArray<ulong> Tokens => _gossiper.LocalRecord.Tokens;

    /// <summary>The ring members this node routes by, with their peer addresses: the host persists them (see <see cref="NodeMachineSettings.KnownMembers"/>).</summary>
    public IReadOnlyList<KnownMember> KnownMembers =>
        [.. _ringMembers.Select(m => new KnownMember(m.Id, _peerAddresses.TryGetValue(m.Id, out var a) ? a : "", m.Dc, m.Rack, m.Capacity, m.Tokens))
            .Where(m => m.PeerAddress.Length > 0)];

    /// <summary>The peer address of <paramref name="node"/> as gossip knows it.</summary>
    public bool TryGetPeerAddress(NodeId node, out string address) => _peerAddresses.TryGetValue(node, out address!);

    /// <summary>Runs due work: gossip rounds, joining, request deadlines. The host calls it often (every 100 ms).</summary>
    public void Tick(DateTimeOffset now, INodeOutbox outbox)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        if (_startedAt == DateTimeOffset.MinValue)
        {
            _startedAt = now;
        }

        _adapter.Outbox = outbox;
        _gossiper.Tick(now, _adapter);
        ApplyView(now);
        MaybeJoin(now);
        ApplyView(now);
        MaybeCompleteChange(now);
        ApplyView(now);
        MaybeCleanup(now);
        _node.Tick(now, _adapter);
    }

    /// <summary>A message from a peer (<paramref name="from"/>: the node the transport's handshake named).</summary>
    public void Receive(NodeId from, ClusterMessage message, DateTimeOffset now, INodeOutbox outbox)
    {
        ArgumentNullException.ThrowIfNull(message);
        _adapter.Outbox = outbox;
        if (message is MembershipMessage membership)
        {
            if (GossipCodec.TryDecode(membership.Body, out var gossip, out _))
            {
                _gossiper.Handle(gossip, now, _adapter);
                ApplyView(now);
            }

            return; // an undecodable gossip message is dropped: the sender's next round repeats what it said
        }

        _node.Handle(from, message, now, _adapter);
    }

    /// <summary>Starts a client request; answered through <paramref name="outbox"/>, now or later.</summary>
    public void Submit(ClientRequest request, DateTimeOffset now, INodeOutbox outbox)
    {
        _adapter.Outbox = outbox;
        if (_node.Ring.IsEmpty)
        {
            outbox.Reply(request.Id, new ClientReply(ClientStatus.Unavailable, "UNAVAILABLE the node has not joined a ring yet"));
            return;
        }

        if (!IsReady(now))
        {
            outbox.Reply(request.Id, new ClientReply(ClientStatus.Unavailable, "UNAVAILABLE the node has not heard the cluster's membership yet"));
            return;
        }

        _node.Submit(request, now, _adapter);
    }

    /// <summary>The local replica store finished a request.</summary>
    public void OnStorage(in StorageDone done, DateTimeOffset now, INodeOutbox outbox)
    {
        _adapter.Outbox = outbox;
        _node.OnStorage(done, now, _adapter);
    }

    /// <summary>Starts a full anti-entropy pass now (KV.REPAIR); false, and why, when one is running or the node has no ring yet.</summary>
    public bool TryStartRepair(DateTimeOffset now, INodeOutbox outbox, out string error)
    {
        _adapter.Outbox = outbox;
        return _node.TryStartRepair(now, _adapter, out error);
    }

    /// <summary>Chooses tokens and turns NORMAL once the node has heard enough of the cluster.</summary>
    private void MaybeJoin(DateTimeOffset now)
    {
        if (!_gossiper.LocalRecord.Tokens.IsEmpty)
        {
            return;
        }

        // Heard: a seed answered and the members known held still for two gossip intervals (IsReady), so nodes joining
        // at the same time through the same seeds have heard of each other.
        var view = _gossiper.View;
        if (_settings.Seeds.Count > 0 && !IsReady(now) && now - _startedAt < _settings.JoinWait)
        {
            return;
        }

        // Joins go one at a time, in id order: the allocator is deterministic over the ring it sees, so nodes choosing
        // at once against the same view would choose the same tokens. A lower id still joining (not DOWN) goes first,
        // unless it takes longer than the join wait.
        // The join wait counts from the last change in who is ahead, so a long queue of joiners does not time out.
        var earlier = view.Members.Count(m => !m.IsLocal && !m.Down && m.Id < Self && m.Record.State == NodeState.Joining && m.Record.Tokens.IsEmpty);
        if (earlier != _joinersAhead)
        {
            _joinersAhead = earlier;
            _joinQueueMovedAt = now;
        }

        if (earlier > 0 && now - _joinQueueMovedAt < _settings.JoinWait)
        {
            return;
        }

        // One membership change at a time: a join waits while another node joins with tokens or leaves.
        if (ChangeInFlightIn(view) is not null)
        {
            return;
        }

        var ring = BuildRing(view, includeSelf: false);
        if (_settings.Replace is { } replaced)
        {
            MaybeReplace(replaced, view, now);
            return;
        }

        var member = new RingMember(Self, _settings.Cluster.DataCenter, _settings.Cluster.Rack, _settings.Capacity);
        var tokens = TokenAllocator.Allocate(ring, member, _settings.Cluster.Replication, _settings.VnodesPerCapacity, _seed);
        _gossiper.SetLocalTokens([.. tokens.Select(t => t.Value).Order()]);

        // The first node has nothing to stream; any other stays JOINING with its tokens until it streamed its ranges.
        if (ring.IsEmpty)
        {
            _gossiper.SetLocalState(NodeState.Normal);
        }
    }

    /// <summary>serve --replace: once the replaced node is known and DOWN, take its tokens (JOINING) and mark it LEAVING on its behalf.</summary>
    private void MaybeReplace(NodeId replaced, MembershipView view, DateTimeOffset now)
    {
        var known = view.TryGet(replaced, out var status);
        if (!known || status.Record.Tokens.IsEmpty || status.Record.State is NodeState.Left or NodeState.Joining)
        {
            if (now - _startedAt > _settings.JoinWait * 3)
            {
                StartError ??= !known
                    ? $"--replace {replaced}: no such node in the cluster's membership"
                    : $"--replace {replaced}: the node is {status.Record.State.ToString().ToUpperInvariant()} with {status.Record.Tokens.Length} tokens; only a NORMAL node with tokens can be replaced";
            }

            return;
        }

        if (!status.Down)
        {
            if (now - _startedAt > _settings.JoinWait * 3)
            {
                StartError ??= $"--replace {replaced}: the node is UP; only a DOWN node can be replaced (stop it first)";
            }

            return;
        }

        _gossiper.SetPeerState(replaced, NodeState.Leaving);
        _gossiper.SetLocalTokens(status.Record.Tokens);
    }

    /// <summary>Why the node cannot start its part (a replace that cannot proceed); the host stops with it. Null: none.</summary>
    public string? StartError { get; private set; }

    /// <summary>The membership change in flight as the view shows it ("join node4", "leave node2", "remove node3", "replace node3 by node5"), null when none.</summary>
    public string? ChangeInFlight => ChangeInFlightIn(_gossiper.View);

    private static string? ChangeInFlightIn(MembershipView view)
    {
        var joining = view.Members.Where(m => m.Record.State == NodeState.Joining && !m.Record.Tokens.IsEmpty).Select(m => m.Id).ToList();
        var leaving = view.Members.Where(m => m.Record.State == NodeState.Leaving).ToList();
        var parts = new List<string>();
        foreach (var l in leaving)
        {
            var replacer = joining.FirstOrDefault(j => view.TryGet(j, out var js) && js.Record.Tokens.AsSpan().SequenceEqual(l.Record.Tokens.AsSpan()));
            if (replacer.Name is not null)
            {
                parts.Add($"replace {l.Id} by {replacer}");
                joining.Remove(replacer);
            }
            else
            {
                parts.Add(l.IsLocal || !l.Down ? $"leave {l.Id}" : $"remove {l.Id}");
            }
        }

        parts.AddRange(joining.Select(j => $"join {j}"));
        return parts.Count == 0 ? null : string.Join(", ", parts);
    }

    /// <summary>The streaming figures, with the change named as the view shows it.</summary>
    public StreamFigures StreamFigures => _node.StreamFiguresFor(ChangeInFlight ?? "none");

    /// <summary>Where this node's streams stand: the host persists it (<see cref="NodeMachineSettings.StreamCheckpoint"/>).</summary>
    public StreamCheckpoint StreamCheckpoint => _node.StreamCheckpoint;

    /// <summary>Records removed by cleanups since start.</summary>
    public long CleanupKeysRemoved => _node.CleanupKeysRemoved;

    /// <summary>
    /// Completes the change this node owns once every gainer streamed its ranges: a joiner (or replacer) turns NORMAL (and
    /// marks the node it replaces LEFT), a leaver turns LEFT, and for a DOWN node being removed, the lowest-id live
    /// NORMAL node marks it LEFT (any node can: a crash of the one that started the removal does not stall it).
    /// </summary>
    private void MaybeCompleteChange(DateTimeOffset now)
    {
        var local = _gossiper.LocalRecord;
        var view = _gossiper.View;
        if (local.Tokens.IsEmpty || !IsReady(now))
        {
            return;
        }

        var subjects = view.Members.Where(m => !m.IsLocal && m.Record.State == NodeState.Leaving && m.Down).Select(m => m.Id).ToList();
        if (local.State == NodeState.Joining)
        {
            // A replacer restarted with the replaced node's tokens: its LEAVING mark may not have spread before the crash
            // (then the replaced node, lower id or not, keeps the tokens and the replacer would own nothing): mark it again.
            if (_settings.Replace is { } replaced && view.TryGet(replaced, out var old) && old.Record.State == NodeState.Normal && old.Down
                && old.Record.Tokens.AsSpan().SequenceEqual(local.Tokens.AsSpan()))
            {
                _gossiper.SetPeerState(replaced, NodeState.Leaving);
                return;
            }

            // NOTE: a joiner with tokens always makes a change; none in flight means the view is not there yet (a restart).
            if (!_node.ChangeInFlight)
            {
                return;
            }

            _node.PollGainers(now, _adapter);
            if (!_node.ChangeStreamed)
            {
                return;
            }

            foreach (var subject in subjects)
            {
                _gossiper.SetPeerState(subject, NodeState.Left);
            }

            _gossiper.SetLocalState(NodeState.Normal);
            return;
        }

        if (local.State == NodeState.Leaving)
        {
            // NOTE: a leaver always makes a change; none in flight means the view is not there yet: a leaver restarted
            // with an empty view turned LEFT at once, before its gainers had streamed from it.
            if (!_node.ChangeInFlight)
            {
                return;
            }

            _node.PollGainers(now, _adapter);
            if (!_node.ChangeStreamed)
            {
                return;
            }

            _gossiper.SetLocalState(NodeState.Left);
            return;
        }

        if (local.State != NodeState.Normal || subjects.Count == 0
            || view.Members.Any(m => m.Record.State == NodeState.Joining && !m.Record.Tokens.IsEmpty)
            || !view.Members.Where(m => m.Record.State == NodeState.Normal && !m.Down).Select(m => m.Id).Order().Take(1).Contains(Self))
        {
            return;
        }

        if (_node.ChangeInFlight)
        {
            _node.PollGainers(now, _adapter);
            if (!_node.ChangeStreamed)
            {
                return;
            }
        }

        foreach (var subject in subjects)
        {
            _gossiper.SetPeerState(subject, NodeState.Left);
        }
    }

    /// <summary>Runs cleanup once, <see cref="NodeMachineSettings.CleanupDelay"/> after a change completed (when set).</summary>
    private void MaybeCleanup(DateTimeOffset now)
    {
        if (_settings.CleanupDelay > TimeSpan.Zero && _changeEndedAt != DateTimeOffset.MinValue && !_node.ChangeInFlight
            && now - _changeEndedAt >= _settings.CleanupDelay && _node.TryStartCleanup(out _))
        {
            _changeEndedAt = DateTimeOffset.MinValue;
        }
    }

    /// <summary>KV.DECOMMISSION: NORMAL → LEAVING; the node turns LEFT once the nodes taking its ranges streamed them.</summary>
    public bool TryDecommission(DateTimeOffset now, INodeOutbox outbox, out string error)
    {
        _adapter.Outbox = outbox;
        var view = _gossiper.View;
        var local = _gossiper.LocalRecord;
        if (local.State != NodeState.Normal || local.Tokens.IsEmpty)
        {
            error = $"{Self} is {local.State.ToString().ToUpperInvariant()}: only a NORMAL node can be decommissioned";
            return false;
        }

        if (!CheckNoChange(view, out error) || !CheckEnoughRemain(view, Self, out error))
        {
            return false;
        }

        _gossiper.SetLocalState(NodeState.Leaving);
        ApplyView(now);
        return true;
    }

    /// <summary>KV.REMOVENODE: a DOWN node out of the ring, its ranges streamed to their new owners from the surviving replicas.</summary>
    public bool TryRemoveNode(NodeId node, DateTimeOffset now, INodeOutbox outbox, out string error)
    {
        _adapter.Outbox = outbox;
        var view = _gossiper.View;
        if (node == Self)
        {
            error = $"{node} is this node: use KV.DECOMMISSION to take a live node out";
            return false;
        }

        if (!view.TryGet(node, out var status))
        {
            error = $"unknown node {node}";
            return false;
        }

        if (status.Record.State == NodeState.Left)
        {
            error = $"{node} has already left the cluster";
            return false;
        }

        if (!status.Down)
        {
            error = $"{node} is UP: decommission it instead (KV.DECOMMISSION on it), or stop it first";
            return false;
        }

        if (status.Record.State == NodeState.Joining)
        {
            // A joiner owned nothing yet: writes it was sent were acknowledged by the level's natural replicas as well.
            _gossiper.SetPeerState(node, NodeState.Left);
            ApplyView(now);
            error = "";
            return true;
        }

        if (status.Record.State == NodeState.Leaving)
        {
            error = $"{node} is already being removed";
            return false;
        }

        if (!CheckNoChange(view, out error) || !CheckEnoughRemain(view, node, out error))
        {
            return false;
        }

        _gossiper.SetPeerState(node, NodeState.Leaving);
        ApplyView(now);
        return true;
    }

    /// <summary>KV.CLEANUP: removes the records this node no longer replicates; refused while a change is in flight.</summary>
    public bool TryCleanup(DateTimeOffset now, INodeOutbox outbox, out string error)
    {
        _adapter.Outbox = outbox;
        if (ChangeInFlight is { } change)
        {
            error = $"a membership change is in flight ({change}); cleanup waits until it has finished";
            return false;
        }

        return _node.TryStartCleanup(out error);
    }

    private static bool CheckNoChange(MembershipView view, out string error)
    {
        if (ChangeInFlightIn(view) is { } change)
        {
            error = $"a membership change is in flight ({change}); retry when it has finished";
            return false;
        }

        error = "";
        return true;
    }

    private bool CheckEnoughRemain(MembershipView view, NodeId leaving, out string error)
    {
        var ring = _node.Ring;
        var dc = view.TryGet(leaving, out var s) ? s.Record.DataCenter : "";
        dc = string.IsNullOrEmpty(dc) ? RingMember.DefaultName : dc;
        var remain = view.Members.Count(m => m.Id != leaving && m.Record.State == NodeState.Normal && !m.Record.Tokens.IsEmpty
            && string.Equals(string.IsNullOrEmpty(m.Record.DataCenter) ? RingMember.DefaultName : m.Record.DataCenter, dc, StringComparison.Ordinal));
        var replicas = _settings.Cluster.Replication.ReplicasIn(dc, ring);
        if (remain < replicas)
        {
            error = $"{leaving} leaving would leave {remain} nodes in data center {dc}, fewer than its {replicas} replicas";
            return false;
        }

        error = "";
        return true;
    }

    /// <summary>Whether the node has heard enough of the cluster to coordinate client requests.</summary>
    /// <remarks>
    /// A node restarted with its tokens is NORMAL at once, but its ring holds only the members gossip has told it of:
    /// coordinating on that ring would take a write at ALL with its own replica alone. So it waits until a seed answered
    /// (or it has none) and the members it knows have not grown for two gossip intervals (a seed's answer carries every
    /// member the seed knows); once ready it stays ready.
    /// </remarks>
    private bool IsReady(DateTimeOffset now)
    {
        // A node that remembers the ring routes by it (members gossip has not confirmed count as alive): ready at once.
        if (!_ready && _settings.KnownMembers.Count > 1)
        {
            _ready = true;
        }

        if (!_ready && _viewSettlingSince != DateTimeOffset.MinValue && now - _viewSettlingSince >= _settings.Gossip.Interval * 2)
        {
            _ready = true;
        }

        return _ready;
    }

    /// <summary>Hands the coordinator the ring, DOWN set and locally suspected set of a new view (only when the view changed).</summary>
    private void ApplyView(DateTimeOffset now)
    {
        var view = _gossiper.View;
        if (view.Epoch == _appliedEpoch)
        {
            return;
        }

        var heard = _settings.Seeds.Count == 0 || (view.UnresolvedSeeds.IsEmpty && view.Members.Length > 1);
        if (heard && (_viewSettlingSince == DateTimeOffset.MinValue || view.Members.Length > _membersSeen))
        {
            _viewSettlingSince = now;
        }

        _membersSeen = Math.Max(_membersSeen, view.Members.Length);

        _appliedEpoch = view.Epoch;
        foreach (var member in view.Members)
        {
            _peerAddresses[member.Id] = member.Record.PeerAddress;
        }

        var members = RingMembers(view, includeSelf: true);
        AddKnownMembers(members);
        var ring = SameMembers(members, _ringMembers) ? _node.Ring : BuildRing(members);
        _ringMembers = members;
        var down = view.Members.Where(m => m.Down).Select(m => m.Id);
        var suspected = view.Members.Where(m => m.SuspectedLocally).Select(m => m.Id);
        TokenRing? future = null;
        if (ChangeInFlightIn(view) is not null)
        {
            var futureMembers = RingMembers(view, includeSelf: true, future: true);
            future = SameMembers(futureMembers, _futureMembers) && _futureRing is not null ? _futureRing : BuildRing(futureMembers);
            _futureMembers = futureMembers;
            _futureRing = future;
        }

        _node.SetStoredBytes(view.Members.ToDictionary(m => m.Id, m => m.Record.Load.StorageBytes));
        var wasInFlight = _node.ChangeInFlight;
        var left = view.Members.Where(m => m.Record.State == NodeState.Left).Select(m => m.Id);
        _node.ApplyMembership(ring, down, suspected, future, left);
        if (wasInFlight && !_node.ChangeInFlight)
        {
            _changeEndedAt = now;
        }
    }

    private List<(NodeId Id, string Dc, string Rack, uint Capacity, ImmutableArray<ulong> Tokens)> _futureMembers = [];
    private TokenRing? _futureRing;
    private DateTimeOffset _changeEndedAt = DateTimeOffset.MinValue;

    /// <summary>
    /// Adds the remembered members gossip has not shown yet (a restarted node's view starts with itself alone; without
    /// them it would coordinate on a ring of whoever answered first, and a partition can keep that ring small). A token
    /// gossip already gave to a member stays with it.
    /// </summary>
    private void AddKnownMembers(List<(NodeId Id, string Dc, string Rack, uint Capacity, ImmutableArray<ulong> Tokens)> members)
    {
        if (_settings.KnownMembers.Count == 0)
        {
            return;
        }

        var claimed = new HashSet<ulong>(members.SelectMany(m => m.Tokens));
        var added = false;
        foreach (var known in _settings.KnownMembers.OrderBy(m => m.Id))
        {
            if (members.Any(m => m.Id == known.Id) || _gossiper.View.TryGet(known.Id, out _))
            {
                continue; // gossip knows this member: its record, joining or left included, decides
            }

            var tokens = known.Tokens.Where(t => !claimed.Contains(t)).ToImmutableArray();
            if (tokens.IsEmpty)
            {
                continue;
            }

            claimed.UnionWith(tokens);
            members.Add((known.Id, known.DataCenter, known.Rack, known.Capacity, tokens));
            added = true;
        }

        if (added)
        {
            members.Sort((a, b) => a.Id.CompareTo(b.Id));
        }
    }

    private static TokenRing BuildRing(MembershipView view, bool includeSelf) => BuildRing(RingMembers(view, includeSelf));

    private static TokenRing BuildRing(List<(NodeId Id, string Dc, string Rack, uint Capacity, ImmutableArray<ulong> Tokens)> members) =>
        TokenRing.Create(members.Select(m => (
            new RingMember(m.Id, m.Dc, m.Rack, (int)Math.Clamp(m.Capacity, 1u, (uint)RingMember.MaxCapacity)),
            (IReadOnlyList<Token>)[.. m.Tokens.Select(t => new Token(t))])));

    /// <summary>The members that own tokens (NORMAL or LEAVING with tokens), in id order.</summary>
    /// <remarks>
    /// A token two members claim (two nodes that joined at once against the same view choose the same tokens: the
    /// allocator is deterministic over the ring it sees) goes to the lower id; the other member keeps the rest of its
    /// tokens. Every node applies the same rule to the same records, so the rings agree, and a view never makes the
    /// ring throw.
    /// </remarks>
    /// <remarks>
    /// With <paramref name="future"/>: the ring the change in flight leads to, NORMAL and JOINING members with tokens.
    /// NORMAL members claim before the others, so a replacer that turned NORMAL wins the tokens of the node it replaced
    /// on a node that has not heard yet that the replaced node left.
    /// </remarks>
    private static List<(NodeId Id, string Dc, string Rack, uint Capacity, ImmutableArray<ulong> Tokens)> RingMembers(MembershipView view, bool includeSelf, bool future = false)
    {
        var members = new List<(NodeId, string, string, uint, ImmutableArray<ulong>)>();
        var claimed = new HashSet<ulong>();
        foreach (var status in view.Members.OrderBy(m => m.Record.State == NodeState.Normal ? 0 : 1).ThenBy(m => m.Id))
        {
            var record = status.Record;
            var member = future ? record.State is NodeState.Normal or NodeState.Joining : record.State is NodeState.Normal or NodeState.Leaving;
            if ((!includeSelf && status.IsLocal) || record.Tokens.IsEmpty || !member)
            {
                continue;
            }

            var tokens = record.Tokens;
            if (tokens.Any(t => claimed.Contains(t)))
            {
                tokens = [.. tokens.Where(t => !claimed.Contains(t))];
            }

            claimed.UnionWith(tokens);
            if (tokens.IsEmpty)
            {
                continue;
            }

            members.Add((record.Id, string.IsNullOrEmpty(record.DataCenter) ? RingMember.DefaultName : record.DataCenter,
                string.IsNullOrEmpty(record.Rack) ? RingMember.DefaultName : record.Rack, record.Capacity, tokens));
        }

        members.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return members;
    }

    private static bool SameMembers(
        List<(NodeId Id, string Dc, string Rack, uint Capacity, ImmutableArray<ulong> Tokens)> a,
        List<(NodeId Id, string Dc, string Rack, uint Capacity, ImmutableArray<ulong> Tokens)> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (a[i].Id != b[i].Id || a[i].Dc != b[i].Dc || a[i].Rack != b[i].Rack || a[i].Capacity != b[i].Capacity
                || !a[i].Tokens.AsSpan().SequenceEqual(b[i].Tokens.AsSpan()))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Turns the gossiper's and the coordinator's sends into sends by peer address.</summary>
    private sealed class Adapter(NodeMachine machine) : IOutbox, IGossipOutbox
    {
        public INodeOutbox? Outbox { get; set; }

        public void Send(NodeId to, ClusterMessage message)
        {
            if (machine._peerAddresses.TryGetValue(to, out var address))
            {
                Outbox!.Send(address, to, message);
            }

            // No address yet: lost, as the network may lose it; the request's deadline covers it.
        }

        public void Reply(ulong clientRequestId, ClientReply reply) => Outbox!.Reply(clientRequestId, reply);

        public void Send(string peerAddress, NodeId? node, GossipMessage message) =>
            Outbox!.Send(peerAddress, node, new MembershipMessage(GossipCodec.Encode(message)));
    }
}
