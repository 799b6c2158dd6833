using System;
using System.Collections.Generic;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Cluster.Ring;
using RingKV.Core.Consistency;
using RingKV.Core.Versioning;

namespace RingKV.Cluster;

/// <summary>The settings a node's coordinator runs with.</summary>
internal sealed record ClusterNodeSettings(NodeId Self, string DataCenter, string Rack)
{
    /// <summary>Replicas per data center.</summary>
    public ReplicationSettings Replication { get; init; } = ReplicationSettings.Default;

    /// <summary>The level of plain reads that name none.</summary>
    public ConsistencyLevel DefaultRead { get; init; } = ConsistencyLevel.Quorum;

    /// <summary>The level of plain writes that name none.</summary>
    public ConsistencyLevel DefaultWrite { get; init; } = ConsistencyLevel.Quorum;

    /// <summary>How long a request may wait for its replicas before it answers TIMEOUT.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a read or scan page waits for the replicas it asked before it asks one more (speculative retry), again
    /// after each such delay while replicas are left; zero or less: never. Checked on each tick, so the extra replica is
    /// asked up to one tick later than this.
    /// </summary>
    /// <remarks>
    /// Far above a healthy replica's answer time (well under a millisecond on loopback, a few ms on a LAN under load),
    /// so a healthy cluster almost never sends the extra read, and far below <see cref="RequestTimeout"/>, so a silent
    /// replica the local failure detector does not suspect yet costs a read about one delay, not a TIMEOUT.
    /// </remarks>
    public TimeSpan SpeculativeRetry { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Entries a key's version vector keeps (--max-version-entries).</summary>
    public int MaxVersionEntries { get; init; } = 10;

    /// <summary>Most client requests in flight on this coordinator; more are answered BUSY at once.</summary>
    public int MaxInFlight { get; init; } = 100_000;

    /// <summary>Hinted handoff's pace: bytes of hints handed over per second, per node (--hint-rate); 0: unthrottled.</summary>
    public long HintRateBytesPerSecond { get; init; } = 4 * 1024 * 1024;

    /// <summary>Hints first kept longer ago than this are dropped unsent (--hint-window); anti-entropy repairs what they held.</summary>
    public TimeSpan HintWindow { get; init; } = TimeSpan.FromHours(3);

    /// <summary>
    /// Strict quorum for every request (--strict-quorum): only natural replicas count; off, a DOWN replica's stand-in
    /// counts for it (sloppy quorum, as Dynamo) unless the request asks STRICT.
    /// </summary>
    public bool StrictQuorum { get; init; }

    /// <summary>Streaming's pace: record bytes a node streams in per second when it gains ranges (--stream-rate); 0: unthrottled.</summary>
    public long StreamRateBytesPerSecond { get; init; } = 64 * 1024 * 1024;

    /// <summary>How long after a membership change ends here writes still go to the previous ring's replicas too (on top of the level), while other nodes learn of the end.</summary>
    public TimeSpan ChangeGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The first id this run gives the requests it coordinates (the host derives it from the generation, so runs never reuse ids).</summary>
    public ulong FirstRequestId { get; init; } = 1;

    /// <summary>
    /// The lowest hybrid-logical time this node may stamp, Unix ms: the host persists a floor above every stamp the node
    /// issued, so a restarted node never reuses a dot (see <see cref="ClusterNode"/>).
    /// </summary>
    public long ClockFloorUnixMs { get; init; }

    /// <summary>How often Tick starts an anti-entropy pass (the first one interval after the first tick); zero: never (passes only on demand).</summary>
    public TimeSpan RepairInterval { get; init; } = TimeSpan.Zero;

    /// <summary>Anti-entropy's byte budget (a token bucket over the messages its passes send and receive); zero or less: not throttled.</summary>
    public long RepairRateBytesPerSecond { get; init; }

    /// <summary>How long one anti-entropy step (a scan, a request to a peer) may take before its ranges count as failed for the pass.</summary>
    public TimeSpan RepairTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Consecutive vnode ranges a pass compares per session with a peer (one session in flight at a time).</summary>
    public int RepairRangesPerExchange { get; init; } = 8;
}

/// <summary>
/// One node of the cluster as a state machine: it coordinates client requests over the key's replicas and serves its
/// own replica's part of other coordinators' requests.
/// </summary>
/// <remarks>
/// Not thread-safe, by design: the host calls it from one thread (production: the node's loop; tests: the simulator),
/// with an event and the time, and it answers with effects on the outbox and requests to its replica store. It reads no
/// clock, randomness, network or disk of its own, so the same code runs over TCP and in the deterministic simulator.
/// Decisions iterate arrays in ring or id order, never hash containers. Plain writes are stamped here and sent to every
/// replica; a versioned write is coordinated at a replica of its key, forwarded to one when this node is not (see
/// <see cref="StartVersionedWrite"/>).
/// Invariants: (1) every <see cref="Submit"/> gets exactly one <see cref="IOutbox.Reply"/>, by its deadline at the
/// latest; (2) a write is answered Ok only after as many replicas as its level asks acknowledged it; (3) dots this node
/// mints never repeat: counters come from a hybrid-logical clock that only grows and starts above the host's floor.
/// </remarks>
internal sealed partial class ClusterNode
{
    private readonly ClusterNodeSettings _settings;
    private readonly IReplicaStore _store;

    // Requests this node coordinates, by internal id, and their deadlines in order (one timeout for all: first in, first due).
    private readonly Dictionary<ulong, Pending> _pending = [];
    private readonly DueQueue<ulong> _deadlines = new();

    // Writes answered before every replica replied, by id, waiting on for the rest until their deadline (WAIT counts
    // them); those of this node's clients also by client id. Bounded by MaxInFlight: past it a write is not waited on.
    private readonly Dictionary<ulong, Pending> _lingering = [];
    private readonly Dictionary<ulong, Pending> _lingeringByClient = [];

    // WAIT requests in flight by their own deadline (rare: a heap is fine here, unlike the one-timeout _deadlines).
    private readonly PriorityQueue<ulong, long> _waitDeadlines = new();

    // The final acknowledgement counts of recent client writes, in a slot by client id (an older write's slot is reused):
    // WAIT after a write's replicas have all replied answers from here, not from the count when the write was answered.
    private const int RecentAckSlots = 1 << 14;
    private readonly ulong[] _recentAckIds = new ulong[RecentAckSlots];
    private readonly int[] _recentAcks = new int[RecentAckSlots];

    // When reads and scan pages in flight ask one more replica (speculative retry), by id; an entry whose request ended is skipped.
    private readonly DueQueue<ulong> _speculations = new();

    // The local store's answers expected, by tag: for a coordinated request (its id and replica index) or for a peer's.
    private readonly Dictionary<ulong, StorageWait> _storageWaits = [];

    private ulong _nextRequestId;
    private long _readRepairs;
    private ulong _nextTag = 1;
    private readonly HybridClock _clock;
    private long _clockLeaseUnixMs = long.MaxValue;

    private TokenRing _ring;
    private Placement _placement;
    private HashSet<NodeId> _down = [];
    private HashSet<NodeId> _suspected = [];
    private HashSet<NodeId> _left = [];

    // ReplicasOf's answers per vnode of the current ring and DOWN set (immutable; forgotten when either changes): the
    // natural list (strict quorum), and the sloppy one with stand-ins for DOWN replicas (the same object when none is DOWN).
    private Replicas?[] _replicasByVnode;
    private Replicas?[] _sloppyByVnode;

    // Per ring member (by index): not DOWN, so it may stand in for a DOWN replica.
    private bool[] _usable;

    public ClusterNode(ClusterNodeSettings settings, IReplicaStore store, TokenRing ring)
    {
        _settings = settings;
        _store = store;
        _ring = ring;
        _placement = Placement.Create(ring, settings.Replication);
        ForgetReplicas();
        // Ids are unique across incarnations too: a late reply to an earlier run's request must not match a new one.
        _nextRequestId = settings.FirstRequestId;
        Span<byte> incarnation = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(incarnation, settings.Self.Actor);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(incarnation[8..], settings.FirstRequestId);
        CounterActor = System.IO.Hashing.XxHash64.HashToUInt64(incarnation);
        _clock = new HybridClock(settings.ClockFloorUnixMs > 0 ? HybridTimestamp.FromUnixMs(settings.ClockFloorUnixMs) : HybridTimestamp.MinValue);
    }

    /// <summary>This node's id.</summary>
    public NodeId Self => _settings.Self;

    /// <summary>
    /// This incarnation's actor in counters (<see cref="CounterState"/>): derived from the node's actor and its first
    /// request id, which is unique per incarnation (the generation is its high half).
    /// </summary>
    /// <remarks>
    /// Why not the node's actor: a crash can lose the node's last increments that were not yet synced while other
    /// replicas already hold them; an actor that went on from its older entry would reuse versions with other sums, and
    /// the per-actor join would drop increments. A new actor per incarnation never reuses one. The cost: a counter key
    /// keeps one entry per incarnation that incremented it.
    /// </remarks>
    public ulong CounterActor { get; private init; }

    /// <summary>The ring the node routes by.</summary>
    public TokenRing Ring => _ring;

    /// <summary>The replica placement over <see cref="Ring"/>.</summary>
    public Placement Placement => _placement;

    /// <summary>Records sent to stale replicas by read repair since start.</summary>
    public long ReadRepairs => _readRepairs;

    /// <summary>Client requests in flight.</summary>
    public int InFlight => _pending.Count;

    /// <summary>The highest hybrid-logical time stamped so far, Unix ms: the host persists a floor above it.</summary>
    public long ClockUnixMs => _clock.Last.UnixMs;

    /// <summary>
    /// Lets the node stamp writes below <paramref name="unixMs"/>: the host has made a floor at least that high durable,
    /// so a restart starts its clock above every stamp issued under this lease. Writes that would need a later stamp
    /// answer BUSY until the host renews (it renews ahead, so a steady clock never meets the lease).
    /// </summary>
    public void SetClockLease(long unixMs) => _clockLeaseUnixMs = Math.Max(_clockLeaseUnixMs == long.MaxValue ? 0 : _clockLeaseUnixMs, unixMs);

    /// <summary>Nodes currently DOWN for the cluster.</summary>
    public IReadOnlyCollection<NodeId> Down => _down;

    /// <summary>Nodes this node's own failure detector suspects (phi over the threshold), DOWN or not.</summary>
    public IReadOnlyCollection<NodeId> Suspected => _suspected;

    /// <summary>
    /// Routes by a new ring, a new set of DOWN nodes and a new set of nodes this node suspects itself (membership
    /// changed). Requests in flight keep their replicas. A suspected node that is not DOWN still counts as alive (writes
    /// go to it, it counts for the levels), but reads ask it only when the others they ask are not enough.
    /// </summary>
    /// <param name="ring">The ring reads and writes route by (NORMAL and LEAVING members).</param>
    /// <param name="down">Nodes DOWN for the cluster.</param>
    /// <param name="suspected">Nodes this node's detector suspects.</param>
    /// <param name="future">The ring a membership change in flight leads to (NORMAL and JOINING members); null: none in flight.</param>
    /// <param name="left">Nodes that left the cluster (decommissioned, removed, replaced): hints kept for them go to each key's current replicas.</param>
    public void ApplyMembership(TokenRing ring, IEnumerable<NodeId> down, IEnumerable<NodeId>? suspected = null, TokenRing? future = null, IEnumerable<NodeId>? left = null)
    {
        var previous = _ring;
        _left = left is null ? [] : [.. left];
        if (!ReferenceEquals(ring, _ring))
        {
            _ring = ring;
            _placement = Placement.Create(ring, _settings.Replication);
        }

        _down = [.. down];
        _suspected = suspected is null ? [] : [.. suspected];
        ForgetReplicas();
        ApplyChange(future, previous);
    }

    /// <summary>Whether the node counts <paramref name="node"/> as up.</summary>
    public bool IsAlive(NodeId node) => !_down.Contains(node);

    /// <summary>Whether this node's own failure detector suspects <paramref name="node"/>.</summary>
    public bool IsSuspected(NodeId node) => _suspected.Contains(node);

    /// <summary>Starts a client request; its reply comes through <paramref name="outbox"/>, now or later.</summary>
    public void Submit(ClientRequest request, DateTimeOffset now, IOutbox outbox)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_pending.Count >= _settings.MaxInFlight)
        {
            outbox.Reply(request.Id, new ClientReply(ClientStatus.Busy, "BUSY too many requests in flight on this node"));
            return;
        }

        switch (request.Operation)
        {
            case ClientOperation.Read:
                StartRead(request, now, outbox);
                break;
            case ClientOperation.Write:
                StartWrite(request, now, outbox);
                break;
            case ClientOperation.Scan:
                StartScan(request, now, outbox);
                break;
            case ClientOperation.Count:
                StartCount(request, now, outbox);
                break;
            case ClientOperation.WaitAcks:
                StartWaitAcks(request, now, outbox);
                break;
            default:
                StartFlush(request, now, outbox);
                break;
        }
    }

    /// <summary>A message from a peer: a request for this node's replica, or a replica's reply to a request this node coordinates.</summary>
    public void Handle(NodeId from, ClusterMessage message, DateTimeOffset now, IOutbox outbox)
    {
        ArgumentNullException.ThrowIfNull(message);
        switch (message)
        {
            case ReplicaReadRequest m:
                SubmitStorage(new StorageRequest(0, StorageOperation.Read, m.Key, default), StorageWait.ForPeer(from, m.RequestId, MessageKind.ReplicaRead));
                break;
            case ReplicaWriteRequest m:
                SubmitStorage(new StorageRequest(0, StorageOperation.Merge, m.Key, m.Record), StorageWait.ForPeer(from, m.RequestId, MessageKind.ReplicaWrite));
                break;
            case HintedWriteRequest m when m.IntendedFor == Self:
                // The rings disagree (this node is a natural replica here): merge it as the replica it is.
                SubmitStorage(new StorageRequest(0, StorageOperation.Merge, m.Key, m.Record), StorageWait.ForPeer(from, m.RequestId, MessageKind.ReplicaWrite));
                break;
            case HintedWriteRequest m:
                SubmitStorage(
                    new StorageRequest(0, StorageOperation.Hint, m.Key, m.Record, First: HintTime(now), Target: m.IntendedFor),
                    StorageWait.ForPeer(from, m.RequestId, MessageKind.ReplicaWrite) with { Hint = HintWork.Stored, HintFor = m.IntendedFor });
                break;
            case HintedReadRequest m:
                SubmitStorage(
                    new StorageRequest(0, m.IntendedFor == Self ? StorageOperation.Read : StorageOperation.HintedRead, m.Key, default, Target: m.IntendedFor),
                    StorageWait.ForPeer(from, m.RequestId, MessageKind.ReplicaRead));
                break;
            case ReplicaScanRequest m:
                SubmitStorage(new StorageRequest(0, StorageOperation.Scan, [], default, m.First, m.Last, m.Limit), StorageWait.ForPeer(from, m.RequestId, MessageKind.ReplicaScan));
                break;
            case ReplicaCountRequest m:
                SubmitStorage(new StorageRequest(0, StorageOperation.Count, [], default, Ranges: m.Ranges), StorageWait.ForPeer(from, m.RequestId, MessageKind.ReplicaCount));
                break;
            case ReplicaFlushRequest m:
                SubmitStorage(new StorageRequest(0, StorageOperation.Flush, [], default), StorageWait.ForPeer(from, m.RequestId, MessageKind.ReplicaFlush));
                break;
            case CoordinateWriteRequest m:
                OnCoordinateWrite(from, m, now, outbox);
                break;
            case StreamPageRequest or StreamPageReply or StreamProgressRequest or StreamProgressReply:
                HandleStream(from, message, now, outbox);
                break;
            case AntiEntropyRootsRequest or AntiEntropyDescendRequest or AntiEntropyPushRequest
                or AntiEntropyRootsReply or AntiEntropyDescendReply or AntiEntropyPushReply:
                HandleAntiEntropy(from, message, now, outbox);
                break;
            default:
                OnReplicaReply(from, message, now, outbox);
                break;
        }
    }

    /// <summary>The local replica store finished a request.</summary>
    public void OnStorage(in StorageDone done, DateTimeOffset now, IOutbox outbox)
    {
        if (TryAntiEntropyStorage(done, now, outbox))
        {
            return;
        }

        if (!_storageWaits.Remove(done.Tag, out var wait))
        {
            return; // its request already ended (a deadline passed)
        }

        if (wait.Hint != HintWork.None && !OnHintStorage(wait, done, now, outbox))
        {
            return; // hint work of this node's own (no peer or request waits for it)
        }

        if (TryStreamStorage(wait, done, now, outbox))
        {
            return;
        }

        if (wait.Cleanup)
        {
            _cleanupRunning = false;
            _cleanupRemoved += done.Keys;
            return;
        }

        if (wait.Peer is { } peer)
        {
            outbox.Send(peer, ReplyToPeer(wait, done));
            return;
        }

        if (_pending.TryGetValue(wait.RequestId, out var pending) || _lingering.TryGetValue(wait.RequestId, out pending))
        {
            pending.OnStorage(this, wait.ReplicaIndex, wait.Kind, done, now, outbox);
        }
    }

    /// <summary>Answers TIMEOUT to every request whose deadline passed; reads still waiting past their retry delay ask one more replica.</summary>
    public void Tick(DateTimeOffset now, IOutbox outbox)
    {
        var ticks = now.UtcTicks;
        while (_deadlines.TryTakeDue(ticks, out var id))
        {
            if (_pending.TryGetValue(id, out var pending))
            {
                pending.OnDeadline(this, now, outbox);
            }
            else if (_lingering.TryGetValue(id, out pending))
            {
                EndLinger(pending, outbox); // a replica never answered: the count stays what it is
            }
        }

        while (_waitDeadlines.TryPeek(out var waitId, out var due) && due <= ticks)
        {
            _waitDeadlines.Dequeue();
            if (_pending.TryGetValue(waitId, out var wait))
            {
                wait.OnDeadline(this, now, outbox);
            }
        }

        // After the deadlines: a request that just timed out is not worth another replica request.
        while (_speculations.TryTakeDue(ticks, out var id))
        {
            if (_pending.TryGetValue(id, out var pending) && pending is ReplicaReplyPending reads)
            {
                reads.Speculate(this, now, outbox);
            }
        }

        ForgetForwards(ticks);
        TickHints(now, outbox);
        TickAntiEntropy(now, outbox);
        TickChangeGrace(now);
        TickStreams(now, outbox);
    }

    /// <summary>The natural replicas of a key's token, in preference order, with whether each is alive and its data center.</summary>
    /// <remarks>Kept per vnode until the membership changes: building it was five objects per request.</remarks>
    private Replicas ReplicasOf(ulong token)
    {
        if (_ring.IsEmpty)
        {
            return Replicas.Of(this, [], []);
        }

        var vnode = _ring.VnodeIndexOf(new Core.Hashing.Token(token));
        return _replicasByVnode[vnode] ??= NaturalReplicas(vnode);
    }

    /// <summary>
    /// The replicas a request at <paramref name="level"/> uses: the natural list for strict quorum (the level's, or the
    /// node's --strict-quorum), else the sloppy list, where each DOWN replica is replaced by its stand-in (the next node
    /// clockwise in its data center that is neither DOWN nor a natural replica: it keeps the write as a hint for the
    /// DOWN one), or left DOWN when there is none.
    /// </summary>
    /// <remarks>
    /// The list keeps the natural list's length and order, and a stand-in takes its replica's slot and data center, so
    /// the level's requirement is counted on the natural N either way (ALL still needs N acknowledgements).
    /// </remarks>
    private Replicas ReplicasFor(ulong token, ConsistencyLevel level)
    {
        var natural = ReplicasOf(token);
        if (level.Strict || _settings.StrictQuorum || natural.AllAlive)
        {
            return natural;
        }

        var vnode = _ring.VnodeIndexOf(new Core.Hashing.Token(token));
        return _sloppyByVnode[vnode] ??= SloppyReplicas(vnode, natural);
    }

    private Replicas NaturalReplicas(int vnode)
    {
        var nodes = _placement.ForVnode(vnode).ToArray();
        return Replicas.Of(this, nodes, nodes);
    }

    private Replicas SloppyReplicas(int vnode, Replicas natural)
    {
        var length = natural.Nodes.Length;
        var sloppy = new SloppyReplica[length]; // once per vnode and membership: cached
        var count = PreferenceList.Sloppy(_placement, _ring.TokenAt(vnode), _usable, sloppy);
        var nodes = (NodeId[])natural.Nodes.Clone();
        var intended = (NodeId[])natural.Nodes.Clone();
        for (var i = 0; i < count; i++)
        {
            if (sloppy[i].IsStandIn)
            {
                var slot = Array.IndexOf(natural.Nodes, sloppy[i].IntendedFor);
                nodes[slot] = sloppy[i].Node;
            }
        }

        return Replicas.Of(this, nodes, intended);
    }

    /// <summary>Empties ReplicasOf's cache, sized to the current ring (at start and whenever membership is applied).</summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_replicasByVnode), nameof(_sloppyByVnode), nameof(_usable))]
    private void ForgetReplicas()
    {
        _replicasByVnode = new Replicas?[_ring.IsEmpty ? 0 : _ring.VnodeCount];
        _sloppyByVnode = new Replicas?[_replicasByVnode.Length];
        _usable = new bool[_ring.MemberCount];
        for (var m = 0; m < _usable.Length; m++)
        {
            _usable[m] = IsAlive(_ring.MemberAt(m).Id);
        }
    }

    private ulong NewRequestId() => _nextRequestId++;

    /// <summary>Registers a coordinated request with its deadline.</summary>
    private void Track(Pending pending, DateTimeOffset now)
    {
        _pending[pending.Id] = pending;
        _deadlines.Add(pending.Id, (now + _settings.RequestTimeout).UtcTicks);
    }

    /// <summary>
    /// Answers a coordinated request and forgets it, so late replies to it are dropped; but a write answered Ok before
    /// every replica replied is kept (lingers) until they have, or until its deadline, counting them for WAIT.
    /// </summary>
    private void Finish(Pending pending, ClientReply reply, IOutbox outbox)
    {
        if (pending.Answered || !_pending.Remove(pending.Id))
        {
            return;
        }

        var settled = true;
        if (reply.Status == ClientStatus.Ok && pending.Acked is var acked and >= 0)
        {
            reply = ReferenceEquals(reply, ClientReply.Done) ? ClientReply.DoneWith(acked) : reply with { Acked = acked };
            if (!pending.Settled && _lingering.Count < _settings.MaxInFlight)
            {
                settled = false;
                pending.Answered = true;
                pending.Relayed = RelayedMessage(reply);
                _lingering[pending.Id] = pending;
                if (pending.ReplyTo is null)
                {
                    _lingeringByClient[pending.ClientId] = pending;
                }
            }
            else if (pending.ReplyTo is null)
            {
                RememberAcks(pending.ClientId, acked);
            }
        }

        Answer(pending.ReplyTo, pending.ClientId, reply, outbox, settled);
    }

    /// <summary>A write that is answered already got one more reply: count it for WAIT, and stop waiting once all are in.</summary>
    private void OnLateAck(Pending write, IOutbox outbox)
    {
        if (write.Settled)
        {
            EndLinger(write, outbox);
            return;
        }

        var acked = write.Acked;
        if (write.ReplyTo is { } origin)
        {
            outbox.Send(origin.Node, new CoordinateWriteReply(origin.RequestId, ClientStatus.Ok, write.Relayed, acked, Final: false));
        }

        WakeWaiters(write, acked, settled: false, outbox);
    }

    /// <summary>Stops waiting on an answered write (all replicas replied, or its deadline passed): its count is final.</summary>
    private void EndLinger(Pending write, IOutbox outbox)
    {
        if (!_lingering.Remove(write.Id))
        {
            return;
        }

        var acked = write.Acked;
        if (write.ReplyTo is { } origin)
        {
            outbox.Send(origin.Node, new CoordinateWriteReply(origin.RequestId, ClientStatus.Ok, write.Relayed, acked, Final: true));
        }
        else
        {
            _lingeringByClient.Remove(write.ClientId);
            RememberAcks(write.ClientId, acked);
        }

        WakeWaiters(write, acked, settled: true, outbox);
    }

    private void RememberAcks(ulong clientId, int acked)
    {
        var slot = (int)(clientId & (RecentAckSlots - 1));
        _recentAckIds[slot] = clientId;
        _recentAcks[slot] = acked;
    }

    /// <summary>WAIT: answers at once when the write has enough acknowledgements or is settled, else waits on it.</summary>
    private void StartWaitAcks(ClientRequest request, DateTimeOffset now, IOutbox outbox)
    {
        if (_lingeringByClient.TryGetValue(request.Cursor, out var write) && write.Acked < request.Count)
        {
            var wait = new WaitAcksPending(NewRequestId(), request, write);
            _pending[wait.Id] = wait;
            (write.Waiters ??= []).Add(wait);

            // The write settles by its own deadline at the latest, and answers its waiters then.
            var timeout = request.Timeout > TimeSpan.Zero && request.Timeout < _settings.RequestTimeout ? request.Timeout : _settings.RequestTimeout * 2;
            _waitDeadlines.Enqueue(wait.Id, (now + timeout).UtcTicks);
            return;
        }

        var slot = (int)(request.Cursor & (RecentAckSlots - 1));
        var acked = write?.Acked ?? (_recentAckIds[slot] == request.Cursor && request.Cursor != 0 ? _recentAcks[slot] : -1);
        outbox.Reply(request.Id, ClientReply.DoneWith(acked));
    }

    private void WakeWaiters(Pending write, int acked, bool settled, IOutbox outbox)
    {
        if (write.Waiters is not { } waiters)
        {
            return;
        }

        for (var i = waiters.Count - 1; i >= 0; i--)
        {
            if (settled || acked >= waiters[i].Request.Count)
            {
                var wait = waiters[i];
                waiters.RemoveAt(i);
                Finish(wait, ClientReply.DoneWith(acked), outbox);
            }
        }
    }

    /// <summary>A WAIT waiting on a lingering write: answered by the write (enough acknowledgements, or settled) or at its timeout.</summary>
    private sealed class WaitAcksPending(ulong id, ClientRequest request, Pending write) : Pending(id, request, [])
    {
        public override void OnReply(ClusterNode node, int replicaIndex, ClusterMessage reply, DateTimeOffset now, IOutbox outbox)
        {
        }

        public override void OnDeadline(ClusterNode node, DateTimeOffset now, IOutbox outbox)
        {
            write.Waiters?.Remove(this);
            node.Finish(this, ClientReply.DoneWith(write.Acked), outbox);
        }
    }

    /// <summary>The message a relayed reply carries: an increment's count travels as the message of its Ok reply.</summary>
    private static string RelayedMessage(ClientReply reply) =>
        reply.Status == ClientStatus.Ok && reply.Counter != 0 ? reply.Counter.ToString(System.Globalization.CultureInfo.InvariantCulture) : reply.Message;

    /// <summary>
    /// Answers a request: its client's, or the node that forwarded it to this one (<paramref name="settled"/>, for a
    /// forwarded write answered Ok: whether every replica has replied, else updates follow).
    /// </summary>
    private static void Answer(Origin? origin, ulong clientId, ClientReply reply, IOutbox outbox, bool settled = true)
    {
        if (origin is { } forwarder)
        {
            outbox.Send(forwarder.Node, new CoordinateWriteReply(forwarder.RequestId, reply.Status, RelayedMessage(reply), Math.Max(0, reply.Acked), settled));
        }
        else
        {
            outbox.Reply(clientId, reply);
        }
    }

    private void SubmitStorage(StorageRequest request, StorageWait wait)
    {
        var tag = _nextTag++;
        _storageWaits[tag] = wait;
        _store.Submit(request with { Tag = tag });
    }

    /// <summary>
    /// Sends a replica request to <paramref name="node"/>, or to the local store when it is this node (its answer then
    /// shaped as the reply to <paramref name="localKind"/>, by default the message's kind).
    /// </summary>
    private void SendToReplica(Pending pending, int replicaIndex, NodeId node, ClusterMessage message, StorageRequest local, IOutbox outbox, MessageKind? localKind = null)
    {
        if (node == Self)
        {
            SubmitStorage(local, StorageWait.ForRequest(pending.Id, replicaIndex, localKind ?? message.Kind));
        }
        else
        {
            outbox.Send(node, message);
        }
    }

    private void OnReplicaReply(NodeId from, ClusterMessage message, DateTimeOffset now, IOutbox outbox)
    {
        if (message is ReplicaWriteReply written && OnHintDelivered(from, written, now))
        {
            return;
        }

        if (_pending.TryGetValue(message.RequestId, out var pending) || _lingering.TryGetValue(message.RequestId, out pending))
        {
            var index = pending.IndexOf(from);
            if (index >= 0)
            {
                pending.OnReply(this, index, message, now, outbox);
            }
        }
    }

    private static ClusterMessage ReplyToPeer(StorageWait wait, in StorageDone done) => wait.Kind switch
    {
        MessageKind.ReplicaRead => new ReplicaReadReply(wait.RequestId, done.Status, done.Record.Set is null ? ReplicaRecord.None : done.Record, done.Error),
        MessageKind.ReplicaWrite => new ReplicaWriteReply(wait.RequestId, done.Status, done.Error),
        MessageKind.ReplicaScan => new ReplicaScanReply(wait.RequestId, done.Status, done.Entries ?? [], done.Complete, done.Next, done.Error),
        MessageKind.ReplicaCount => new ReplicaCountReply(wait.RequestId, done.Status, done.Keys, done.Expires, done.TtlSumMs, done.Error),
        _ => new ReplicaFlushReply(wait.RequestId, done.Status, done.Error),
    };

    /// <summary>The local store's answer in the shape a peer's reply has, so coordination handles both alike.</summary>
    private static ClusterMessage ReplyFromStorage(MessageKind kind, ulong requestId, in StorageDone done) =>
        ReplyToPeer(new StorageWait(null, requestId, -1, kind), done);

    /// <summary>
    /// What a storage tag waits for: a peer's request to answer, or a replica slot of a request this node coordinates;
    /// and for hint work (<see cref="Hint"/>), the replica the hint is for.
    /// </summary>
    private readonly record struct StorageWait(NodeId? Peer, ulong RequestId, int ReplicaIndex, MessageKind Kind)
    {
        /// <summary>The hint work this answer finishes, if any (counted by <see cref="OnHintStorage"/>).</summary>
        public HintWork Hint { get; init; }

        /// <summary>The replica the hint is for.</summary>
        public NodeId? HintFor { get; init; }

        /// <summary>A cleanup of this node's own (no peer or request waits for it).</summary>
        public bool Cleanup { get; init; }

        /// <summary>A stream page's bulk store (<see cref="StorageOperation.Ingest"/>), not one of its merges.</summary>
        public bool Ingest { get; init; }

        public static StorageWait ForPeer(NodeId peer, ulong requestId, MessageKind kind) => new(peer, requestId, -1, kind);

        public static StorageWait ForRequest(ulong requestId, int replicaIndex, MessageKind kind) => new(null, requestId, replicaIndex, kind);
    }

    /// <summary>
    /// A request's replicas: their ids, liveness and data centers, in preference order, and for each the natural replica
    /// it holds the data for (itself, or the DOWN replica a stand-in keeps hints for). Immutable: shared by requests.
    /// </summary>
    private sealed class Replicas
    {
        private Replicas(NodeId[] nodes, NodeId[] intendedFor, bool[] alive, string[] dataCenters, int pendingFrom)
        {
            Nodes = nodes;
            PendingFrom = pendingFrom;
            IntendedFor = intendedFor;
            Alive = alive;
            DataCenters = dataCenters;
            AllAlive = Array.TrueForAll(alive, a => a);
            for (var i = 0; i < pendingFrom; i++)
            {
                NaturalAlive += alive[i] && nodes[i] == intendedFor[i] ? 1 : 0;
            }
        }

        /// <summary>
        /// Slots from here on are pending replicas: nodes a membership change in flight makes replicas of the range (a
        /// joiner, a leaver's successor). Writes go to them too and each must acknowledge on top of the level
        /// (<see cref="QuorumPlan.Create(ConsistencyLevel, ReadOnlySpan{string}, string, int)"/>); reads never ask them.
        /// Equal to the length when there are none.
        /// </summary>
        public int PendingFrom { get; }

        /// <summary>Natural replicas (not stand-ins) that are alive.</summary>
        public int NaturalAlive { get; }

        public NodeId[] Nodes { get; }

        /// <summary>Per slot: the natural replica the data belongs to; differs from <see cref="Nodes"/> for a stand-in.</summary>
        public NodeId[] IntendedFor { get; }

        /// <summary>Whether slot <paramref name="i"/> is a stand-in for a DOWN replica (sloppy quorum).</summary>
        public bool IsStandIn(int i) => Nodes[i] != IntendedFor[i];

        /// <summary>No slot is DOWN.</summary>
        public bool AllAlive { get; }

        public bool[] Alive { get; }

        public string[] DataCenters { get; }

        // The last level's plan (most requests use the node's default levels): a memo, not state.
        private (ConsistencyLevel Level, QuorumPlan Plan)? _lastPlan;

        /// <summary>The quorum plan of <paramref name="level"/> over these replicas, the coordinator being in <paramref name="localDataCenter"/> (always the node's).</summary>
        public QuorumPlan PlanFor(ConsistencyLevel level, string localDataCenter)
        {
            if (_lastPlan is { } last && last.Level == level)
            {
                return last.Plan;
            }

            var plan = QuorumPlan.Create(level, DataCenters, localDataCenter, PendingFrom);
            _lastPlan = (level, plan);
            return plan;
        }

        /// <summary>The replicas <paramref name="nodes"/>, each holding <paramref name="intendedFor"/>'s data in its slot (its data center counts).</summary>
        public static Replicas Of(ClusterNode node, NodeId[] nodes, NodeId[] intendedFor, int pendingFrom = -1)
        {
            var alive = new bool[nodes.Length];
            var dataCenters = new string[nodes.Length];
            for (var i = 0; i < nodes.Length; i++)
            {
                alive[i] = node.IsAlive(nodes[i]);
                dataCenters[i] = node._ring.TryGetMember(intendedFor[i], out var member) || node._future.TryGetMember(intendedFor[i], out member)
                    ? member.DataCenter
                    : "";
            }

            return new Replicas(nodes, intendedFor, alive, dataCenters, pendingFrom < 0 ? nodes.Length : pendingFrom);
        }
    }

    /// <summary>A request this node coordinates: what it waits for and how it ends.</summary>
    private abstract class Pending(ulong id, ClientRequest request, NodeId[] replicas)
    {
        public ulong Id { get; } = id;

        public ulong ClientId => Request.Id;

        public ClientRequest Request { get; } = request;

        public NodeId[] Nodes { get; } = replicas;

        /// <summary>The node that forwarded this request, which gets the answer instead of a client; null for a client's.</summary>
        public Origin? ReplyTo { get; init; }

        /// <summary>A write answered Ok while replicas had not all replied yet: it lingers for WAIT (<see cref="Finish"/>).</summary>
        public bool Answered { get; set; }

        /// <summary>
        /// A lingering forwarded write: the message of its answer, which every later update carries too, so an update
        /// that overtakes the answer on the network (or a duplicate) relays the same reply (an increment's count).
        /// </summary>
        public string Relayed { get; set; } = "";

        /// <summary>A write: the replicas of the key that acknowledged it so far; -1: not a write.</summary>
        public virtual int Acked => -1;

        /// <summary>A write: whether every replica it went to has replied (nothing more to count).</summary>
        public virtual bool Settled => true;

        /// <summary>WAIT requests waiting on this write; null when none.</summary>
        public List<Pending>? Waiters { get; set; }

        public int IndexOf(NodeId node) => Array.IndexOf(Nodes, node);

        /// <summary>The local store answered for replica <paramref name="replicaIndex"/>: by default, as that replica's reply.</summary>
        public virtual void OnStorage(ClusterNode node, int replicaIndex, MessageKind kind, in StorageDone done, DateTimeOffset now, IOutbox outbox) =>
            OnReply(node, replicaIndex, ReplyFromStorage(kind, Id, done), now, outbox);

        public abstract void OnReply(ClusterNode node, int replicaIndex, ClusterMessage reply, DateTimeOffset now, IOutbox outbox);

        public abstract void OnDeadline(ClusterNode node, DateTimeOffset now, IOutbox outbox);
    }
}
