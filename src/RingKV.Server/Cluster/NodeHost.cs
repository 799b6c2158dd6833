using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using System.Threading.Tasks.Sources;
using Microsoft.Extensions.Logging;
using RingKV.Cluster;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Membership;
using RingKV.Cluster.Messages;
using RingKV.Core.Errors;
using RingKV.Core.Random;
using RingKV.Net.Peers;
using RingKV.Storage;

namespace RingKV.Server.Cluster;

/// <summary>
/// Runs one <see cref="NodeMachine"/> for real: a loop thread that owns it, the internode listener and links, the
/// replica store over the engine, and the persisted state a restart needs (generation, tokens, clock lease).
/// </summary>
/// <remarks>
/// Every event (a client request, a peer's frames, a storage answer, a tick) is queued and handled on the loop thread,
/// so the state machine needs no locks; I/O happens around it: sockets in <see cref="PeerListener"/>/<see cref="PeerLink"/>,
/// the engine's reads and writes on the loop until a write would wait, its scans on the thread pool. Sends made while
/// handling a batch of events leave in one flush per peer. Client requests complete their tasks asynchronously, never on
/// the loop thread.
/// </remarks>
internal sealed class NodeHost : IAsyncDisposable, IPeerFrameHandler, INodeOutbox
{
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LeaseLength = TimeSpan.FromSeconds(10);

    private readonly NodeMachine _machine;
    private readonly NodeStateFile _stateFile;
    private readonly PeerListener _listener;
    private readonly PeerHello _hello;
    private readonly PeerLinkOptions _linkOptions;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentQueue<Event> _events = new();
    private readonly ConcurrentQueue<StorageDone> _storageDone = new(); // the store's answers: a queue of their own, unboxed
    private readonly AutoResetEvent _wake = new(false);
    private readonly Dictionary<ulong, ClientCompletion> _clients = []; // loop thread only
    private readonly ConcurrentQueue<ClientCompletion> _spareCompletions = new();
    private readonly Dictionary<string, Peer> _links = new(StringComparer.Ordinal);
    private readonly HashSet<PeerLink> _toFlush = [];
    private readonly ArrayBufferWriter<byte> _encode = new(1024);
    private readonly Thread _thread;
    private readonly StorageEngine _engine;
    private readonly EngineReplicaStore _store;
    private readonly HintStore _hints;
    private DateTimeOffset _nextLoadAt;
    private readonly StreamStateFile _streamFile;
    private DateTimeOffset _nextStreamSaveAt;
    private StreamCheckpoint _savedCheckpoint = StreamCheckpoint.None;
    private volatile bool _streamSaving;
    private (NodeState State, int Tokens) _persistedDescription;
    private readonly TaskCompletionSource<string?> _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset _leftAt = DateTimeOffset.MinValue;
    private readonly LoadMeter _load = new();
    private ulong _nextClientId;
    private int _ringMembers;
    private int _sleeping;
    private long _leaseUnixMs;
    private bool _leaseRenewing;
    private volatile bool _stopping;
    private RingKV.Cluster.Ring.TokenRing? _persistedRing;

    /// <param name="settings">The node's settings.</param>
    /// <param name="engine">The node's data.</param>
    /// <param name="hintEngine">Where the node keeps hints for DOWN replicas (<see cref="HintStore.OpenEngine"/>); the host disposes it.</param>
    /// <param name="loggers">Logging.</param>
    /// <param name="time">The clock.</param>
    public NodeHost(NodeHostSettings settings, StorageEngine engine, StorageEngine hintEngine, ILoggerFactory loggers, TimeProvider time)
    {
        _logger = loggers.CreateLogger("ringkv.cluster");
        _engine = engine;
        _time = time;
        _stateFile = new NodeStateFile(settings.DataDirectory);
        var persisted = _stateFile.Load();
        if (persisted.State == NodeState.Left)
        {
            throw new RingKVException(ErrorCode.InvalidArgument, $"this node ({settings.Machine.Cluster.Self}) was decommissioned and has left the cluster; its data directory {settings.DataDirectory} is not used again: start it with a new data directory to join as a new node");
        }

        _streamFile = new StreamStateFile(settings.DataDirectory);
        var checkpoint = _streamFile.Load(out var streamProblem);
        var now = time.GetUtcNow();
        var generation = Math.Max(persisted.Generation + 1, (ulong)now.ToUnixTimeSeconds());

        // The clock starts above every stamp an earlier run could have issued (its lease), and the first lease is durable
        // before any write is stamped.
        var floor = Math.Max(persisted.ClockLeaseUnixMs, now.ToUnixTimeMilliseconds());
        _leaseUnixMs = floor + (long)LeaseLength.TotalMilliseconds;
        _stateFile.Save(persisted with { Generation = generation, ClockLeaseUnixMs = _leaseUnixMs });

        Stamps = StoredStamps.Open(settings.DataDirectory, engine, _logger);
        _hints = new HintStore(hintEngine, PostStorage);
        _tombstoneGrace = settings.TombstoneGrace;
        _nextPurgeAt = now + TimeSpan.FromSeconds(10); // not in the start-up rush
        var store = new EngineReplicaStore(engine, Stamps, PostStorage, time, _hints);
        _store = store;
        var machineSettings = settings.Machine with
        {
            Generation = generation,
            Tokens = persisted.Tokens,
            KnownMembers = persisted.Members,
            Cluster = settings.Machine.Cluster with { ClockFloorUnixMs = floor },
            InitialState = persisted.Tokens.IsDefaultOrEmpty ? null : persisted.State,
            StreamCheckpoint = checkpoint,
        };
        if (streamProblem is not null)
        {
            _logger.LogWarning("{Problem}", streamProblem);
        }
        _machine = new NodeMachine(machineSettings, store, new SplitMix64((long)((ulong)now.UtcTicks ^ generation)));
        _machine.Node.SetClockLease(_leaseUnixMs);
        _hello = new PeerHello(settings.ClusterName, settings.Machine.Cluster.Self.Name, 1);

        // Outgoing connections leave from the listen address's IP, so peers see this node's own address (docs/membership.md).
        _linkOptions = new PeerLinkOptions(_hello) { LocalAddress = settings.PeerEndPoint.Address };
        _listener = new PeerListener(settings.PeerEndPoint, new PeerListenerOptions(_hello), this, loggers.CreateLogger("ringkv.peers"));
        _thread = new Thread(Run) { Name = "ringkv-node", IsBackground = true };
        if (_logger.IsEnabled(LogLevel.Information))
        {
            _logger.LogInformation("cluster node {Node} generation {Generation}, peers on {Peer} (advertised {Advertised}), seeds [{Seeds}], tokens {Tokens}",
                settings.Machine.Cluster.Self, generation, settings.PeerEndPoint, settings.Machine.PeerAddress, string.Join(",", settings.Machine.Seeds), persisted.Tokens.IsDefaultOrEmpty ? "to choose" : $"{persisted.Tokens.Length} persisted");
        }
    }

    /// <summary>
    /// Completes when the node is done: with null a few seconds after it turned LEFT (decommissioned; the delay lets
    /// gossip carry the news), or with the reason it cannot go on (a replace that cannot proceed). The server then stops.
    /// </summary>
    public Task<string?> Finished => _finished.Task;

    private void FinishWhenLeft(DateTimeOffset now)
    {
        if (_machine.StartError is { } error)
        {
            _finished.TrySetResult(error);
            return;
        }

        if (_machine.State != NodeState.Left)
        {
            return;
        }

        if (_leftAt == DateTimeOffset.MinValue)
        {
            _leftAt = now;
            if (_logger.IsEnabled(LogLevel.Information))
            {
                _logger.LogInformation("{Node} has left the cluster (decommissioned); stopping once gossip has spread it", Self);
            }
        }
        else if (now - _leftAt >= TimeSpan.FromSeconds(3) && _persistedDescription.State == NodeState.Left)
        {
            _finished.TrySetResult(null);
        }
    }

    /// <summary>Saves the stream checkpoint about once a second while it changes, off the loop thread.</summary>
    private void SaveStreamsWhenDue(DateTimeOffset now)
    {
        if (now < _nextStreamSaveAt || _streamSaving)
        {
            return;
        }

        _nextStreamSaveAt = now + TimeSpan.FromSeconds(1);
        var checkpoint = _machine.StreamCheckpoint;
        if (checkpoint.Signature == _savedCheckpoint.Signature && checkpoint.Ranges.SequenceEqual(_savedCheckpoint.Ranges, CheckpointRangeComparer.Instance))
        {
            return;
        }

        _streamSaving = true;
        _ = Task.Run(() =>
        {
            try
            {
                _streamFile.Save(checkpoint);
                _savedCheckpoint = checkpoint;
            }
            catch (System.IO.IOException ex)
            {
                _logger.LogWarning("cannot save the stream checkpoint to {Path} ({Error}); a restart would stream again from the last saved one", _streamFile.Path, ex.Message);
            }
            finally
            {
                _streamSaving = false;
            }
        });
    }

    private sealed class CheckpointRangeComparer : IEqualityComparer<StreamCheckpointRange>
    {
        public static readonly CheckpointRangeComparer Instance = new();

        public bool Equals(StreamCheckpointRange? x, StreamCheckpointRange? y) =>
            x is not null && y is not null && x.First == y.First && x.Last == y.Last && x.SourceIndex == y.SourceIndex
            && x.Cursor == y.Cursor && x.Done == y.Done && x.Sources.SequenceEqual(y.Sources);

        public int GetHashCode(StreamCheckpointRange obj) => HashCode.Combine(obj.First, obj.Cursor);
    }

    /// <summary>KV.DECOMMISSION: null when the node started leaving, else why not.</summary>
    public Task<string?> DecommissionAsync() =>
        InspectAsync(m => m.TryDecommission(_time.GetUtcNow(), this, out var error) ? null : error);

    /// <summary>KV.REMOVENODE: null when the removal started, else why not.</summary>
    public Task<string?> RemoveNodeAsync(string node) =>
        InspectAsync(m => m.TryRemoveNode(new NodeId(node), _time.GetUtcNow(), this, out var error) ? null : error);

    /// <summary>KV.CLEANUP: runs a cleanup to its end; the records it removed, or why it could not run.</summary>
    public async Task<(long Removed, string? Error)> CleanupAsync()
    {
        var (before, error) = await InspectAsync(m => (m.CleanupKeysRemoved, m.TryCleanup(_time.GetUtcNow(), this, out var e) ? null : e)).ConfigureAwait(false);
        if (error is not null)
        {
            return (0, error);
        }

        while (await InspectAsync(static m => m.Node.CleanupRunning).ConfigureAwait(false))
        {
            await Task.Delay(50).ConfigureAwait(false);
        }

        return (await InspectAsync(static m => m.CleanupKeysRemoved).ConfigureAwait(false) - before, null);
    }

    /// <summary>Tombstones the node removed after their grace, since start.</summary>
    public long TombstonesPurged => Interlocked.Read(ref _store.TombstonesPurged);

    /// <summary>
    /// Starts a purge of the tombstones older than the grace every quarter of the grace (at most hourly, at least every
    /// second), one at a time: a tombstone outlives its grace by at most that much.
    /// </summary>
    private void PurgeTombstonesWhenDue(DateTimeOffset now)
    {
        if (_tombstoneGrace <= TimeSpan.Zero || _purging || now < _nextPurgeAt)
        {
            return;
        }

        if (_machine.Node.ChangeInFlight)
        {
            // A purge reads every record: not beside a membership change's streams, which it would slow (a joining node's
            // first purge fell in its streams: 4% of the machine in the join benchmark). Tombstones only stay longer.
            _nextPurgeAt = now + TimeSpan.FromSeconds(10);
            return;
        }

        var every = TimeSpan.FromTicks(Math.Clamp(_tombstoneGrace.Ticks / 4, TimeSpan.TicksPerSecond, TimeSpan.TicksPerHour));
        _nextPurgeAt = now + every;
        _purging = true;
        var cutoff = (now - _tombstoneGrace).ToUnixTimeMilliseconds();
        _ = Task.Run(async () =>
        {
            try
            {
                await _store.PurgeTombstonesAsync(cutoff).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RingKV.Core.Errors.RingKVException or System.IO.IOException or ObjectDisposedException)
            {
                _logger.LogWarning("tombstone purge failed: {Error}", e.Message);
            }
            finally
            {
                _purging = false;
            }
        });
    }

    private readonly TimeSpan _tombstoneGrace;
    private DateTimeOffset _nextPurgeAt;
    private volatile bool _purging;

    /// <summary>Bounds on the stamps the replica stored, and how many writes went blind.</summary>
    public StoredStamps Stamps { get; }

    /// <summary>The node's id.</summary>
    public NodeId Self => _machine.Self;

    /// <summary>Members of the ring as of the last tick (readable from any thread).</summary>
    public int RingMembers => Volatile.Read(ref _ringMembers);

    /// <summary>Starts listening for peers and running the loop.</summary>
    public void Start()
    {
        _listener.Start();
        _thread.Start();
    }

    /// <summary>A fresh client request id (for <see cref="SubmitAsync"/>, so the request need not be copied to get one).</summary>
    public ulong NewClientId() => Interlocked.Increment(ref _nextClientId);

    /// <summary>Runs a client request through the coordinator; the task completes on the thread pool. Await it exactly once.</summary>
    /// <param name="request">The request; its id from <see cref="NewClientId"/>, or 0 to have one given.</param>
    public ValueTask<ClientReply> SubmitAsync(ClientRequest request)
    {
        if (request.Id == 0)
        {
            request = request with { Id = NewClientId() };
        }

        var completion = _spareCompletions.TryDequeue(out var spare) ? spare : new ClientCompletion(_spareCompletions);
        var task = completion.Prepare(request);
        Post(new Event(EventKind.Submit, completion));
        return task;
    }

    /// <summary>Runs <paramref name="read"/> on the loop thread (for INFO, KV.RING) and returns its result.</summary>
    public Task<T> InspectAsync<T>(Func<NodeMachine, T> read)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(new Event(EventKind.Call, new Action<NodeMachine>(m =>
        {
            try
            {
                completion.SetResult(read(m));
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                completion.SetException(e);
            }
        })));
        return completion.Task;
    }

    /// <summary>Starts a full anti-entropy pass on the loop thread (KV.REPAIR): null when it started, else why not (one is running, no ring yet).</summary>
    public Task<string?> StartRepairAsync() =>
        InspectAsync(m => m.TryStartRepair(_time.GetUtcNow(), this, out var error) ? null : error);

    /// <summary>The node's anti-entropy figures, a snapshot taken on the loop thread (INFO, KV.REPAIR STATUS).</summary>
    public Task<RingKV.Cluster.AntiEntropy.AntiEntropyFigures> RepairFiguresAsync() => InspectAsync(static m => m.Node.RepairFigures);

    public ValueTask OnBatchAsync(PeerFrameBatch batch)
    {
        try
        {
            var from = new NodeId(batch.RemoteNodeId);
            for (var i = 0; i < batch.Count; i++)
            {
                var frame = batch[i];
                if (MessageCodec.TryDecode((MessageKind)frame.Kind, frame.Payload.Span, out var message, out var error))
                {
                    Post(new Event(EventKind.Receive, message, from));
                }
                else
                {
                    _logger.LogWarning("dropped a frame of kind {Kind} from {Peer}: {Error}", frame.Kind, from, error);
                }
            }
        }
        finally
        {
            batch.Release();
        }

        return ValueTask.CompletedTask;
    }

    void INodeOutbox.Send(string peerAddress, NodeId? node, ClusterMessage message)
    {
        if (!_links.TryGetValue(peerAddress, out var entry))
        {
            if (!IPEndPoint.TryParse(peerAddress, out var endPoint))
            {
                _logger.LogWarning("cannot reach peer address {Address}: not host:port", peerAddress);
                return;
            }

            entry = new Peer(this, peerAddress);
            entry.Link = new PeerLink(endPoint, _linkOptions, entry, _logger);
            entry.Link.Start();
            _links[peerAddress] = entry;
        }

        if (node is { } known)
        {
            entry.Node = known;
        }

        var link = entry.Link;
        _encode.ResetWrittenCount();
        MessageCodec.Encode(message, _encode);
        var status = link.Send((byte)message.Kind, message.RequestId, _encode.WrittenSpan);
        if (status == PeerSendStatus.Queued)
        {
            _toFlush.Add(link);
            return;
        }

        // Not sent: a replica request is answered for the peer at once (after the current event), so the coordinator
        // asks another replica or answers now instead of at its deadline; BUSY when the link's queue is full.
        if (node is { } peer && IsReplicaRequest(message.Kind))
        {
            var busy = status == PeerSendStatus.Busy;
            var why = busy ? $"the link to {peerAddress} is full" : $"{peerAddress} is not reachable ({status})";
            Post(new Event(EventKind.Receive, FailedReply(message.Kind, message.RequestId, busy ? ReplicaStatus.Busy : ReplicaStatus.Error, why), peer));
        }
    }

    private static bool IsReplicaRequest(MessageKind kind) =>
        kind is MessageKind.ReplicaRead or MessageKind.ReplicaWrite or MessageKind.ReplicaScan or MessageKind.ReplicaCount or MessageKind.ReplicaFlush
        or MessageKind.CoordinateWrite;

    /// <summary>The reply a replica request of <paramref name="kind"/> gets when it could not be delivered. Requires: <see cref="IsReplicaRequest"/>.</summary>
    private static ClusterMessage FailedReply(MessageKind kind, ulong requestId, ReplicaStatus status, string why) => kind switch
    {
        MessageKind.ReplicaRead => new ReplicaReadReply(requestId, status, ReplicaRecord.None, why),
        MessageKind.ReplicaWrite => new ReplicaWriteReply(requestId, status, why),
        MessageKind.ReplicaScan => new ReplicaScanReply(requestId, status, [], false, 0, why),
        MessageKind.ReplicaCount => new ReplicaCountReply(requestId, status, 0, 0, 0, why),
        MessageKind.CoordinateWrite => new CoordinateWriteReply(requestId, status == ReplicaStatus.Busy ? ClientStatus.Busy : ClientStatus.Unavailable,
            status == ReplicaStatus.Busy ? $"BUSY {why}" : $"UNAVAILABLE the write's coordinating replica: {why}"),
        _ => new ReplicaFlushReply(requestId, status, why),
    };

    /// <summary>
    /// Replica requests a link gave up on (held while it connected and the attempt failed, or queued on a connection
    /// that broke) are answered for the peer on the loop thread, as a refused send is, so the coordinator asks another
    /// replica or answers now instead of at its deadline. The frame may still have been delivered; a later real reply
    /// from that replica is then ignored (the coordinator counts one reply per replica).
    /// </summary>
    private void OnFramesFailed(Peer entry, ReadOnlySpan<PeerFrameId> frames)
    {
        if (_stopping)
        {
            return; // the loop has ended; pending clients are answered by DisposeAsync
        }

        List<PeerFrameId>? requests = null;
        foreach (var frame in frames)
        {
            if (IsReplicaRequest((MessageKind)frame.Kind))
            {
                (requests ??= []).Add(frame);
            }
        }

        if (requests is null)
        {
            return;
        }

        Post(new Event(EventKind.Call, new Action<NodeMachine>(m =>
        {
            if (entry.Node is not { } node)
            {
                return;
            }

            var why = $"{entry.Address} is not reachable (the connection failed before the request left)";
            foreach (var frame in requests)
            {
                m.Receive(node, FailedReply((MessageKind)frame.Kind, frame.RequestId, ReplicaStatus.Error, why), _time.GetUtcNow(), this);
            }
        })));
    }

    void INodeOutbox.Reply(ulong clientRequestId, ClientReply reply)
    {
        if (_clients.Remove(clientRequestId, out var completion))
        {
            _load.Record(completion.StartedAt);
            completion.SetResult(reply);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        _wake.Set();
        if (_thread.IsAlive)
        {
            await Task.Run(() => _thread.Join(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        }

        await _listener.DisposeAsync().ConfigureAwait(false);
        foreach (var entry in _links.Values)
        {
            await entry.Link.DisposeAsync().ConfigureAwait(false);
        }

        // The loop has ended (or is stuck past the join: then leave its state alone): answer what it held and what it never took.
        if (!_thread.IsAlive)
        {
            var shuttingDown = new ClientReply(ClientStatus.Unavailable, "UNAVAILABLE the node is shutting down");
            foreach (var pending in _clients.Values)
            {
                pending.SetResult(shuttingDown);
            }

            _clients.Clear();
            while (_events.TryDequeue(out var e))
            {
                (e.Payload as ClientCompletion)?.SetResult(shuttingDown);
            }
        }

        _wake.Dispose();
        _hints.Dispose();
    }

    private void Post(in Event e)
    {
        _events.Enqueue(e);
        Wake();
    }

    private void PostStorage(StorageDone done)
    {
        _storageDone.Enqueue(done);
        Wake();
    }

    private void Wake()
    {
        // Only a sleeping loop needs the (system-call) wake; a running one finds the event when it drains the queues.
        if (Volatile.Read(ref _sleeping) == 1 && Interlocked.Exchange(ref _sleeping, 0) == 1)
        {
            _wake.Set();
        }
    }

    private void Run()
    {
        var nextTick = DateTimeOffset.MinValue;
        while (!_stopping)
        {
            var now = _time.GetUtcNow();
            if (now >= nextTick)
            {
                _machine.Tick(now, this);
                AfterTick(now);
                Volatile.Write(ref _ringMembers, _machine.Node.Ring.MemberCount);
                nextTick = now + TickInterval;
            }

            var more = true;
            while (more)
            {
                more = false;
                while (_events.TryDequeue(out var e))
                {
                    Handle(e, _time.GetUtcNow());
                    more = true;
                }

                while (_storageDone.TryDequeue(out var done))
                {
                    _machine.OnStorage(done, _time.GetUtcNow(), this);
                    more = true;
                }
            }

            _store.DispatchWrites();
            foreach (var link in _toFlush)
            {
                link.Flush();
            }

            _toFlush.Clear();
            var wait = nextTick - _time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                // Announce the sleep, then look again: an event posted before the announcement is seen here, one posted
                // after it wakes the wait.
                Interlocked.Exchange(ref _sleeping, 1); // a full fence: the store is seen before the queue is read
                if (_events.IsEmpty && _storageDone.IsEmpty)
                {
                    _wake.WaitOne(wait);
                }

                Volatile.Write(ref _sleeping, 0);
            }
        }
    }

    private void Handle(in Event e, DateTimeOffset now)
    {
        switch (e.Kind)
        {
            case EventKind.Submit:
                var completion = (ClientCompletion)e.Payload!;
                var request = completion.Request!;
                _clients.Add(request.Id, completion);
                completion.StartedAt = System.Diagnostics.Stopwatch.GetTimestamp();
                _machine.Submit(request, now, this);
                break;
            case EventKind.Receive:
                _machine.Receive(e.From, (ClusterMessage)e.Payload!, now, this);
                break;
            default:
                ((Action<NodeMachine>)e.Payload!)(_machine);
                break;
        }
    }

    /// <summary>Persists new tokens and renews the clock lease ahead of the clock, off the loop thread.</summary>
    private void AfterTick(DateTimeOffset now)
    {
        PurgeTombstonesWhenDue(now);
        if (now >= _nextLoadAt)
        {
            _nextLoadAt = now + TimeSpan.FromSeconds(1);
            long bytes = 0;
            foreach (var level in _engine.GetLevels())
            {
                bytes += level.Bytes;
            }

            var (ops, p99, cpu) = _load.Window(now);
            _machine.Gossiper.SetLoad(new LoadFigures((ulong)bytes, ops, p99, cpu));
        }

        SaveStreamsWhenDue(now);
        FinishWhenLeft(now);

        // The ring is rebuilt (a new instance) exactly when a member, its placement or its tokens change, this node's own
        // tokens included once it chose them: that is when the members and tokens are saved again.
        var ring = _machine.Node.Ring;
        var description = (_machine.State, _machine.Tokens.Length);
        var ringChanged = (!ring.IsEmpty && !ReferenceEquals(ring, _persistedRing)) || description != _persistedDescription;
        var leaseDue = _leaseUnixMs - now.ToUnixTimeMilliseconds() < LeaseLength.TotalMilliseconds / 2;
        if (_leaseRenewing || (!ringChanged && !leaseDue))
        {
            return;
        }

        _leaseRenewing = true;
        var lease = now.ToUnixTimeMilliseconds() + (long)LeaseLength.TotalMilliseconds;
        var state = new PersistedNodeState(_machine.Gossiper.LocalRecord.Generation, _machine.Tokens, Math.Max(lease, _leaseUnixMs), _machine.KnownMembers, _machine.State);
        _persistedRing = ring;
        _persistedDescription = description;
        _ = Task.Run(() =>
        {
            try
            {
                _stateFile.Save(state);
                Post(new Event(EventKind.Call, new Action<NodeMachine>(m =>
                {
                    _leaseUnixMs = state.ClockLeaseUnixMs;
                    m.Node.SetClockLease(_leaseUnixMs);
                    _leaseRenewing = false;
                })));
            }
            catch (System.IO.IOException ex)
            {
                _logger.LogError(ex, "cannot persist the node state to {Path}; writes stop when the clock lease ends", _stateFile.Path);
                Post(new Event(EventKind.Call, new Action<NodeMachine>(_ => _leaseRenewing = false)));
            }
        });
    }

    /// <summary>The link to one peer address, and the node last addressed there (both owned by the loop thread once created).</summary>
    private sealed class Peer(NodeHost host, string address) : IPeerLinkObserver
    {
        public string Address { get; } = address;

        public PeerLink Link { get; set; } = null!;

        public NodeId? Node { get; set; }

        // From the link's connect loop: NodeHost posts to its own loop.
        public void OnFramesFailed(PeerLink link, ReadOnlySpan<PeerFrameId> frames) => host.OnFramesFailed(this, frames);
    }

    private enum EventKind : byte
    {
        Submit,
        Receive,
        Call,
    }

    /// <summary>An event for the loop; <paramref name="From"/> is the sender of a received message (a field, so no tuple is boxed per message).</summary>
    private readonly record struct Event(EventKind Kind, object? Payload, NodeId From = default);

    /// <summary>
    /// A client request's completion, reused: the submitter awaits it exactly once, and the await's end returns it to the
    /// pool. Continuations run on the thread pool, never on the loop thread. Rejected: a TaskCompletionSource and a
    /// concurrent map of them per request (three objects and a lock-striped insert and removal on every GET and SET).
    /// </summary>
    private sealed class ClientCompletion(ConcurrentQueue<ClientCompletion> pool) : IValueTaskSource<ClientReply>
    {
        private ManualResetValueTaskSourceCore<ClientReply> _core = new() { RunContinuationsAsynchronously = true };

        public ClientRequest? Request { get; private set; }

        /// <summary>When the loop took the request (Stopwatch ticks): its latency is measured from here to the reply.</summary>
        public long StartedAt { get; set; }

        public ValueTask<ClientReply> Prepare(ClientRequest request)
        {
            Request = request;
            return new ValueTask<ClientReply>(this, _core.Version);
        }

        public void SetResult(ClientReply reply) => _core.SetResult(reply);

        public ClientReply GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                Request = null;
                _core.Reset();
                pool.Enqueue(this);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}

/// <summary>How a <see cref="NodeHost"/> runs: the node's machine settings (with the advertised peer address), where it listens for peers, where it keeps its state.</summary>
internal sealed record NodeHostSettings(NodeMachineSettings Machine, IPEndPoint PeerEndPoint, string DataDirectory, string ClusterName)
{
    /// <summary>How long a delete's tombstone is kept before it is removed (--tombstone-grace); zero: kept for ever.</summary>
    public TimeSpan TombstoneGrace { get; init; } = TimeSpan.FromDays(10);
}
