using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using RingKV.Core.Random;

namespace RingKV.Cluster.Membership;

/// <summary>One node's membership: gossips records, pings every peer, detects failures and reaches the DOWN verdicts.</summary>
/// <remarks>
/// A state machine with one owner (the node's loop, or the simulator): not thread-safe, reads no clock or randomness of
/// its own. Inputs are <see cref="Tick"/> and <see cref="Handle"/>, each with the time; outputs are messages put in an
/// <see cref="IGossipOutbox"/> and the <see cref="View"/>. Decisions iterate peers in node-id order (a sorted dictionary)
/// and draw from the seeded PRNG, so a seed replays a run exactly.
/// Each round (<see cref="GossipSettings.Interval"/>): (1) the local heartbeat version rises; (2) every known peer that
/// has not left gets a <see cref="GossipPing"/>: O(n^2) small messages a round, fine for the tens of nodes RingKV
/// targets, and what makes each node's suspicion its own direct evidence; (3) a gossip exchange
/// (<see cref="GossipSyn"/>, <see cref="GossipAck"/>, <see cref="GossipAck2"/>, as Cassandra's) opens with
/// <see cref="GossipSettings.Fanout"/> random peers the local node does not suspect, and with every seed address not
/// yet identified. Rejected: Cassandra's extra exchange with a random unreachable peer; here suspected peers are pinged
/// every round anyway, and the first pong after a cut heals makes them gossip targets again. Every tick recomputes
/// suspicion (phi above the threshold) and the DOWN verdicts (<see cref="DownConsensus"/>).
/// Failure detection uses only direct evidence: the detector for peer X is fed by X's pongs to the local node's own
/// pings, never by X's heartbeats relayed by gossip, so two observers who suspect X are independent witnesses. Rejected:
/// one-way heartbeats, which a peer sends only once it knows the receiver (a joining node would be suspected by
/// everyone until gossip told them about it); a ping is answered by anyone.
/// Invariants: (1) the local record's version rises with every change the node gossips; (2) a peer's record only moves
/// forward in (generation, version); (3) a peer's detector belongs to the newest generation that answered a ping,
/// and starts over empty when a newer one answers.
/// </remarks>
internal sealed partial class Gossiper
{
    private readonly GossipSettings _settings;
    private readonly SplitMix64 _random;
    private readonly SortedDictionary<NodeId, Peer> _peers = [];
    private readonly List<string> _unresolvedSeeds = [];
    private NodeRecord _local;
    private DateTimeOffset _now = DateTimeOffset.MinValue;
    private DateTimeOffset _nextRoundAt = DateTimeOffset.MinValue;
    private DownVerdict _verdict = DownVerdict.Empty;
    private ImmutableArray<NodeId> _down = [];
    private ulong _epoch = 1;
    private MembershipView? _view;

    /// <summary>A gossiper for the node described by <paramref name="local"/>, joining through <paramref name="seeds"/> (peer addresses).</summary>
    /// <remarks>
    /// Requires: <paramref name="local"/>'s generation is higher than any earlier run of this node used (the host
    /// persists it), else the cluster keeps the earlier incarnation's record. Seeds equal to the local peer address are
    /// dropped; the others get a syn every round until one answers.
    /// </remarks>
    public Gossiper(NodeRecord local, IEnumerable<string> seeds, GossipSettings settings, SplitMix64 random)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(random);
        settings.Validate();
        _local = local.Suspects.IsEmpty ? local : local.WithHeartbeat(local.Version, local.Load, []);
        _settings = settings;
        _random = random;
        foreach (var seed in seeds)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(seed, nameof(seeds));
            if (!string.Equals(seed, local.PeerAddress, StringComparison.Ordinal) && !_unresolvedSeeds.Contains(seed))
            {
                _unresolvedSeeds.Add(seed);
            }
        }

        _unresolvedSeeds.Sort(StringComparer.Ordinal);
    }

    /// <summary>The local node.</summary>
    public NodeId LocalId => _local.Id;

    /// <summary>The local node's current record.</summary>
    public NodeRecord LocalRecord => _local;

    /// <summary>Records about the local node that were newer than its own and were ignored: another process runs under its name, or its generation went backwards.</summary>
    public long ConflictingSelfRecords { get; private set; }

    /// <summary>A snapshot of the membership as of the last event.</summary>
    public MembershipView View => _view ??= BuildView();

    /// <summary>Runs due work: a round when <see cref="GossipSettings.Interval"/> has passed since the last, then suspicion and verdicts.</summary>
    /// <remarks>The host may tick more often than the interval (suspicion is then noticed sooner); rounds keep their rhythm.</remarks>
    public void Tick(DateTimeOffset now, IGossipOutbox outbox)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        Advance(now);
        if (_now >= _nextRoundAt)
        {
            Round(outbox);
            _nextRoundAt = _nextRoundAt == DateTimeOffset.MinValue ? _now + _settings.Interval : _nextRoundAt + _settings.Interval;
            if (_nextRoundAt <= _now)
            {
                _nextRoundAt = _now + _settings.Interval;
            }
        }

        RecomputeSuspicion();
        RecomputeVerdict();
        _view = null;
    }

    /// <summary>Changes the local node's state; gossiped from the next round. Requires: the node has not left.</summary>
    public void SetLocalState(NodeState state)
    {
        if (state is < NodeState.Joining or > NodeState.Left)
        {
            throw new ArgumentOutOfRangeException(nameof(state), state, "not a node state");
        }

        if (_local.State == NodeState.Left && state != NodeState.Left)
        {
            throw new InvalidOperationException($"{_local.Id} has left; it comes back only as a new generation");
        }

        if (state != _local.State)
        {
            _local = _local.WithDescription(_local.Version + 1, state, _local.Tokens);
            DescriptionChanged();
        }
    }

    /// <summary>
    /// Changes a peer's state on its behalf (removenode, replace: the peer is DOWN and cannot say it itself): its record
    /// at a version far above any it can reach in its generation, so its own stale records never win over this one. A
    /// restart of the peer (a higher generation) does. False when the peer is unknown.
    /// </summary>
    public bool SetPeerState(NodeId node, NodeState state)
    {
        if (state is < NodeState.Joining or > NodeState.Left)
        {
            throw new ArgumentOutOfRangeException(nameof(state), state, "not a node state");
        }

        if (!_peers.TryGetValue(node, out var peer))
        {
            return false;
        }

        if (peer.Record.State != state)
        {
            var version = Math.Max(peer.Record.Version, ForgedVersionFloor) + 1;
            // Without the peer's suspicions: they are its old evidence, not news (RenewedAt stays, for the same reason).
            peer.Record = peer.Record.WithHeartbeat(peer.Record.Version, peer.Record.Load, []).WithDescription(version, state, peer.Record.Tokens);
            DescriptionChanged();
        }

        return true;
    }

    // A node's own version grows once a gossip round (and per change): it never reaches this within a generation.
    private const ulong ForgedVersionFloor = 1UL << 40;

    /// <summary>Changes the local node's tokens; gossiped from the next round.</summary>
    public void SetLocalTokens(ImmutableArray<ulong> tokens)
    {
        tokens = tokens.IsDefault ? [] : tokens;
        if (!tokens.AsSpan().SequenceEqual(_local.Tokens.AsSpan()))
        {
            _local = _local.WithDescription(_local.Version + 1, _local.State, tokens);
            DescriptionChanged();
        }
    }

    /// <summary>Changes the local node's load figures; gossiped from the next round.</summary>
    public void SetLoad(LoadFigures load)
    {
        if (load != _local.Load)
        {
            _local = _local.WithHeartbeat(_local.Version + 1, load, _local.Suspects);
            _view = null;
        }
    }

    private void Advance(DateTimeOffset now)
    {
        // The host's clock should not go backwards; if it does, time stands still here rather than running backwards.
        if (now > _now)
        {
            _now = now;
        }
    }

    private void Round(IGossipOutbox outbox)
    {
        _local = _local.WithHeartbeat(_local.Version + 1, _local.Load, _local.Suspects);
        var ping = new GossipPing(_local.Heartbeat, _local.PeerAddress, _now.UtcTicks);
        var reachable = new List<Peer>();
        foreach (var peer in _peers.Values)
        {
            if (peer.Record.State == NodeState.Left)
            {
                continue;
            }

            outbox.Send(peer.Record.PeerAddress, peer.Record.Id, ping);
            if (!peer.Suspected)
            {
                reachable.Add(peer);
            }
        }

        var syn = new GossipSyn(_local.Id, _local.PeerAddress, "", Digests());
        for (var i = 0; i < _settings.Fanout && i < reachable.Count; i++)
        {
            // A partial Fisher-Yates shuffle: distinct targets, each equally likely.
            var pick = _random.Next(i, reachable.Count);
            (reachable[i], reachable[pick]) = (reachable[pick], reachable[i]);
            outbox.Send(reachable[i].Record.PeerAddress, reachable[i].Record.Id, syn);
        }

        foreach (var seed in _unresolvedSeeds)
        {
            outbox.Send(seed, null, new GossipSyn(_local.Id, _local.PeerAddress, seed, syn.Digests));
        }
    }

    private ImmutableArray<GossipDigest> Digests()
    {
        var digests = ImmutableArray.CreateBuilder<GossipDigest>(_peers.Count + 1);
        digests.Add(_local.Digest);
        foreach (var peer in _peers.Values)
        {
            digests.Add(peer.Record.Digest);
        }

        return digests.MoveToImmutable();
    }

    private void DescriptionChanged()
    {
        _epoch++;
        _view = null;
    }

    private MembershipView BuildView()
    {
        var members = ImmutableArray.CreateBuilder<MemberStatus>(_peers.Count + 1);
        var localAdded = false;
        foreach (var peer in _peers.Values)
        {
            if (!localAdded && _local.Id < peer.Record.Id)
            {
                members.Add(LocalStatus());
                localAdded = true;
            }

            var left = peer.Record.State == NodeState.Left;
            var observers = _verdict.ObserversOf(peer.Record.Id);
            members.Add(new MemberStatus(peer.Record, false, left ? 0 : peer.Detector.Phi(_now), peer.Suspected, observers, !left && observers >= DownConsensus.RequiredObservers));
        }

        if (!localAdded)
        {
            members.Add(LocalStatus());
        }

        return new MembershipView(_local.Id, _now, _epoch, members.MoveToImmutable(), [.. _unresolvedSeeds]);
    }

    private MemberStatus LocalStatus()
    {
        var observers = _verdict.ObserversOf(_local.Id);
        return new MemberStatus(_local, true, 0, false, observers, _local.State != NodeState.Left && observers >= DownConsensus.RequiredObservers);
    }

    /// <summary>What the local node holds about one peer.</summary>
    private sealed class Peer(NodeRecord record, PhiAccrual detector, DateTimeOffset now)
    {
        /// <summary>The newest record seen.</summary>
        public NodeRecord Record { get; set; } = record;

        /// <summary>Local time at which <see cref="Record"/>'s (generation, version) last rose: when its report was last renewed.</summary>
        public DateTimeOffset RenewedAt { get; set; } = now;

        /// <summary>The detector fed by this peer's pongs.</summary>
        public PhiAccrual Detector { get; } = detector;

        /// <summary>The generation whose pongs feed <see cref="Detector"/>; older pongs are from a dead incarnation.</summary>
        public ulong DetectorGeneration { get; set; } = record.Generation;

        /// <summary>The send time of the newest ping whose pong fed the detector: older pongs are duplicates or stale.</summary>
        public long LastEchoTicks { get; set; } = long.MinValue;

        /// <summary>Whether the local node suspects this peer (phi above the threshold at the last recomputation).</summary>
        public bool Suspected { get; set; }
    }
}
