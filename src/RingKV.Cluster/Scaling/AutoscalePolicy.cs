using System;
using System.Collections.Generic;
using System.Globalization;
using RingKV.Cluster.Membership;

namespace RingKV.Cluster.Scaling;

/// <summary>Decides, sample by sample, whether the cluster should grow, shrink or stay: the autoscaler's pure part.</summary>
/// <remarks>
/// Not thread-safe: one owner (the <c>ringkv autoscale</c> loop, or a test) calls <see cref="Decide"/> with each
/// sample and <see cref="Completed"/> when a change it decided is done. It reads no clock: a sample's time is its now.
/// Rules, in the order they are checked:
/// (1) A decision being applied (between a change returned by <see cref="Decide"/> and <see cref="Completed"/>), a node
///     JOINING or LEAVING (a change in flight, whoever started it), or a NORMAL node DOWN (replace or remove it first):
///     hold, and every window starts again. A change seen in flight that has finished starts the cooldown like one of
///     ours.
/// (2) Within the cooldown after a change completed: hold; samples then do not count toward any window, so two
///     decisions are at least cooldown + window apart.
/// (3) Fewer NORMAL nodes than the floor max(min, replication factor): scale out toward it; more than max: scale in
///     toward it (both at most a step).
/// (4) Scale out by min(step, max - n) when some metric's per-node mean stayed above its high mark for the whole window
///     (the longest-held wins; ties go to the first in <see cref="AutoscaleSettings.Metrics"/> order).
/// (5) Scale in by k = min(step, n - floor, removable nodes) when every metric with a low mark stayed below it for the
///     whole window, and for every metric with a high mark the projected mean after removing k nodes,
///     mean × n / (n - k), stays below that high mark (by more than rounding: <see cref="ProjectionMargin"/>). That projection is the hysteresis that keeps it from flapping:
///     the load a scale in leaves never asks for a scale out by itself.
/// Which nodes a scale in removes: the NORMAL, UP, removable nodes with the highest ids, highest first, comparing ids
/// with their digit runs as numbers (node10 after node9; a StatefulSet's ringkv-10 after ringkv-9): the node that
/// joined last for both local clusters and StatefulSets, and deterministic whatever the order of the sample.
/// A metric no node reports is neither above nor below its marks. The mean is over the NORMAL nodes that report it:
/// adding nodes spreads the mean; one hot node is not a reason to scale (it is a hot key or a sick disk).
/// </remarks>
internal sealed class AutoscalePolicy
{
    /// <summary>
    /// Relative margin below a high mark within which a scale in's projection counts as reaching the mark. A load that
    /// sat exactly on the mark (one ulp above it: a scale out) and was then spread over more nodes comes back from the
    /// projection an ulp below it; without the margin that steady load would be scaled out and straight back in.
    /// </summary>
    private const double ProjectionMargin = 1e-9;

    private readonly AutoscaleSettings _settings;

    /// <summary>Per metric: the first sample of the current unbroken run above its high mark (null: not above).</summary>
    private readonly DateTimeOffset?[] _aboveSince = new DateTimeOffset?[AutoscaleSettings.Metrics.Length];

    /// <summary>Per metric: the first sample of the current unbroken run below its low mark (null: not below).</summary>
    private readonly DateTimeOffset?[] _belowSince = new DateTimeOffset?[AutoscaleSettings.Metrics.Length];

    /// <summary>The end of the cooldown: samples before it decide nothing and count toward no window.</summary>
    private DateTimeOffset? _quietUntil;

    /// <summary>A change this policy decided is being applied: <see cref="Completed"/> not yet called.</summary>
    private ScaleDecision? _applying;

    /// <summary>The last sample showed a change in flight: when one shows none, that change has completed.</summary>
    private bool _sawInFlight;

    /// <exception cref="ArgumentException">The settings have a problem (<see cref="AutoscaleSettings.Problems"/>); the message lists each.</exception>
    public AutoscalePolicy(AutoscaleSettings settings)
    {
        var problems = settings.Problems();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems), nameof(settings));
        }

        _settings = settings;
    }

    /// <summary>The settings decided by.</summary>
    public AutoscaleSettings Settings => _settings;

    /// <summary>
    /// The decision for <paramref name="sample"/>. A scale out or in is returned once: the policy then holds until
    /// <see cref="Completed"/> says the change is done (applied, failed, or skipped in a dry run).
    /// </summary>
    public ScaleDecision Decide(LoadSample sample)
    {
        var now = sample.At;
        var normal = new List<NodeLoad>();
        var inFlight = new List<string>();
        var down = new List<string>();
        foreach (var node in Sorted(sample.Nodes))
        {
            switch (node.State)
            {
                case NodeState.Joining or NodeState.Leaving:
                    inFlight.Add($"{node.Id} {(node.State == NodeState.Joining ? "JOINING" : "LEAVING")}");
                    break;
                case NodeState.Normal:
                    normal.Add(node);
                    if (!node.Up)
                    {
                        down.Add(node.Id);
                    }

                    break;
            }
        }

        var n = normal.Count;
        if (_applying is { } applying)
        {
            return Hold($"{applying.Summary} is being applied", n);
        }

        if (inFlight.Count > 0)
        {
            _sawInFlight = true;
            ResetRuns();
            return Hold($"a membership change is in flight ({string.Join(", ", inFlight)}): no decision until it completes", n);
        }

        if (_sawInFlight)
        {
            _sawInFlight = false;
            StartCooldown(now);
        }

        if (down.Count > 0)
        {
            ResetRuns();
            return Hold($"{string.Join(", ", down)} {(down.Count == 1 ? "is" : "are")} DOWN: replace or remove {(down.Count == 1 ? "it" : "them")} first (ringkv serve --replace, KV.REMOVENODE)", n);
        }

        if (_quietUntil is { } quiet && now < quiet)
        {
            return Hold($"cooldown: {Seconds(quiet - now)} left of {Seconds(_settings.Cooldown)} after the last change", n);
        }

        var floor = Math.Max(_settings.MinNodes, sample.ReplicationFactor);
        if (floor > _settings.MaxNodes)
        {
            return Hold($"the floor max(min {_settings.MinNodes}, replication {sample.ReplicationFactor}) = {floor} is above max {_settings.MaxNodes}: raise max", n);
        }

        if (n < floor)
        {
            var add = Math.Min(_settings.Step, floor - n);
            return Decided(ScaleDecision.Out(add, $"{n} NORMAL node(s), below the floor max(min {_settings.MinNodes}, replication {sample.ReplicationFactor}) = {floor}: adding {add} ({n} -> {n + add})", n));
        }

        if (n > _settings.MaxNodes)
        {
            var remove = Removable(normal, Math.Min(_settings.Step, n - _settings.MaxNodes));
            return remove.Count == 0
                ? Hold($"{n} NORMAL nodes, above max {_settings.MaxNodes}, but none is removable (managed by the provider)", n)
                : Decided(ScaleDecision.In(remove, $"{n} NORMAL nodes, above max {_settings.MaxNodes}: removing {string.Join(", ", remove)} ({n} -> {n - remove.Count})", n));
        }

        var means = new double?[AutoscaleSettings.Metrics.Length];
        foreach (var metric in AutoscaleSettings.Metrics)
        {
            var i = (int)metric;
            var (high, low) = _settings.Marks(metric);
            var mean = Mean(normal, metric);
            means[i] = mean;
            _aboveSince[i] = mean is { } m && high is { } h && m > h ? _aboveSince[i] ?? now : null;
            _belowSince[i] = mean is { } m2 && low is { } l && m2 < l ? _belowSince[i] ?? now : null;
        }

        return ScaleOut(now, n, means) ?? ScaleIn(now, n, floor, normal, means);
    }

    /// <summary>The change last decided is done (applied, failed, or not applied in a dry run) at <paramref name="now"/>: the cooldown starts.</summary>
    public void Completed(DateTimeOffset now)
    {
        _applying = null;
        _sawInFlight = false;
        StartCooldown(now);
    }

    /// <summary>Rule (4): a scale out; a hold when a metric is above its high mark (not yet for the window, or at max); or null to look at scaling in.</summary>
    private ScaleDecision? ScaleOut(DateTimeOffset now, int n, double?[] means)
    {
        ScaleMetric? best = null;
        var held = TimeSpan.Zero;
        foreach (var metric in AutoscaleSettings.Metrics)
        {
            if (_aboveSince[(int)metric] is { } since && now - since >= _settings.Window && (best is null || now - since > held))
            {
                best = metric;
                held = now - since;
            }
        }

        if (best is not { } hot)
        {
            foreach (var metric in AutoscaleSettings.Metrics)
            {
                if (_aboveSince[(int)metric] is { } since)
                {
                    return Hold($"{Describe(metric, means[(int)metric]!.Value)} above the high mark {Describe(metric, _settings.Marks(metric).High!.Value)} for {Seconds(now - since)} of the {Seconds(_settings.Window)} window", n);
                }
            }

            return null;
        }

        var what = $"{Describe(hot, means[(int)hot]!.Value)} above the high mark {Describe(hot, _settings.Marks(hot).High!.Value)} for {Seconds(held)} (window {Seconds(_settings.Window)})";
        if (n >= _settings.MaxNodes)
        {
            return Hold($"{what}, but the cluster is at max {_settings.MaxNodes}", n);
        }

        var add = Math.Min(_settings.Step, _settings.MaxNodes - n);
        return Decided(ScaleDecision.Out(add, $"{what}: adding {add} ({n} -> {n + add})", n));
    }

    /// <summary>Rule (5): a scale in, or a hold saying what keeps it from one.</summary>
    private ScaleDecision ScaleIn(DateTimeOffset now, int n, int floor, List<NodeLoad> normal, double?[] means)
    {
        var lows = new List<string>();
        var shortest = TimeSpan.MaxValue;
        foreach (var metric in AutoscaleSettings.Metrics)
        {
            var i = (int)metric;
            if (_settings.Marks(metric).Low is not { } low)
            {
                continue;
            }

            if (means[i] is not { } mean)
            {
                return Hold($"{FlagName(metric)} is not reported by any node: no scale in on low-{FlagName(metric)}", n);
            }

            if (_belowSince[i] is not { } since)
            {
                return Hold($"load within the marks ({Summary(means)})", n);
            }

            var held = now - since;
            if (held < _settings.Window)
            {
                return Hold($"{Describe(metric, mean)} below the low mark {Describe(metric, low)} for {Seconds(held)} of the {Seconds(_settings.Window)} window", n);
            }

            shortest = held < shortest ? held : shortest;
            lows.Add($"{Describe(metric, mean)} below the low mark {Describe(metric, low)}");
        }

        if (lows.Count == 0)
        {
            return Hold($"load within the marks ({Summary(means)}); no low mark is set, so no scale in", n);
        }

        var what = $"{string.Join(", ", lows)} for {Seconds(shortest)} (window {Seconds(_settings.Window)})";
        var candidates = Removable(normal, Math.Min(_settings.Step, n - floor));
        if (candidates.Count == 0)
        {
            return Hold(n <= floor
                ? $"{what}, but the cluster is at the floor max(min {_settings.MinNodes}, replication factor) = {floor}"
                : $"{what}, but no NORMAL node is removable (managed by the provider)", n);
        }

        var k = candidates.Count;
        var projections = new List<string>();
        foreach (var metric in AutoscaleSettings.Metrics)
        {
            var i = (int)metric;
            if (_settings.Marks(metric).High is not { } high || means[i] is not { } mean)
            {
                continue;
            }

            var projected = mean * n / (n - k);
            if (projected >= high * (1 - ProjectionMargin))
            {
                return Hold($"{what}, but removing {k} would put {Describe(metric, projected)} on {n - k} nodes, not below the high mark {Describe(metric, high)}", n);
            }

            projections.Add($"{Describe(metric, projected)}");
        }

        var projection = projections.Count == 0 ? "" : $"; projected {string.Join(", ", projections)} on {n - k} nodes stays below the high marks";
        return Decided(ScaleDecision.In(candidates, $"{what}: removing {string.Join(", ", candidates)} ({n} -> {n - k}){projection}", n));
    }

    private ScaleDecision Decided(ScaleDecision decision)
    {
        _applying = decision;
        ResetRuns();
        return decision;
    }

    private static ScaleDecision Hold(string reason, int n) => ScaleDecision.Hold(reason, n);

    private void StartCooldown(DateTimeOffset now)
    {
        _quietUntil = now + _settings.Cooldown;
        ResetRuns();
    }

    private void ResetRuns()
    {
        Array.Clear(_aboveSince);
        Array.Clear(_belowSince);
    }

    /// <summary>The <paramref name="count"/> removable, UP nodes with the highest ids, highest first.</summary>
    private static List<string> Removable(List<NodeLoad> normal, int count)
    {
        var chosen = new List<string>();
        for (var i = normal.Count - 1; i >= 0 && chosen.Count < count; i--)
        {
            if (normal[i].Removable && normal[i].Up)
            {
                chosen.Add(normal[i].Id);
            }
        }

        return chosen;
    }

    private static double? Mean(List<NodeLoad> nodes, ScaleMetric metric)
    {
        var sum = 0.0;
        var count = 0;
        foreach (var node in nodes)
        {
            if (node.Value(metric) is { } value)
            {
                sum += value;
                count++;
            }
        }

        return count == 0 ? null : sum / count;
    }

    /// <summary>The nodes by id, digit runs compared as numbers.</summary>
    private static List<NodeLoad> Sorted(IReadOnlyList<NodeLoad> nodes)
    {
        var sorted = new List<NodeLoad>(nodes);
        sorted.Sort(static (a, b) => CompareIds(a.Id, b.Id));
        return sorted;
    }

    /// <summary>Orders ids with their digit runs compared as numbers (node9 before node10), then ordinally, so the order is total.</summary>
    public static int CompareIds(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            if (char.IsAsciiDigit(a[i]) && char.IsAsciiDigit(b[j]))
            {
                var startA = i;
                var startB = j;
                while (i < a.Length && char.IsAsciiDigit(a[i]))
                {
                    i++;
                }

                while (j < b.Length && char.IsAsciiDigit(b[j]))
                {
                    j++;
                }

                var digitsA = a.AsSpan(startA, i - startA).TrimStart('0');
                var digitsB = b.AsSpan(startB, j - startB).TrimStart('0');
                var order = digitsA.Length != digitsB.Length ? digitsA.Length.CompareTo(digitsB.Length) : digitsA.SequenceCompareTo(digitsB);
                if (order != 0)
                {
                    return order;
                }
            }
            else
            {
                if (a[i] != b[j])
                {
                    return a[i].CompareTo(b[j]);
                }

                i++;
                j++;
            }
        }

        var rest = (a.Length - i).CompareTo(b.Length - j);
        return rest != 0 ? rest : string.CompareOrdinal(a, b);
    }

    private string Summary(double?[] means)
    {
        var parts = new List<string>();
        foreach (var metric in AutoscaleSettings.Metrics)
        {
            if (_settings.Marks(metric).IsSet)
            {
                parts.Add(means[(int)metric] is { } mean ? Describe(metric, mean) : $"{FlagName(metric)} not reported");
            }
        }

        return string.Join(", ", parts);
    }

    private static string FlagName(ScaleMetric metric) => AutoscaleSettings.FlagName(metric);

    /// <summary>A metric's value with its unit: <c>ops/s 1200</c>, <c>bytes 1.5 GiB</c>, <c>p99 2300 µs</c>, <c>cpu 85.0 %</c>.</summary>
    public static string Describe(ScaleMetric metric, double value) => metric switch
    {
        ScaleMetric.Ops => "ops/s " + value.ToString("0", CultureInfo.InvariantCulture),
        ScaleMetric.Bytes => "bytes " + Bytes(value),
        ScaleMetric.P99 => "p99 " + value.ToString("0", CultureInfo.InvariantCulture) + " µs",
        _ => "cpu " + value.ToString("0.0", CultureInfo.InvariantCulture) + " %",
    };

    private static string Bytes(double bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        var unit = 0;
        while (bytes >= 1024 && unit < units.Length - 1)
        {
            bytes /= 1024;
            unit++;
        }

        return bytes.ToString(unit == 0 ? "0" : "0.0", CultureInfo.InvariantCulture) + " " + units[unit];
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";
}
