using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.ObjectPool;
using RingKV.Core.Errors;
using RingKV.Storage.Log;

namespace RingKV.Storage.Commit;

/// <summary>
/// Orders the engine's writes and makes them durable in groups: the writer queue, the group leader, the commit-log
/// append and sync, and the completion of waiters.
/// </summary>
/// <remarks>
/// Thread-safe. Requests queue in arrival order. One leader at a time takes the head of the queue and the requests
/// behind it (up to <see cref="MaxGroupBytes"/>) as a group: the target makes room and reserves sequence numbers, the
/// group is encoded as one log record, appended, fsynced when the sync policy or a <see cref="CommitKind.Sync"/> request
/// asks, applied to the memtable, and every request of it completes. Who leads:
/// <list type="number">
/// <item>a synchronous caller (<see cref="Commit"/>) that finds no leader leads on its own thread and may wait there (a
/// write stall, a new log segment, an fsync), as in LevelDB;</item>
/// <item>an asynchronous caller (<see cref="CommitAsync"/>) that finds no leader leads inline only when its group needs no
/// fsync and the target no wait or file I/O: the common case of a periodic or no sync policy costs no thread hop;</item>
/// <item>otherwise the commit thread leads: it takes over every group an asynchronous caller would have to wait for, and
/// the queue a leader of kind 1 or 2 leaves behind; it leads until the queue is empty.</item>
/// </list>
/// So no request thread of the server parks on an fsync or a stall (the reason for this type: a coordinator's socket
/// threads must never wait). Asynchronous requests complete from one thread-pool work item per group
/// (<see cref="CompletionBatch"/>), never under a lock and never on the leader's stack, because their continuations may
/// commit again. Rejected alternative: completing with <c>RunContinuationsAsynchronously</c>, one work item per request.
/// The periodic syncer (<see cref="SyncMode.Periodic"/>) fsyncs beside the queue, not in it (<see cref="CommitLogWriter.SyncAppended"/>),
/// so writers never wait for an fsync they did not ask for.
/// Invariants: (1) one leader at a time, so groups are prepared, appended and applied in sequence order; (2) a request
/// completes exactly once: after its group was appended (and synced when asked), applied and published, or with the
/// group's failure; (3) no leader means an empty queue.
/// </remarks>
internal sealed class CommitPipeline : IDisposable
{
    /// <summary>Largest write group, so one leader does not hold others for long.</summary>
    internal const int MaxGroupBytes = 1 << 20;

    /// <summary>Unsynced log bytes at which the periodic syncer runs before its period is up.</summary>
    internal const long EagerSyncBytes = 4L << 20;

    [ThreadStatic]
    private static CommitRequest? s_request;

    private readonly ICommitTarget _target;
    private readonly SyncPolicy _sync;
    private readonly StorageStatistics _stats;
    private readonly ObjectPool<CommitRequest> _requests;
    private readonly ObjectPool<CompletionBatch> _batches;
    private readonly Thread _commitThread;
    private readonly Thread? _syncThread;
    private readonly AutoResetEvent _leadSignal = new(false);
    private readonly AutoResetEvent _syncWake = new(false);
    private readonly ManualResetEventSlim _closed = new(false);
    private int _eagerSyncRequested;

    // Guarded by lock (_queue) (a monitor, for Dispose's wait).
    private readonly Queue<CommitRequest> _queue = new();
    private bool _leading;
    private bool _handedOff; // the leader gave the leadership to the commit thread, which has not taken it yet
    private bool _closing;

    // Owned by the current leader.
    private readonly List<CommitRequest> _group = [];

    public CommitPipeline(ICommitTarget target, SyncPolicy sync, StorageStatistics stats)
    {
        _target = target;
        _sync = sync;
        _stats = stats;
        var policy = new CommitRequest.Policy();
        _requests = new DefaultObjectPool<CommitRequest>(policy, 4096);
        policy.Pool = _requests;
        var batchPolicy = new CompletionBatch.Policy();
        _batches = new DefaultObjectPool<CompletionBatch>(batchPolicy, 256);
        batchPolicy.Pool = _batches;
        _commitThread = new Thread(CommitLoop) { IsBackground = true, Name = "ringkv-commit" };
        if (sync.Mode == SyncMode.Periodic)
        {
            _syncThread = new Thread(SyncLoop) { IsBackground = true, Name = "ringkv-log-sync" };
        }
    }

    /// <summary>Starts the commit thread and the periodic syncer.</summary>
    public void Start()
    {
        _commitThread.Start();
        _syncThread?.Start();
    }

    /// <summary>Commits and parks the calling thread until done: durable as the sync policy says (or synced, for <see cref="CommitKind.Sync"/>).</summary>
    public void Commit(CommitKind kind, WriteBatch? batch)
    {
        var request = s_request ??= new CommitRequest();
        request.ResetForWait();
        request.Kind = kind;
        request.Batch = batch;
        try
        {
            if (Enqueue(request))
            {
                Lead(request, canWait: true);
            }
            else
            {
                request.Wait();
            }
        }
        finally
        {
            request.Batch = null;
        }

        if (request.Error is { } error)
        {
            throw Wrap(error);
        }
    }

    /// <summary>Commits <paramref name="batch"/> without parking the caller; completes when durable as the sync policy says.</summary>
    /// <remarks>Requires: <paramref name="batch"/> unchanged until the task completes.</remarks>
    public ValueTask CommitAsync(WriteBatch batch)
    {
        var request = _requests.Get();
        request.Kind = CommitKind.Write;
        request.Batch = batch;
        var spin = _sync.Mode != SyncMode.Always;
        if (spin)
        {
            request.BeginSpin();
        }

        bool lead;
        try
        {
            lead = Enqueue(request);
        }
        catch
        {
            request.Release();
            throw;
        }

        if (!lead)
        {
            if (spin && SpinForLeader(request))
            {
                var failure = request.Error;
                request.Release();
                return failure is null ? default : ValueTask.FromException(Wrap(failure));
            }

            return new ValueTask(request, request.Version);
        }

        // Leading: nobody to spin for. Cleared before anything can hand the request to the commit thread, which would
        // otherwise claim it inline for a caller that never spins.
        request.EndSpin();

        if (_sync.Mode == SyncMode.Always)
        {
            HandOff();
            return new ValueTask(request, request.Version);
        }

        if (!Lead(request, canWait: false))
        {
            return new ValueTask(request, request.Version); // handed to the commit thread
        }

        var error = request.Error;
        request.Release();
        return error is null ? default : ValueTask.FromException(Wrap(error));
    }

    /// <summary>
    /// A follower whose group needs no fsync spins briefly for its leader (usually the other socket thread, inserting a
    /// group into the memtable for a few microseconds) instead of awaiting: true when the leader completed it meanwhile.
    /// </summary>
    /// <remarks>
    /// Why: an awaiting follower's continuation runs from the group's thread-pool work item, so its connection's reply
    /// and next receive move to a pool thread, a context switch or two per request at -P 1 where two socket threads
    /// meet (docs/benchmarks.md, "-P 1: the per-request path"). The spin is bounded (<see cref="FollowerSpins"/>, no
    /// sleeping): a leader that must wait (the commit thread on an fsync or a stall) is not spun for long, and the
    /// follower then awaits as before.
    /// </remarks>
    private static bool SpinForLeader(CommitRequest request)
    {
        var spinner = default(SpinWait);
        for (var i = 0; i < FollowerSpins; i++)
        {
            if (request.ClaimedWhileSpinning)
            {
                return true;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        return !request.EndSpin();
    }

    /// <summary>Spins of <see cref="SpinForLeader"/> (SpinWait's: busy at first, then yielding the core).</summary>
    private const int FollowerSpins = 40;

    /// <summary>Waits for queued commits to finish, then stops the commit thread and the syncer. Commits after this throw.</summary>
    public void Dispose()
    {
        lock (_queue)
        {
            while (_leading)
            {
                Monitor.Wait(_queue);
            }

            _closing = true;
        }

        _closed.Set();
        _leadSignal.Set();
        _commitThread.Join();
        _syncThread?.Join();
        _leadSignal.Dispose();
        _syncWake.Dispose();
        _closed.Dispose();
    }

    private static Exception Wrap(Exception error) =>
        error as RingKVException ?? new RingKVException(ErrorCode.IO, $"write failed: {error.Message}", error);

    /// <summary>Queues a request; true when the caller must lead (there was no leader, so the queue held only it).</summary>
    private bool Enqueue(CommitRequest request)
    {
        lock (_queue)
        {
            if (_closing)
            {
                ThrowHelper.Closed();
            }

            _queue.Enqueue(request);
            if (_leading)
            {
                return false;
            }

            _leading = true;
            return true;
        }
    }

    /// <summary>Gives the leadership to the commit thread. Requires: the caller leads, and stops leading now.</summary>
    private void HandOff()
    {
        lock (_queue)
        {
            _handedOff = true;
        }

        _leadSignal.Set();
    }

    /// <summary>
    /// Leads groups from the head of the queue. A caller's leader (<paramref name="own"/> set) leads its own group and hands
    /// what is left to the commit thread; the commit thread leads until the queue is empty. With <paramref name="canWait"/>
    /// false, a group that needs an fsync, a stall or file I/O is handed to the commit thread instead.
    /// Returns whether <paramref name="own"/> completed here (its outcome in <see cref="CommitRequest.Error"/>).
    /// </summary>
    private bool Lead(CommitRequest? own, bool canWait)
    {
        var ownDone = false;
        while (true)
        {
            var operations = 0;
            var sync = _sync.Mode == SyncMode.Always;
            TakeGroup(MaxGroupBytes, ref operations, ref sync);
            if (sync && !canWait)
            {
                // A Sync request joined an asynchronous leader's group: the fsync belongs on the commit thread.
                _group.Clear();
                HandOff();
                return ownDone;
            }

            Exception? failure = null;
            CommitSlot slot = default;
            try
            {
                if (!_target.TryPrepare(_group[0].Kind == CommitKind.Flush, canWait, out slot))
                {
                    _group.Clear();
                    HandOff();
                    return ownDone;
                }
            }
            catch (Exception e) when (e is RingKVException or IOException or UnauthorizedAccessException)
            {
                // Only the head learns of it; the next leader tries again for the rest (and meets a sticky error again).
                failure = e;
                _group.RemoveRange(1, _group.Count - 1);
            }

            failure ??= Run(slot, operations, sync);

            // Completed while still leading, because _group is the leader's: a completed request may be queued again at
            // once (its waiter's next commit), behind the group's entries, which leave the head of the queue next.
            var completed = _group.Count;
            ownDone |= Complete(own, failure);
            bool more;
            lock (_queue)
            {
                for (var i = 0; i < completed; i++)
                {
                    _queue.Dequeue();
                }

                more = _queue.Count > 0;
                if (!more)
                {
                    _leading = false;
                    Monitor.PulseAll(_queue); // Dispose waits for the last leader
                }
            }

            if (!more)
            {
                return ownDone;
            }

            if (own is not null)
            {
                HandOff(); // the rest of the queue goes to the commit thread; this caller's reply should not wait for it
                return ownDone;
            }
        }
    }

    /// <summary>Takes the head and the requests queued behind it into <see cref="_group"/>, up to <paramref name="limitBytes"/> (the head always).</summary>
    private void TakeGroup(int limitBytes, ref int operations, ref bool sync)
    {
        _group.Clear();
        var bytes = 0;
        lock (_queue)
        {
            foreach (var request in _queue)
            {
                if (_group.Count > 0 && (request.Kind == CommitKind.Flush || bytes + request.ByteSize > limitBytes))
                {
                    break;
                }

                _group.Add(request);
                bytes += request.ByteSize;
                operations += request.Operations;
                sync |= request.Kind == CommitKind.Sync;
            }
        }
    }

    /// <summary>Appends, syncs and applies the group; returns its failure, or null.</summary>
    private Exception? Run(in CommitSlot slot, int operations, bool sync)
    {
        var log = slot.Log;
        try
        {
            if (operations > 0)
            {
                var record = _target.Encode(slot, _group, operations);
                log.Append(record);
                StorageStatistics.Add(ref _stats._bytesWrittenToLog, record.Length);
                if (sync)
                {
                    log.Sync();
                    StorageStatistics.Increment(ref _stats._logSyncs);
                }
                else if (_syncThread is not null && log.UnsyncedBytes >= EagerSyncBytes && Interlocked.Exchange(ref _eagerSyncRequested, 1) == 0)
                {
                    _syncWake.Set();
                }

                _target.Apply(slot, record[LogFormat.HeaderSize..], operations);
            }
            else if (sync && log.HasUnsynced)
            {
                log.Sync();
                StorageStatistics.Increment(ref _stats._logSyncs);
            }

            return null;
        }
        catch (Exception e)
        {
            // Loop boundary for the whole group: every request in it gets the failure, none is left waiting.
            if (e is IOException or UnauthorizedAccessException)
            {
                _target.Fail(e);
            }

            return e;
        }
    }

    /// <summary>Completes the group's requests: parked threads now, awaiters from one work item. Returns whether <paramref name="own"/> was among them.</summary>
    private bool Complete(CommitRequest? own, Exception? failure)
    {
        var ownDone = false;
        CompletionBatch? batch = null;
        foreach (var request in _group)
        {
            if (ReferenceEquals(request, own))
            {
                ownDone = true;
                if (request.IsAsync)
                {
                    request.CompleteInline(failure); // its caller reads the outcome on return: no continuation to run
                }
                else
                {
                    request.Complete(failure);
                }
            }
            else if (request.IsAsync)
            {
                if (!request.TryCompleteSpinning(failure))
                {
                    batch ??= _batches.Get();
                    batch.Add(request);
                }
            }
            else
            {
                request.Complete(failure);
            }
        }

        _group.Clear();
        if (batch is not null)
        {
            batch.Failure = failure;
            ThreadPool.UnsafeQueueUserWorkItem(batch, preferLocal: false);
        }

        return ownDone;
    }

    private void CommitLoop()
    {
        var wake = new WaitHandle[] { _closed.WaitHandle, _leadSignal };
        while (true)
        {
            WaitHandle.WaitAny(wake);
            bool lead;
            lock (_queue)
            {
                if (_closing && !_leading)
                {
                    return;
                }

                lead = _handedOff;
                _handedOff = false;
            }

            if (lead)
            {
                Lead(own: null, canWait: true);
            }
        }
    }

    /// <summary>
    /// Under periodic sync, fsyncs the log every period when it holds unsynced records, and sooner once it holds
    /// <see cref="EagerSyncBytes"/> of them.
    /// </summary>
    /// <remarks>
    /// The early sync bounds what a segment switch must fsync (the old segment is synced before the new one takes
    /// records, so a power loss cannot leave a gap, and the leader does it).
    /// </remarks>
    private void SyncLoop()
    {
        var wake = new WaitHandle[] { _closed.WaitHandle, _syncWake };
        while (WaitHandle.WaitAny(wake, _sync.Period) != 0)
        {
            Volatile.Write(ref _eagerSyncRequested, 0);
            if (_target.LogToSync() is not { } log)
            {
                continue;
            }

            try
            {
                log.SyncAppended();
                StorageStatistics.Increment(ref _stats._logSyncs);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _target.Fail(e); // sticky: writers see it; an unsynced log is not trusted on
            }
        }
    }

    /// <summary>The asynchronous requests of one group, completed from one thread-pool work item.</summary>
    private sealed class CompletionBatch : IThreadPoolWorkItem
    {
        private readonly List<CommitRequest> _requests = [];

        public ObjectPool<CompletionBatch>? Pool { get; set; }

        public Exception? Failure { get; set; }

        public void Add(CommitRequest request) => _requests.Add(request);

        public void Execute()
        {
            var failure = Failure;
            foreach (var request in _requests)
            {
                request.Complete(failure); // runs the awaiter's continuation here
            }

            _requests.Clear();
            Failure = null;
            Pool!.Return(this);
        }

        internal sealed class Policy : IPooledObjectPolicy<CompletionBatch>
        {
            public ObjectPool<CompletionBatch>? Pool { get; set; }

            public CompletionBatch Create() => new() { Pool = Pool };

            public bool Return(CompletionBatch obj) => true;
        }
    }
}
