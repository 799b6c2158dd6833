using System;
using System.Collections.Generic;
using System.Globalization;

namespace RingKV.Cluster.Scaling;

/// <summary>The autoscale policy's settings: water marks per metric, the window and cooldown, the node range and the step.</summary>
/// <remarks>
/// Every mark is per node (the cluster's mean over its NORMAL nodes). Error messages name the <c>ringkv autoscale</c>
/// flags (<c>--low-ops</c>), so a bad value on the command line is named as it was typed.
/// </remarks>
internal sealed record AutoscaleSettings
{
    /// <summary>Operations per second per node.</summary>
    public WaterMarks Ops { get; init; }

    /// <summary>Bytes stored per node.</summary>
    public WaterMarks Bytes { get; init; }

    /// <summary>p99 latency per node, microseconds.</summary>
    public WaterMarks P99 { get; init; }

    /// <summary>CPU per node, percent of one core.</summary>
    public WaterMarks Cpu { get; init; }

    /// <summary>How long a metric must stay above its high mark (or every set metric below its low mark) before a decision.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long after a change completes nothing is decided, and no sample counts toward a window.</summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The fewest nodes; the policy never goes below max(this, the replication factor).</summary>
    public int MinNodes { get; init; } = 1;

    /// <summary>The most nodes.</summary>
    public int MaxNodes { get; init; } = 16;

    /// <summary>Nodes added or removed per decision (at most).</summary>
    public int Step { get; init; } = 1;

    /// <summary>The marks of <paramref name="metric"/>.</summary>
    public WaterMarks Marks(ScaleMetric metric) => metric switch
    {
        ScaleMetric.Ops => Ops,
        ScaleMetric.Bytes => Bytes,
        ScaleMetric.P99 => P99,
        _ => Cpu,
    };

    /// <summary>Every problem with these settings, each a sentence naming the flag; empty when they are usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (MinNodes < 1)
        {
            problems.Add($"--min must be at least 1, not {MinNodes}");
        }

        if (MaxNodes < MinNodes)
        {
            problems.Add($"--max ({MaxNodes}) must be at least --min ({MinNodes})");
        }

        if (Step < 1)
        {
            problems.Add($"--step must be at least 1, not {Step}");
        }

        if (Window < TimeSpan.Zero)
        {
            problems.Add($"--window must not be negative, not {Window}");
        }

        if (Cooldown < TimeSpan.Zero)
        {
            problems.Add($"--cooldown must not be negative, not {Cooldown}");
        }

        var any = false;
        foreach (var metric in Metrics)
        {
            var (high, low) = Marks(metric);
            var name = FlagName(metric);
            any |= high is not null || low is not null;
            foreach (var (mark, value) in new[] { ("high", high), ("low", low) })
            {
                if (value is { } v && (!double.IsFinite(v) || v < 0))
                {
                    problems.Add($"--{mark}-{name} must be a number >= 0, not {Text(v)}");
                }
            }

            if (high is { } h && low is { } l && !(l < h))
            {
                problems.Add($"--low-{name} ({Text(l)}) must be below --high-{name} ({Text(h)}): the band between them keeps the autoscaler from flapping");
            }

            if (high is 0)
            {
                problems.Add($"--high-{name} must be above 0: every load would be above it");
            }
        }

        if (!any)
        {
            problems.Add("no water mark is set: give at least one of --high-ops, --low-ops, --high-bytes, --low-bytes, --high-p99, --low-p99, --high-cpu, --low-cpu");
        }

        return problems;
    }

    /// <summary>Every metric, in the order reasons consider them.</summary>
    public static readonly ScaleMetric[] Metrics = [ScaleMetric.Ops, ScaleMetric.Bytes, ScaleMetric.P99, ScaleMetric.Cpu];

    /// <summary>The metric's part of its flags' names: ops, bytes, p99, cpu (high-ops, low-ops, ...).</summary>
    public static string FlagName(ScaleMetric metric) => metric switch
    {
        ScaleMetric.Ops => "ops",
        ScaleMetric.Bytes => "bytes",
        ScaleMetric.P99 => "p99",
        _ => "cpu",
    };

    private static string Text(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
