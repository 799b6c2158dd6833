using System;
using System.Collections.Generic;
using System.Globalization;

namespace RingKV.Cli.Admin;

/// <summary>The progress of one membership change's streams as the command line follows it: percent, bytes moved, rate and time left.</summary>
/// <remarks>
/// Pure: the caller adds samples with the time it took them. Rate and time left are measured over the last
/// <c>window</c> of samples, so they follow a stream that speeds up or is throttled, rather than the average since
/// the start (rejected: one slow first range would make a fast stream look slow to its end).
/// Not thread-safe.
/// </remarks>
internal sealed class StreamProgress(TimeSpan window)
{
    private readonly List<(TimeSpan At, double Percent, long Bytes)> _samples = [];

    /// <summary>The last percent added, 0 to 100.</summary>
    public double Percent => _samples.Count == 0 ? 0 : _samples[^1].Percent;

    /// <summary>The last byte count added: bytes moved since the change started.</summary>
    public long Bytes => _samples.Count == 0 ? 0 : _samples[^1].Bytes;

    /// <summary>Bytes per second over the window; null before two samples some time apart.</summary>
    public double? BytesPerSecond => _samples.Count < 2 ? null : Rate(_samples[0].At, _samples[0].Bytes, _samples[^1].At, _samples[^1].Bytes);

    /// <summary>Time left at the window's pace; zero at 100 %, null while the percent has not moved within the window.</summary>
    public TimeSpan? TimeLeft => _samples.Count == 0 ? null
        : Percent >= 100 ? TimeSpan.Zero
        : _samples.Count < 2 ? null
        : Remaining(_samples[0].At, _samples[0].Percent, _samples[^1].At, _samples[^1].Percent);

    /// <summary>
    /// Adds a sample taken at <paramref name="at"/> (since any fixed start; not before the last one) of
    /// <paramref name="percent"/> done and <paramref name="bytes"/> moved since the start, and drops those older than the window
    /// (keeping one at or before the window's start, so the rate spans the whole window).
    /// </summary>
    public void Add(TimeSpan at, double percent, long bytes)
    {
        _samples.Add((at, Math.Clamp(percent, 0, 100), Math.Max(0, bytes)));
        while (_samples.Count > 2 && _samples[1].At <= at - window)
        {
            _samples.RemoveAt(0);
        }
    }

    /// <summary>Bytes per second between two samples; null when no time passed between them. Bytes going down (a node restarted its counters) count as none.</summary>
    public static double? Rate(TimeSpan fromAt, long fromBytes, TimeSpan toAt, long toBytes)
    {
        var seconds = (toAt - fromAt).TotalSeconds;
        return seconds <= 0 ? null : Math.Max(0, toBytes - fromBytes) / seconds;
    }

    /// <summary>
    /// How long the rest takes at the pace between two samples: (100 - to) / ((to - from) / elapsed); null when the
    /// percent did not go up or no time passed; zero at 100.
    /// </summary>
    public static TimeSpan? Remaining(TimeSpan fromAt, double fromPercent, TimeSpan toAt, double toPercent)
    {
        if (toPercent >= 100)
        {
            return TimeSpan.Zero;
        }

        var seconds = (toAt - fromAt).TotalSeconds;
        var gained = toPercent - fromPercent;
        if (seconds <= 0 || gained <= 0)
        {
            return null;
        }

        var left = (100 - toPercent) * seconds / gained;
        return left >= TimeSpan.MaxValue.TotalSeconds / 2 ? null : TimeSpan.FromSeconds(Math.Ceiling(left));
    }

    /// <summary>What follows the bar: <c>12.3 MiB, 1.2 MiB/s, 0:35 left</c> (<c>?</c> for a rate or time not known yet).</summary>
    public string Detail() => Detail(Bytes, BytesPerSecond, TimeLeft);

    /// <summary>One line for a log or a redirected stdout: <c>title: 42.0%, 12.3 MiB, 1.2 MiB/s, 0:35 left</c>.</summary>
    public string Line(string title) => Line(title, Percent, Bytes, BytesPerSecond, TimeLeft);

    /// <summary><see cref="Detail()"/> of given values.</summary>
    public static string Detail(long bytes, double? bytesPerSecond, TimeSpan? left) =>
        $"{StatusReport.HumanBytes(bytes)}, {(bytesPerSecond is { } rate ? StatusReport.HumanBytes((long)rate) : "?")}/s, {Duration(left)} left";

    /// <summary><see cref="Line(string)"/> of given values.</summary>
    public static string Line(string title, double percent, long bytes, double? bytesPerSecond, TimeSpan? left) =>
        $"{title}: {percent.ToString("0.0", CultureInfo.InvariantCulture)}%, {Detail(bytes, bytesPerSecond, left)}";

    /// <summary><c>0:35</c>, <c>12:05</c>, <c>1:02:03</c>; <c>?</c> for null.</summary>
    public static string Duration(TimeSpan? span)
    {
        if (span is not { } value)
        {
            return "?";
        }

        var seconds = (long)Math.Ceiling(Math.Max(0, value.TotalSeconds));
        var (hours, minutes, rest) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        return hours > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{hours}:{minutes:00}:{rest:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{minutes}:{rest:00}");
    }
}
