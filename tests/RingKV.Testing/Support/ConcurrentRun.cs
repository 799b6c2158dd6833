using System;
using System.Threading;

namespace RingKV.Testing.Support;

/// <summary>Runs a body on several dedicated threads at once and reports the first failure.</summary>
public static class ConcurrentRun
{
    /// <summary>How long <see cref="OnThreads"/> waits for its threads unless told otherwise.</summary>
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Runs <paramref name="body"/>(0) to <paramref name="body"/>(<paramref name="threads"/> - 1), each on its own thread,
    /// released together once all have started; waits for all, then throws the first exception, naming its thread.
    /// </summary>
    /// <remarks>
    /// Dedicated threads rather than tasks: a body that blocks (a writer waiting for its group's fsync) must not
    /// starve the thread pool, and every thread must really run at once. A thread still running at
    /// <paramref name="deadline"/> (default <see cref="DefaultDeadline"/>) fails the run; it is left running as a
    /// background thread.
    /// </remarks>
    public static void OnThreads(int threads, Action<int> body, TimeSpan? deadline = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentNullException.ThrowIfNull(body);
        Exception? failure = null;
        var failedThread = -1;
        using var start = new CountdownEvent(threads);
        var running = new Thread[threads];
        for (var t = 0; t < threads; t++)
        {
            var index = t;
            running[t] = new Thread(() =>
            {
                start.Signal();
                start.Wait();
                try
                {
                    body(index);
                }
                catch (Exception e)
                {
                    if (Interlocked.CompareExchange(ref failure, e, null) is null)
                    {
                        failedThread = index;
                    }
                }
            })
            { IsBackground = true, Name = $"{nameof(ConcurrentRun)} {index}" };
            running[t].Start();
        }

        var until = DateTime.UtcNow + (deadline ?? DefaultDeadline);
        for (var t = 0; t < threads; t++)
        {
            var left = until - DateTime.UtcNow;
            if (!running[t].Join(left > TimeSpan.Zero ? left : TimeSpan.Zero))
            {
                throw new TimeoutException($"thread {t} of {threads} still running after {(deadline ?? DefaultDeadline).TotalSeconds}s");
            }
        }

        if (failure is not null)
        {
            throw new AggregateException($"thread {failedThread} of {threads} failed: {failure.Message}", failure);
        }
    }
}
