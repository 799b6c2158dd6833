using System;
using System.Collections.Generic;
using System.Threading;

namespace RingKV.Server.Diagnostics;

/// <summary>One latency event's history: what LATENCY LATEST and LATENCY HISTORY answer.</summary>
/// <param name="Name">The event ("command" or "fast-command").</param>
/// <param name="Samples">Up to <see cref="LatencyMonitor.HistoryLength"/> (unix seconds, milliseconds), oldest first, one per second (its highest).</param>
/// <param name="MaxMillis">The highest latency since the event was last reset.</param>
internal sealed record LatencyEvent(string Name, List<(long UnixSeconds, long Millis)> Samples, long MaxMillis);

/// <summary>
/// The node's latency monitor (Redis's LATENCY): commands that ran at least a threshold of milliseconds are
/// sampled per event, and every command's run time goes into a per-command histogram (LATENCY HISTOGRAM).
/// </summary>
/// <remarks>
/// Thread-safe. Events as Redis names them: "command" for a command without the fast flag, "fast-command" for one
/// with it; a threshold of 0 (the default, as Redis) turns sampling off, the histograms are always kept. A sample
/// per event per second, the highest; the newest 160 seconds with a sample are kept.
/// The histogram records a command in the power-of-two bucket of microseconds its run time falls in: one
/// <see cref="Interlocked"/> increment, nothing allocated.
/// </remarks>
internal sealed class LatencyMonitor(long thresholdMillis, int commandCount)
{
    /// <summary>Samples kept per event.</summary>
    public const int HistoryLength = 160;

    /// <summary>Histogram buckets: bucket b counts run times in [2^(b-1), 2^b) microseconds, b = 0 for under 1.</summary>
    public const int Buckets = 40;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Series> _events = new(StringComparer.Ordinal);
    private readonly long[] _histograms = new long[commandCount * Buckets];
    private long _thresholdMillis = thresholdMillis;

    /// <summary>latency-monitor-threshold: the least milliseconds a command is sampled at; 0 samples none.</summary>
    public long ThresholdMillis
    {
        get => Volatile.Read(ref _thresholdMillis);
        set => Volatile.Write(ref _thresholdMillis, value);
    }

    /// <summary>Records one run of the command at <paramref name="commandIndex"/> in the table; true when it is to be sampled (<see cref="Sample(bool, long, long)"/>).</summary>
    public bool Record(int commandIndex, long micros)
    {
        var bucket = micros <= 0 ? 0 : Math.Min(Buckets - 1, 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)micros));
        Interlocked.Increment(ref _histograms[(commandIndex * Buckets) + bucket]);
        var threshold = ThresholdMillis;
        return threshold > 0 && micros / 1000 >= threshold;
    }

    /// <summary>Samples a command <see cref="Record"/> found at or above the threshold, under its event.</summary>
    public void Sample(bool fast, long millis, long unixSeconds) => Sample(fast ? "fast-command" : "command", millis, unixSeconds);

    private void Sample(string name, long millis, long unixSeconds)
    {
        lock (_gate)
        {
            if (!_events.TryGetValue(name, out var series))
            {
                series = new Series();
                _events.Add(name, series);
            }

            series.Add(unixSeconds, millis);
        }
    }

    /// <summary>Every event with samples, by name.</summary>
    public List<LatencyEvent> Events()
    {
        lock (_gate)
        {
            var result = new List<LatencyEvent>();
            foreach (var (name, series) in _events)
            {
                result.Add(new LatencyEvent(name, [.. series.Samples], series.MaxMillis));
            }

            result.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            return result;
        }
    }

    /// <summary>Forgets the named events (every event when none is named); answers how many it forgot.</summary>
    public int Reset(IReadOnlyCollection<string> names)
    {
        lock (_gate)
        {
            if (names.Count == 0)
            {
                var all = _events.Count;
                _events.Clear();
                return all;
            }

            var removed = 0;
            foreach (var name in names)
            {
                removed += _events.Remove(name) ? 1 : 0;
            }

            return removed;
        }
    }

    /// <summary>
    /// The command's runs so far and its cumulative histogram: (upper bound in microseconds, runs at most that long)
    /// for each bucket that adds runs, as Redis's LATENCY HISTOGRAM lists them.
    /// </summary>
    public (long Calls, List<(long Micros, long Cumulative)> Histogram) Histogram(int commandIndex)
    {
        var histogram = new List<(long, long)>();
        long cumulative = 0;
        for (var b = 0; b < Buckets; b++)
        {
            var count = Volatile.Read(ref _histograms[(commandIndex * Buckets) + b]);
            if (count > 0)
            {
                cumulative += count;
                histogram.Add((1L << b, cumulative));
            }
        }

        return (cumulative, histogram);
    }

    private sealed class Series
    {
        public List<(long UnixSeconds, long Millis)> Samples { get; } = [];

        public long MaxMillis { get; private set; }

        public void Add(long unixSeconds, long millis)
        {
            MaxMillis = Math.Max(MaxMillis, millis);
            if (Samples.Count > 0 && Samples[^1].UnixSeconds == unixSeconds)
            {
                Samples[^1] = (unixSeconds, Math.Max(Samples[^1].Millis, millis)); // one sample per second, its highest
                return;
            }

            Samples.Add((unixSeconds, millis));
            if (Samples.Count > HistoryLength)
            {
                Samples.RemoveAt(0);
            }
        }
    }
}
