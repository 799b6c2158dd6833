using System;
using System.Diagnostics;

namespace RingKV.Server.Cluster;

/// <summary>
/// The load figures a node gossips (the autoscaler's input): client requests coordinated per second, their p99 latency,
/// and the process's CPU use, over the window since the last <see cref="Window"/> call (about a second).
/// </summary>
/// <remarks>
/// Latencies go to power-of-two microsecond buckets (a p99 within a factor of two is what a scaling decision needs),
/// recorded on the node loop thread only: no allocation, no lock. <see cref="Window"/> is called on the same thread.
/// </remarks>
internal sealed class LoadMeter
{
    private readonly long[] _buckets = new long[40];
    private long _count;
    private DateTimeOffset _windowStart = DateTimeOffset.MinValue;
    private TimeSpan _cpuAtStart;

    /// <summary>A request the loop took at <paramref name="startedAt"/> (Stopwatch ticks) was answered now.</summary>
    public void Record(long startedAt)
    {
        var micros = (long)Stopwatch.GetElapsedTime(startedAt).TotalMicroseconds;
        var bucket = micros <= 1 ? 0 : Math.Min(_buckets.Length - 1, 64 - (int)ulong.LeadingZeroCount((ulong)micros));
        _buckets[bucket]++;
        _count++;
    }

    /// <summary>The figures of the window that ends now, and a new window started.</summary>
    public (ulong OperationsPerSecond, ulong P99Micros, ulong CpuPermille) Window(DateTimeOffset now)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        if (_windowStart == DateTimeOffset.MinValue)
        {
            _windowStart = now;
            _cpuAtStart = cpu;
            Array.Clear(_buckets);
            _count = 0;
            return (0, 0, 0);
        }

        var seconds = Math.Max(0.001, (now - _windowStart).TotalSeconds);
        var ops = (ulong)(_count / seconds);
        ulong p99 = 0;
        if (_count > 0)
        {
            var rank = (long)Math.Ceiling(_count * 0.99);
            long seen = 0;
            for (var b = 0; b < _buckets.Length; b++)
            {
                seen += _buckets[b];
                if (seen >= rank)
                {
                    p99 = b == 0 ? 1UL : 1UL << b; // the bucket's upper bound
                    break;
                }
            }
        }

        var cpuPermille = (ulong)Math.Max(0, (cpu - _cpuAtStart).TotalSeconds / seconds * 1000);
        _windowStart = now;
        _cpuAtStart = cpu;
        Array.Clear(_buckets);
        _count = 0;
        return (ops, p99, cpuPermille);
    }
}
