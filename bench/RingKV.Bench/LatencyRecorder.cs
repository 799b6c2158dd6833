using System;
using System.Diagnostics;

namespace RingKV.Bench;

/// <summary>Per-operation latencies in <see cref="Stopwatch"/> ticks, stored in one preallocated array.</summary>
/// <remarks>
/// Exact percentiles, no histogram error: the array is sorted once after the timed loop. Worker threads write
/// disjoint slices, so recording takes no lock. Allocated once for the largest workload and reused.
/// </remarks>
internal sealed class LatencyRecorder
{
    private readonly long[] _ticks;

    /// <summary>Preallocates room for <paramref name="capacity"/> operations.</summary>
    public LatencyRecorder(long capacity)
    {
        _ticks = new long[capacity];
    }

    /// <summary>The slice a worker writes its latencies into. Requires: start + count &lt;= capacity.</summary>
    public Span<long> Slice(long start, long count) => _ticks.AsSpan(checked((int)start), checked((int)count));

    /// <summary>Sorts the first <paramref name="ops"/> latencies and returns (p50, p99) in microseconds.</summary>
    public (double P50Micros, double P99Micros) Percentiles(long ops)
    {
        if (ops == 0)
        {
            return (0, 0);
        }

        var span = _ticks.AsSpan(0, checked((int)ops));
        span.Sort();
        return (ToMicros(span[Rank(ops, 0.50)]), ToMicros(span[Rank(ops, 0.99)]));
    }

    /// <summary>Nearest-rank percentile index.</summary>
    private static int Rank(long ops, double quantile) => (int)Math.Clamp((long)Math.Ceiling(quantile * ops) - 1, 0, ops - 1);

    private static double ToMicros(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
}
