using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using System.Threading.Tasks.Sources;

namespace RingKV.Server.Store;

/// <summary>Mutual exclusion per stripe that a holder may keep across an await: no thread owns it, and a waiter awaits.</summary>
/// <remarks>
/// Thread-safe. A stripe is free (0), held (1), or held with waiters (2). Acquiring a free stripe is one compare-exchange
/// and completes synchronously; releasing a stripe without waiters is another. Waiters queue per stripe (FIFO) under one
/// shared lock, which only contended stripes touch. Release hands the stripe straight to the first waiter, whose
/// continuation runs on the thread pool: never on the releaser's stack (it may still hold other stripes) and never under
/// the shared lock. Rejected alternative: <see cref="Lock"/> per stripe, as before; it is owned by a thread, so a write
/// that awaits its commit could not hold it.
/// </remarks>
internal sealed class StripeLocks
{
    private const int Free = 0;
    private const int Held = 1;
    private const int Contended = 2;

    private readonly int[] _states;
    private readonly Lock _waitersLock = new();
    private readonly Dictionary<int, Queue<Waiter>> _waiters = [];
    private readonly Stack<Waiter> _pool = new();

    public StripeLocks(int count)
    {
        _states = new int[count];
    }

    /// <summary>Stripes in all.</summary>
    public int Count => _states.Length;

    /// <summary>Takes <paramref name="stripe"/>; completes synchronously when it is free.</summary>
    public ValueTask AcquireAsync(int stripe)
    {
        if (Interlocked.CompareExchange(ref _states[stripe], Held, Free) == Free)
        {
            return default;
        }

        return AcquireSlow(stripe);
    }

    /// <summary>Takes <paramref name="stripe"/> if free, without waiting.</summary>
    public bool TryAcquire(int stripe) => Interlocked.CompareExchange(ref _states[stripe], Held, Free) == Free;

    /// <summary>Gives <paramref name="stripe"/> up, to its first waiter if any. Requires: the caller holds it.</summary>
    public void Release(int stripe)
    {
        if (Interlocked.CompareExchange(ref _states[stripe], Free, Held) == Held)
        {
            return;
        }

        Waiter next;
        lock (_waitersLock)
        {
            var queue = _waiters[stripe];
            next = queue.Dequeue();
            if (queue.Count == 0)
            {
                _waiters.Remove(stripe);
                Volatile.Write(ref _states[stripe], Held); // handed over, nobody else waits
            }
        }

        ThreadPool.UnsafeQueueUserWorkItem(static w => w.Grant(), next, preferLocal: false);
    }

    private ValueTask AcquireSlow(int stripe)
    {
        Waiter waiter;
        lock (_waitersLock)
        {
            while (true)
            {
                var state = Volatile.Read(ref _states[stripe]);
                if (state == Free && Interlocked.CompareExchange(ref _states[stripe], Held, Free) == Free)
                {
                    return default;
                }

                // Mark the stripe contended so its holder's release comes here; retry when it was released meanwhile.
                if (state == Contended || Interlocked.CompareExchange(ref _states[stripe], Contended, Held) == Held)
                {
                    break;
                }
            }

            waiter = _pool.Count > 0 ? _pool.Pop() : new Waiter(this);
            if (!_waiters.TryGetValue(stripe, out var queue))
            {
                queue = new Queue<Waiter>();
                _waiters[stripe] = queue;
            }

            queue.Enqueue(waiter);
        }

        return new ValueTask(waiter, waiter.Version);
    }

    private void Return(Waiter waiter)
    {
        lock (_waitersLock)
        {
            if (_pool.Count < 1024)
            {
                _pool.Push(waiter);
            }
        }
    }

    private sealed class Waiter(StripeLocks owner) : IValueTaskSource
    {
        private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = false };

        public short Version => _core.Version;

        public void Grant() => _core.SetResult(true);

        public void GetResult(short token)
        {
            try
            {
                _core.GetResult(token);
            }
            finally
            {
                _core.Reset();
                owner.Return(this);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
