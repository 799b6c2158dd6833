using System;
using System.Threading;
using System.Threading.Tasks;
using System.Threading.Tasks.Sources;

namespace RingKV.Net.Peers;

/// <summary>An auto-reset wake-up for one async waiter, with no allocation per wait.</summary>
/// <remarks>
/// Thread-safe for any number of <see cref="Set"/> callers and one waiter at a time. Sets coalesce: a set with no
/// waiter is remembered once and consumed by the next <see cref="WaitAsync"/>. The waiter resumes on the thread
/// pool, never inside <see cref="Set"/>, so a producer's call returns at once (and an async method awaiting it is
/// queued as its own work item, which allocates nothing).
/// </remarks>
internal sealed class AsyncSignal : IValueTaskSource
{
    private const int Idle = 0;
    private const int Signaled = 1;
    private const int Waiting = 2;

    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private int _state;

    /// <summary>Completes when <see cref="Set"/> is called, or at once if it was since the last wait.</summary>
    public ValueTask WaitAsync()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Signaled) == Signaled)
        {
            return ValueTask.CompletedTask;
        }

        // No one completes the core before _state is Waiting, so resetting it here is safe.
        _core.Reset();
        if (Interlocked.CompareExchange(ref _state, Waiting, Idle) == Signaled)
        {
            Volatile.Write(ref _state, Idle);
            return ValueTask.CompletedTask;
        }

        return new ValueTask(this, _core.Version);
    }

    /// <summary>Wakes the waiter, or the next one to wait.</summary>
    public void Set()
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if (state == Signaled)
            {
                return;
            }

            if (state == Idle)
            {
                if (Interlocked.CompareExchange(ref _state, Signaled, Idle) == Idle)
                {
                    return;
                }

                continue;
            }

            if (Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
            {
                _core.SetResult(true);
                return;
            }
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
