using System;
using System.Threading;
using System.Threading.Tasks.Sources;
using Microsoft.Extensions.ObjectPool;

namespace RingKV.Storage.Commit;

/// <summary>What a queued commit asks for.</summary>
internal enum CommitKind : byte
{
    /// <summary>Write a batch.</summary>
    Write,

    /// <summary>Make every write before it durable now, whatever the sync policy.</summary>
    Sync,

    /// <summary>Freeze the memtable even when it is not full (it leads its own group).</summary>
    Flush,
}

/// <summary>One queued commit and the way its caller waits: a parked thread (<see cref="CommitPipeline.Commit"/>) or an awaiter.</summary>
/// <remarks>
/// Ownership: a synchronous request is kept per thread and reused; an asynchronous one is rented from the pipeline's
/// pool by <see cref="CommitPipeline.CommitAsync"/> and returns to it when its awaiter reads the result, so a commit
/// allocates nothing. The batch must not change until the request completes.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The slim event holds no kernel handle unless one is asked for; requests live as long as their thread or pool.")]
internal sealed class CommitRequest : IValueTaskSource
{
    private readonly ManualResetEventSlim? _signal;
    private readonly ObjectPool<CommitRequest>? _pool;
    private ManualResetValueTaskSourceCore<bool> _core;

    /// <summary>A request whose caller parks its thread until it completes.</summary>
    public CommitRequest()
    {
        _signal = new ManualResetEventSlim(false, spinCount: 100);
    }

    /// <summary>A request whose caller awaits; it goes back to <paramref name="pool"/> once its result is read.</summary>
    public CommitRequest(ObjectPool<CommitRequest> pool)
    {
        _pool = pool;
        // Continuations run inline where the request is completed: the pipeline completes from a thread-pool work item of
        // its own (CompletionBatch), never under a lock or on a leader's stack.
        _core.RunContinuationsAsynchronously = false;
    }

    public WriteBatch? Batch { get; set; }

    public CommitKind Kind { get; set; }

    /// <summary>True when the caller awaits rather than parks.</summary>
    public bool IsAsync => _pool is not null;

    /// <summary>Bytes this request adds to a group.</summary>
    public int ByteSize => Batch?.ByteSize ?? 0;

    /// <summary>Operations this request adds to a group.</summary>
    public int Operations => Batch?.Count ?? 0;

    /// <summary>Set by the leader before <see cref="Complete"/>: the group's failure, or null.</summary>
    public Exception? Error { get; private set; }

    /// <summary>Prepares a synchronous request for its next commit.</summary>
    public void ResetForWait()
    {
        Error = null;
        _signal!.Reset();
    }

    /// <summary>Parks the calling thread until <see cref="Complete"/> (synchronous requests only).</summary>
    public void Wait() => _signal!.Wait();

    /// <summary>The token of the current asynchronous use.</summary>
    public short Version => _core.Version;

    /// <summary>Records the outcome and wakes the waiter: the parked thread, or the awaiter's continuation inline.</summary>
    public void Complete(Exception? error)
    {
        Error = error;
        if (_signal is not null)
        {
            _signal.Set();
        }
        else if (error is null)
        {
            _core.SetResult(true);
        }
        else
        {
            _core.SetException(error);
        }
    }

    /// <summary>Records the outcome of an asynchronous request whose caller led its group and reads the outcome itself.</summary>
    public void CompleteInline(Exception? error) => Error = error;

    // The spin handshake of an asynchronous follower (CommitPipeline.CommitAsync): NotSpinning, Spinning (its caller
    // spins for the leader), or ClaimedInline (the leader completed it while its caller spun: no continuation to run).
    private const int NotSpinning = 0, Spinning = 1, ClaimedInline = 2;
    private int _spin;

    /// <summary>Marks an asynchronous request as spun for by its caller; call before it is queued.</summary>
    public void BeginSpin() => Volatile.Write(ref _spin, Spinning);

    /// <summary>
    /// The leader's side: when the caller still spins, records the outcome for it to read and returns true (nothing to
    /// schedule); false when the caller gave up spinning and awaits (complete it as any awaiter).
    /// </summary>
    public bool TryCompleteSpinning(Exception? error)
    {
        if (Volatile.Read(ref _spin) != Spinning)
        {
            return false;
        }

        Error = error; // written before the claim, so a caller that sees the claim reads it
        return Interlocked.CompareExchange(ref _spin, ClaimedInline, Spinning) == Spinning;
    }

    /// <summary>The caller's side: true once the leader claimed the request inline (the outcome is in <see cref="Error"/>).</summary>
    public bool ClaimedWhileSpinning => Volatile.Read(ref _spin) == ClaimedInline;

    /// <summary>
    /// The caller stops spinning: true when it must await the request (the leader will complete it as an awaiter), false
    /// when the leader claimed it inline meanwhile.
    /// </summary>
    public bool EndSpin() => Interlocked.CompareExchange(ref _spin, NotSpinning, Spinning) == Spinning;

    /// <summary>Returns an asynchronous request to its pool without it having been awaited (it completed inline).</summary>
    public void Release()
    {
        Batch = null;
        Error = null;
        _spin = NotSpinning;
        _core.Reset();
        _pool!.Return(this);
    }

    void IValueTaskSource.GetResult(short token)
    {
        try
        {
            _core.GetResult(token);
        }
        finally
        {
            Release();
        }
    }

    System.Threading.Tasks.Sources.ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    /// <summary>Creates pooled asynchronous requests.</summary>
    internal sealed class Policy : IPooledObjectPolicy<CommitRequest>
    {
        public ObjectPool<CommitRequest>? Pool { get; set; }

        public CommitRequest Create() => new(Pool!);

        public bool Return(CommitRequest obj) => true;
    }
}
