using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Cluster.Ring;
using RingKV.Core.Consistency;
using RingKV.Core.Hashing;

namespace RingKV.Cluster;

/// <summary>This node's part of a membership change: what it streams in, what it sent, and the change as a whole.</summary>
/// <param name="Change">The change in flight as this node sees it ("join node4", ...), empty when none.</param>
/// <param name="RangesTotal">Ranges this node gains in it.</param>
/// <param name="RangesDone">Of those, streamed in.</param>
/// <param name="Permille">Share of the gained ranges' tokens streamed in, per mille (1000 when it gains nothing).</param>
/// <param name="ChangePermille">On the node that completes the change: every gainer's progress (mean); else <paramref name="Permille"/>.</param>
/// <param name="BytesEstimate">Bytes this node expects for its gains (the sources' stored bytes per token times the tokens gained).</param>
/// <param name="BytesReceived">Record bytes streamed in since start.</param>
/// <param name="KeysReceived">Records streamed in since start.</param>
/// <param name="BytesSent">Record bytes served to other nodes' streams since start.</param>
/// <param name="KeysSent">Records served to other nodes' streams since start.</param>
internal readonly record struct StreamFigures(
    string Change,
    int RangesTotal,
    int RangesDone,
    int Permille,
    int ChangePermille,
    long BytesEstimate,
    long BytesReceived,
    long KeysReceived,
    long BytesSent,
    long KeysSent);

/// <summary>Where a node's streaming stood, for the host to persist: a restart resumes from it when the change is the same.</summary>
/// <param name="Signature">The change (<see cref="ClusterNode.ChangeSignature"/>); 0: none.</param>
/// <param name="Ranges">Each gained range: closed token bounds, its sources, which source is being streamed, the next token, done.</param>
internal sealed record StreamCheckpoint(ulong Signature, ImmutableArray<StreamCheckpointRange> Ranges)
{
    public static StreamCheckpoint None { get; } = new(0, []);
}

/// <summary>One gained range of a <see cref="StreamCheckpoint"/>.</summary>
internal sealed record StreamCheckpointRange(ulong First, ulong Last, ImmutableArray<NodeId> Sources, int SourceIndex, ulong Cursor, bool Done);

/// <summary>
/// Membership changes (join, decommission, removal, replacement) on the data path: pending replicas for writes, and the
/// streams that bring this node the ranges it gains.
/// </summary>
/// <remarks>
/// A change is two rings: the current one (NORMAL and LEAVING members) that reads and writes route by, and the future one
/// (NORMAL and JOINING members) the change leads to. For every range, the nodes the future ring makes replicas and the
/// current one does not are pending replicas: writes go to them too, each acknowledgement needed on top of the level
/// (<see cref="QuorumPlan"/>), so no write made during the change is missed by the range's future replicas.
/// A node that gains a range streams it from the replica it displaces (which holds what it gives up: every write acked
/// by W current replicas is then on W future ones), or from every live current replica, merged, when that one is DOWN
/// (a removal or replacement: the dead node's copy is gone, the survivors together hold every acked write). Pages are
/// engine range scans (tombstones included), stored in bulk where the gainer holds nothing of a key
/// (<see cref="StorageOperation.Ingest"/>), merged like any replica write where it does; the frame's CRC32C
/// covers each page; pages are throttled (<see cref="ClusterNodeSettings.StreamRateBytesPerSecond"/>); the cursor is
/// checkpointed by the host, so a restart of either side resumes at the last merged page.
/// </remarks>
internal sealed partial class ClusterNode
{
    private const int StreamPageRecords = 4096;
    private const int StreamsInFlight = 8;
    private static readonly TimeSpan StreamStepTimeout = TimeSpan.FromSeconds(10);

    // The change in flight: the future ring and its placement, and the union of both rings' tokens (each of its ranges
    // lies inside one vnode of either ring); empty when no change is in flight.
    private TokenRing _future = TokenRing.Empty;
    private Placement? _futurePlacement;
    private ulong[] _changeTokens = [];
    private NodeId[]?[] _pendingByChangeVnode = [];
    private Replicas?[] _writeNatural = [];
    private Replicas?[] _writeSloppy = [];
    private ulong _changeSignature;

    // This node's gains in the change and the streams bringing them in.
    private List<StreamRange> _gains = [];
    private readonly Dictionary<ulong, StreamRange> _streamsInFlight = [];
    private NodeId[] _gainers = [];
    private readonly Dictionary<NodeId, StreamProgressReply> _gainerProgress = [];
    private DateTimeOffset _nextProgressPoll;
    private long _streamBytesIn, _streamKeysIn, _streamBytesOut, _streamKeysOut;
    private ByteBudget _streamBudget;
    private long _bytesEstimate;
    private StreamCheckpoint? _resume;
    private IReadOnlyDictionary<NodeId, ulong> _storedBytes = ImmutableDictionary<NodeId, ulong>.Empty;

    /// <summary>Whether a membership change is in flight (pending replicas exist somewhere on the ring).</summary>
    public bool ChangeInFlight => _inFlight;

    /// <summary>Whether writes still go to the replicas of the ring before the last change as well (see <see cref="ApplyChange"/>).</summary>
    public bool InChangeGrace => !_inFlight && _changeTokens.Length > 0;

    private bool _inFlight;
    private bool _graceStarting;
    private DateTimeOffset _graceUntil = DateTimeOffset.MaxValue;

    /// <summary>An id of the change in flight (a hash of both rings), 0 when none: progress is kept and compared per change.</summary>
    public ulong ChangeSignature => _changeSignature;

    /// <summary>The ring the change in flight leads to (empty when none).</summary>
    public TokenRing FutureRing => _future;

    /// <summary>The nodes that gain ranges in the change in flight, in id order.</summary>
    public IReadOnlyList<NodeId> Gainers => _gainers;

    /// <summary>Whether this node has streamed in everything it gains in the change in flight (true when none).</summary>
    public bool GainsStreamed => _gains.TrueForAll(static g => g.Done);

    /// <summary>
    /// Whether every gainer of the change in flight has streamed in its ranges: this node's own state, and each other
    /// gainer's latest answer to the progress polls <see cref="PollGainers"/> sends, for this change.
    /// </summary>
    public bool ChangeStreamed
    {
        get
        {
            if (!ChangeInFlight)
            {
                return false;
            }

            foreach (var gainer in _gainers)
            {
                if (gainer == Self ? !GainsStreamed
                    : !_gainerProgress.TryGetValue(gainer, out var p) || p.Signature != _changeSignature || p.RangesDone < p.RangesTotal)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>The streaming figures (for INFO); <paramref name="change"/> names the change as the machine sees it.</summary>
    public StreamFigures StreamFiguresFor(string change)
    {
        var done = GainsDone();
        var permille = OwnPermille();
        var changePermille = permille;
        if (_gainers.Length > 0 && (_gainers.Length > 1 || _gainers[0] != Self))
        {
            long sum = 0;
            foreach (var gainer in _gainers)
            {
                sum += gainer == Self ? permille
                    : _gainerProgress.TryGetValue(gainer, out var p) && p.Signature == _changeSignature ? p.Permille : 0;
            }

            changePermille = (int)(sum / _gainers.Length);
        }

        return new StreamFigures(change, _gains.Count, done, permille, changePermille, _bytesEstimate,
            _streamBytesIn, _streamKeysIn, _streamBytesOut, _streamKeysOut);
    }

    /// <summary>Where this node's streams stand, for the host to persist.</summary>
    public StreamCheckpoint StreamCheckpoint
    {
        get
        {
            if (_gains.Count == 0)
            {
                return StreamCheckpoint.None;
            }

            var ranges = ImmutableArray.CreateBuilder<StreamCheckpointRange>(_gains.Count);
            foreach (var g in _gains)
            {
                ranges.Add(new StreamCheckpointRange(g.First, g.Last, [.. g.Sources], g.SourceIndex, g.Cursor, g.Done));
            }

            return new StreamCheckpoint(_changeSignature, ranges.MoveToImmutable());
        }
    }

    /// <summary>An earlier run's checkpoint: applied when this node next computes the same change.</summary>
    public void ResumeStreams(StreamCheckpoint? checkpoint) => _resume = checkpoint is { Signature: not 0 } ? checkpoint : null;

    /// <summary>Bytes each node stores (gossip's load figures), for the estimate of what a stream will bring.</summary>
    public void SetStoredBytes(IReadOnlyDictionary<NodeId, ulong> stored) => _storedBytes = stored;

    /// <summary>The ranges this node replicates on the current ring (what cleanup keeps), closed and sorted.</summary>
    public IReadOnlyList<(ulong First, ulong Last)> OwnedRanges()
    {
        var ranges = _placement.RangesOf(Self);
        var list = new List<(ulong, ulong)>(ranges.Count);
        foreach (var r in ranges)
        {
            list.Add((r.First.Value, r.Last.Value));
        }

        return list;
    }

    private bool _cleanupRunning;
    private long _cleanupRemoved;

    /// <summary>Records removed by cleanups since start.</summary>
    public long CleanupKeysRemoved => _cleanupRemoved;

    /// <summary>The stream throttle, bytes per second (0: unthrottled).</summary>
    public long StreamRate => _settings.StreamRateBytesPerSecond;

    /// <summary>Whether a cleanup is running.</summary>
    public bool CleanupRunning => _cleanupRunning;

    /// <summary>
    /// Starts a cleanup: the store removes the records whose tokens this node no longer replicates. False when one is
    /// running or a change is in flight (the data may still be streamed from here, and a rollback would need it).
    /// </summary>
    public bool TryStartCleanup(out string error)
    {
        if (ChangeInFlight)
        {
            error = "a membership change is in flight; cleanup waits until it has finished";
            return false;
        }

        if (_cleanupRunning)
        {
            error = "a cleanup is already running";
            return false;
        }

        if (InChangeGrace)
        {
            error = $"a membership change has just completed; writes still reach the previous replicas for {_settings.ChangeGrace.TotalSeconds:0} s, cleanup waits until then";
            return false;
        }

        if (_ring.IsEmpty)
        {
            error = "the node has no ring yet";
            return false;
        }

        _cleanupRunning = true;
        SubmitStorage(new StorageRequest(0, StorageOperation.Cleanup, [], default, Ranges: OwnedRanges()), new StorageWait(null, 0, -1, MessageKind.ReplicaFlush) { Cleanup = true });
        error = "";
        return true;
    }

    /// <summary>
    /// Sets the change in flight from the future ring (null or equal to the current ring: none), and this node's gains in
    /// it. When a change ends here, writes keep going to the previous ring's replicas that are still members, on top of
    /// the level, for <see cref="ClusterNodeSettings.ChangeGrace"/>: nodes learn of the end at different times, and one
    /// that has not yet reads from the previous replicas (a read at ONE through the replica a joiner displaced found
    /// its own copy without a write made through a node already on the new ring: simulator, a join with a source
    /// crashed and restarted on its remembered ring).
    /// </summary>
    private void ApplyChange(TokenRing? future, TokenRing previous)
    {
        if (future is null || future.IsEmpty || SameTokens(_ring, future))
        {
            if (_inFlight)
            {
                _inFlight = false;
                _changeSignature = 0;
                _gainers = [];
                _gains = [];
                _streamsInFlight.Clear();
                _gainerProgress.Clear();
                _bytesEstimate = 0;
                SetOtherRing(previous.IsEmpty || SameTokens(_ring, previous) ? null : previous);
                _graceStarting = _changeTokens.Length > 0;
            }
            else
            {
                SetOtherRing(_changeTokens.Length > 0 ? _future : null); // the grace goes on over the new membership
            }

            return;
        }

        var signature = Signature(_ring, future);
        _inFlight = true;
        _graceStarting = false;
        _graceUntil = DateTimeOffset.MaxValue;
        SetOtherRing(future);
        if (signature != _changeSignature)
        {
            _changeSignature = signature;
            PlanGains();
        }
    }

    /// <summary>Ends the grace after a change once it has lasted (Tick).</summary>
    private void TickChangeGrace(DateTimeOffset now)
    {
        if (_graceStarting)
        {
            _graceStarting = false;
            _graceUntil = now + _settings.ChangeGrace;
        }

        if (!_inFlight && _changeTokens.Length > 0 && now >= _graceUntil)
        {
            SetOtherRing(null);
            _graceUntil = DateTimeOffset.MaxValue;
        }
    }

    /// <summary>The ring whose replicas writes also go to (the future one during a change, the previous one in the grace after it); null: none.</summary>
    private void SetOtherRing(TokenRing? other)
    {
        if (other is null)
        {
            _future = TokenRing.Empty;
            _futurePlacement = null;
            _changeTokens = [];
            _pendingByChangeVnode = [];
            _writeNatural = [];
            _writeSloppy = [];
            return;
        }

        var future = other;
        _future = future;
        _futurePlacement = Placement.Create(future, _settings.Replication);
        var tokens = new SortedSet<ulong>();
        for (var v = 0; v < _ring.VnodeCount; v++)
        {
            tokens.Add(_ring.TokenAt(v).Value);
        }

        for (var v = 0; v < future.VnodeCount; v++)
        {
            tokens.Add(future.TokenAt(v).Value);
        }

        _changeTokens = [.. tokens];
        _pendingByChangeVnode = new NodeId[]?[_changeTokens.Length];
        _writeNatural = new Replicas?[_changeTokens.Length];
        _writeSloppy = new Replicas?[_changeTokens.Length];
    }

    /// <summary>This node's gains in the change, and every gainer, from the two rings.</summary>
    private void PlanGains()
    {
        _streamsStartAt = DateTimeOffset.MinValue;
        _gains = [];
        _streamsInFlight.Clear();
        _gainerProgress.Clear();
        var gainers = new SortedSet<NodeId>();
        var estimate = 0.0;
        for (var i = 0; i < _changeTokens.Length; i++)
        {
            var end = new Token(_changeTokens[i]);
            var start = new Token(_changeTokens[i == 0 ? _changeTokens.Length - 1 : i - 1]);
            var natural = _ring.IsEmpty ? [] : _placement.For(end);
            var future = _futurePlacement!.For(end);
            foreach (var node in future)
            {
                if (natural.IndexOf(node) < 0)
                {
                    gainers.Add(node);
                }
            }

            if (future.IndexOf(Self) < 0 || natural.IndexOf(Self) >= 0)
            {
                continue;
            }

            var sources = SourcesFor(natural, future);
            var (first, second) = TokenRange.FromRing(start, end);
            AddGain(first, sources);
            if (second is { } more)
            {
                AddGain(more, sources);
            }

            estimate += EstimateBytes(start, end, sources);
        }

        _gainers = [.. gainers];
        _bytesEstimate = (long)estimate;
        // The saved progress is kept until this node computes its change again: a restarted node's first views can be
        // partial (remembered members before gossip confirms them) and give other changes first.
        if (_resume is { } resume && resume.Signature == _changeSignature && resume.Ranges.Length == _gains.Count)
        {
            _resume = null;
            for (var i = 0; i < _gains.Count; i++)
            {
                var saved = resume.Ranges[i];
                var gain = _gains[i];
                if (saved.First == gain.First && saved.Last == gain.Last && !saved.Sources.IsEmpty)
                {
                    gain.Sources = [.. saved.Sources];
                    gain.SourceIndex = Math.Clamp(saved.SourceIndex, 0, gain.Sources.Length);
                    gain.Cursor = Math.Clamp(saved.Cursor, gain.First, gain.Last);
                    gain.Done = saved.Done;
                }
            }
        }
    }

    private void AddGain(TokenRange range, NodeId[] sources) =>
        _gains.Add(new StreamRange { First = range.First.Value, Last = range.Last.Value, Cursor = range.First.Value, Sources = sources });

    /// <summary>
    /// Where a gained range comes from: the live current replica the future ring drops (it holds what the range had),
    /// else every live current replica, merged (the one dropped is DOWN: a removal or replacement).
    /// </summary>
    private NodeId[] SourcesFor(ReadOnlySpan<NodeId> natural, ReadOnlySpan<NodeId> future)
    {
        foreach (var node in natural)
        {
            if (future.IndexOf(node) < 0 && IsAlive(node))
            {
                return [node];
            }
        }

        return LiveOthers(natural);
    }

    /// <summary>The live replicas of <paramref name="replicas"/> other than this node (a range's sources when the one it drops is DOWN).</summary>
    private NodeId[] LiveOthers(ReadOnlySpan<NodeId> replicas)
    {
        var alive = new List<NodeId>(replicas.Length);
        foreach (var node in replicas)
        {
            if (IsAlive(node) && node != Self)
            {
                alive.Add(node);
            }
        }

        return [.. alive];
    }

    private int GainsDone()
    {
        var done = 0;
        foreach (var g in _gains)
        {
            done += g.Done ? 1 : 0;
        }

        return done;
    }

    private double EstimateBytes(Token start, Token end, NodeId[] sources)
    {
        if (sources.Length == 0 || !_storedBytes.TryGetValue(sources[0], out var stored) || stored == 0)
        {
            return 0;
        }

        // The source's bytes per token of what it replicates, times the tokens gained.
        UInt128 replicated = 0;
        foreach (var range in _placement.RangesOf(sources[0]))
        {
            replicated += (UInt128)(range.Last.Value - range.First.Value) + 1;
        }

        return replicated == 0 ? 0 : stored * (double)TokenRing.RangeSize(start.Value, end.Value) / (double)replicated;
    }

    private int OwnPermille()
    {
        if (_gains.Count == 0)
        {
            return 1000;
        }

        double total = 0, done = 0;
        foreach (var g in _gains)
        {
            var size = (double)(g.Last - g.First) + 1;
            var sources = Math.Max(1, g.Sources.Length);
            total += size;
            done += g.Done ? size : ((g.SourceIndex * size) + (double)(g.Cursor - g.First)) / sources;
        }

        return done >= total ? 1000 : Math.Min(999, (int)(done * 1000 / total));
    }

    /// <summary>The replicas a write at <paramref name="level"/> goes to: <see cref="ReplicasFor"/>, and the range's pending replicas after them.</summary>
    private Replicas WriteReplicasFor(ulong token, ConsistencyLevel level)
    {
        var replicas = ReplicasFor(token, level);
        if (_changeTokens.Length == 0)
        {
            return replicas;
        }

        var i = Array.BinarySearch(_changeTokens, token);
        i = i >= 0 ? i : ~i;
        i = i == _changeTokens.Length ? 0 : i;
        var pending = _pendingByChangeVnode[i] ??= PendingAt(_changeTokens[i]);
        if (pending.Length == 0)
        {
            return replicas;
        }

        var cache = ReferenceEquals(replicas, ReplicasOf(token)) ? _writeNatural : _writeSloppy;
        return cache[i] ??= WithPending(replicas, pending);
    }

    /// <summary>The future ring's replicas of the range ending at <paramref name="token"/> the current ring does not make replicas.</summary>
    private NodeId[] PendingAt(ulong token)
    {
        var natural = _ring.IsEmpty ? [] : _placement.For(new Token(token));
        var pending = new List<NodeId>();
        foreach (var node in _futurePlacement!.For(new Token(token)))
        {
            // In the grace after a change, only live nodes still in the ring: a node that left or was removed answers no
            // more, and a DOWN one serves no stale read (it was the reason to write it), so it would only cost availability.
            if (natural.IndexOf(node) < 0 && (_inFlight || (_ring.Contains(node) && IsAlive(node))))
            {
                pending.Add(node);
            }
        }

        return [.. pending];
    }

    private Replicas WithPending(Replicas replicas, NodeId[] pending)
    {
        var nodes = new List<NodeId>(replicas.Nodes);
        var intended = new List<NodeId>(replicas.IntendedFor);
        foreach (var node in pending)
        {
            if (!nodes.Contains(node))
            {
                nodes.Add(node);
                intended.Add(node);
            }
        }

        return Replicas.Of(this, [.. nodes], [.. intended], replicas.Nodes.Length);
    }

    /// <summary>
    /// Whether every live member of both rings has told this node it sees the same change (its answer to a progress
    /// request carries the change it computed), and a request timeout has passed since: only then do streams start.
    /// </summary>
    /// <remarks>
    /// Why: a coordinator that has not heard of the change yet sends a write to the current replicas only; if the
    /// replica a gainer streams from applied it after the stream's scan passed the key, the gainer would miss it, and
    /// once the displaced replica gives the range up the write could be on fewer than W of the future replicas (found
    /// by the decommission process test: 36 of 3,872 writes made during the change missing on the new owner). Once every
    /// live node routes by the change, each write also goes to the gainer; a write acknowledged under the old view was
    /// applied at the replicas that acknowledged it by its deadline, one request timeout at most (Cassandra waits its
    /// ring delay for the same reason). A DOWN member is not waited for: its view is refreshed by gossip before it
    /// coordinates again.
    /// </remarks>
    private bool StreamsMayStart(DateTimeOffset now, IOutbox outbox)
    {
        if (_streamsStartAt != DateTimeOffset.MinValue)
        {
            return now >= _streamsStartAt;
        }

        var waiting = false;
        foreach (var ring in (ReadOnlySpan<TokenRing>)[_ring, _future])
        {
            for (var m = 0; m < ring.MemberCount; m++)
            {
                var member = ring.MemberAt(m).Id;
                if (member == Self || !IsAlive(member)
                    || (_gainerProgress.TryGetValue(member, out var seen) && seen.Signature == _changeSignature))
                {
                    continue;
                }

                waiting = true;
                if (now >= _nextConfirmPoll)
                {
                    outbox.Send(member, new StreamProgressRequest(NewRequestId(), _changeSignature));
                }
            }
        }

        if (now >= _nextConfirmPoll)
        {
            _nextConfirmPoll = now + TimeSpan.FromMilliseconds(500);
        }

        if (!waiting)
        {
            _streamsStartAt = now + _settings.RequestTimeout;
        }

        return false;
    }

    private DateTimeOffset _streamsStartAt = DateTimeOffset.MinValue;
    private DateTimeOffset _nextConfirmPoll;

    /// <summary>Starts stream pages while budget and slots allow; polls gainers when asked to complete the change.</summary>
    private void TickStreams(DateTimeOffset now, IOutbox outbox)
    {
        if (_gains.Count == 0 || !StreamsMayStart(now, outbox))
        {
            return;
        }

        var ticks = now.UtcTicks;
        var rate = _settings.StreamRateBytesPerSecond;
        _streamBudget.Refill(rate, ticks);

        // A page whose answer or merges did not come in time is asked again (the cursor only moves once a page is merged).
        foreach (var gain in _gains)
        {
            if (gain.RequestId != 0 && now - gain.SentAt > StreamStepTimeout)
            {
                // Merges still to come of the abandoned page find no stream in flight and are ignored: the page comes again.
                _streamsInFlight.Remove(gain.RequestId);
                gain.RequestId = 0;
                gain.Merging = false;
                gain.MergesLeft = 0;
                gain.MergeFailed = false;
            }
        }

        foreach (var gain in _gains)
        {
            if (_streamsInFlight.Count >= StreamsInFlight || (rate > 0 && _streamBudget.Available <= 0))
            {
                return;
            }

            if (gain.Done || gain.RequestId != 0 || now < gain.RetryAt)
            {
                continue;
            }

            if (gain.SourceIndex >= gain.Sources.Length)
            {
                gain.Done = true;
                continue;
            }

            var source = gain.Sources[gain.SourceIndex];
            if (!IsAlive(source))
            {
                // The source went DOWN: the range starts over from every live current replica (merged).
                var alive = LiveOthers(_placement.For(new Token(gain.Last)));
                if (alive.Length == 0)
                {
                    gain.RetryAt = now + TimeSpan.FromSeconds(1);
                    continue;
                }

                gain.Sources = alive;
                gain.SourceIndex = 0;
                gain.Cursor = gain.First;
                source = gain.Sources[0];
            }

            gain.RequestId = NewRequestId();
            gain.SentAt = now;
            _streamsInFlight[gain.RequestId] = gain;
            outbox.Send(source, new StreamPageRequest(gain.RequestId, gain.Cursor, gain.Last, StreamPageRecords));
        }
    }

    /// <summary>Asks every other gainer how far it is (the node completing the change calls it; answers arrive as <see cref="StreamProgressReply"/>).</summary>
    public void PollGainers(DateTimeOffset now, IOutbox outbox)
    {
        if (!ChangeInFlight || now < _nextProgressPoll)
        {
            return;
        }

        _nextProgressPoll = now + TimeSpan.FromSeconds(1);
        foreach (var gainer in _gainers)
        {
            if (gainer != Self && IsAlive(gainer))
            {
                outbox.Send(gainer, new StreamProgressRequest(NewRequestId(), _changeSignature));
            }
        }
    }

    private void HandleStream(NodeId from, ClusterMessage message, DateTimeOffset now, IOutbox outbox)
    {
        switch (message)
        {
            case StreamPageRequest m:
                SubmitStorage(new StorageRequest(0, StorageOperation.Scan, [], default, m.First, m.Last, Math.Clamp(m.Limit, 1, 4096)),
                    StorageWait.ForPeer(from, m.RequestId, MessageKind.StreamPage));
                break;
            case StreamProgressRequest m:
                outbox.Send(from, new StreamProgressReply(m.RequestId, _changeSignature, _gains.Count, GainsDone(), OwnPermille(), _streamBytesIn));
                break;
            case StreamProgressReply m:
                _gainerProgress[from] = m;
                break;
            case StreamPageReply m:
                OnStreamPage(m, now, outbox);
                break;
        }
    }

    /// <summary>A page of a gained range arrived: its records are merged; the cursor moves once every merge is done.</summary>
    private void OnStreamPage(StreamPageReply page, DateTimeOffset now, IOutbox outbox)
    {
        if (!_streamsInFlight.TryGetValue(page.RequestId, out var gain) || gain.Merging)
        {
            return;
        }

        if (page.Status != ReplicaStatus.Ok)
        {
            _streamsInFlight.Remove(page.RequestId);
            gain.RequestId = 0;
            gain.RetryAt = now + TimeSpan.FromSeconds(1);
            return;
        }

        gain.Merging = true;
        gain.PageComplete = page.Complete;
        gain.PageNext = page.Next;
        long bytes = 0;
        foreach (var entry in page.Entries)
        {
            bytes += entry.Key.Length + (entry.Record.Set?.Length ?? 0);
        }

        _streamBytesIn += bytes;
        _streamKeysIn += page.Entries.Count;
        _streamBudget.Spend(bytes);
        if (page.Entries.Count == 0)
        {
            PageMerged(gain, now, outbox);
            return;
        }

        // The page goes to the store in bulk: what the store holds no version of is stored as it came, beside the write
        // path (the key's replica writes and merges would each be a read, a merge and a commit); what it gives back (the key
        // was held, or written while the page went in) is merged record by record, as replica writes are.
        gain.MergesLeft = 1;
        SubmitStorage(new StorageRequest(0, StorageOperation.Ingest, [], default, Entries: page.Entries),
            StorageWait.ForPeer(Self, page.RequestId, MessageKind.StreamPageReply) with { Ingest = true });
    }

    /// <summary>The local store answered a stream's merge (or a peer's stream page scan): true when it was one.</summary>
    private bool TryStreamStorage(in StorageWait wait, in StorageDone done, DateTimeOffset now, IOutbox outbox)
    {
        if (wait.Kind == MessageKind.StreamPage && wait.Peer is { } peer)
        {
            var entries = done.Entries ?? [];
            foreach (var entry in entries)
            {
                _streamBytesOut += entry.Key.Length + (entry.Record.Set?.Length ?? 0);
            }

            _streamKeysOut += entries.Count;
            outbox.Send(peer, new StreamPageReply(wait.RequestId, done.Status, entries, done.Complete, done.Next, done.Error));
            return true;
        }

        if (wait.Kind != MessageKind.StreamPageReply)
        {
            return false;
        }

        if (_streamsInFlight.TryGetValue(wait.RequestId, out var gain) && gain.Merging)
        {
            gain.MergeFailed |= done.Status != ReplicaStatus.Ok;
            var left = wait.Ingest && done.Status == ReplicaStatus.Ok ? done.Entries ?? [] : [];
            gain.MergesLeft += left.Count - 1;
            foreach (var entry in left)
            {
                SubmitStorage(new StorageRequest(0, StorageOperation.Merge, entry.Key, entry.Record), StorageWait.ForPeer(Self, wait.RequestId, MessageKind.StreamPageReply));
            }

            if (gain.MergesLeft == 0)
            {
                PageMerged(gain, now, outbox);
            }
        }

        return true;
    }

    private void PageMerged(StreamRange gain, DateTimeOffset now, IOutbox outbox)
    {
        _streamsInFlight.Remove(gain.RequestId);
        gain.RequestId = 0;
        gain.Merging = false;
        if (gain.MergeFailed)
        {
            gain.MergeFailed = false;
            gain.RetryAt = now + TimeSpan.FromSeconds(1); // the page is asked again
        }
        else if (gain.PageComplete)
        {
            gain.SourceIndex++;
            gain.Cursor = gain.First;
            gain.Done = gain.SourceIndex >= gain.Sources.Length;
        }
        else
        {
            gain.Cursor = gain.PageNext;
        }

        TickStreams(now, outbox);
    }

    private static bool SameTokens(TokenRing a, TokenRing b)
    {
        if (a.VnodeCount != b.VnodeCount || a.MemberCount != b.MemberCount)
        {
            return false;
        }

        for (var v = 0; v < a.VnodeCount; v++)
        {
            if (a.TokenAt(v) != b.TokenAt(v) || a.MemberAt(a.OwnerIndexAt(v)).Id != b.MemberAt(b.OwnerIndexAt(v)).Id)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A hash of both rings' (member, token) pairs: equal on every node that sees the same change.</summary>
    private static ulong Signature(TokenRing current, TokenRing future)
    {
        var h = 0x9E3779B97F4A7C15UL;
        foreach (var ring in (ReadOnlySpan<TokenRing>)[current, future])
        {
            for (var v = 0; v < ring.VnodeCount; v++)
            {
                h = Mix(h ^ ring.TokenAt(v).Value);
                foreach (var c in ring.MemberAt(ring.OwnerIndexAt(v)).Id.Name)
                {
                    h = Mix(h ^ c);
                }
            }

            h = Mix(h ^ 0xFF);
        }

        return h == 0 ? 1 : h;

        static ulong Mix(ulong x)
        {
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
            return x ^ (x >> 31);
        }
    }

    /// <summary>One range this node gains, and its stream.</summary>
    private sealed class StreamRange
    {
        public ulong First { get; init; }

        public ulong Last { get; init; }

        public NodeId[] Sources { get; set; } = [];

        public int SourceIndex { get; set; }

        /// <summary>The next token to ask the current source for.</summary>
        public ulong Cursor { get; set; }

        public bool Done { get; set; }

        /// <summary>The page request in flight (0: none).</summary>
        public ulong RequestId { get; set; }

        public DateTimeOffset SentAt { get; set; }

        public DateTimeOffset RetryAt { get; set; }

        public bool Merging { get; set; }

        public int MergesLeft { get; set; }

        public bool MergeFailed { get; set; }

        public bool PageComplete { get; set; }

        public ulong PageNext { get; set; }
    }
}
