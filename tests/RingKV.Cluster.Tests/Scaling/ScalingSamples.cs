using System;
using System.Collections.Generic;
using System.Globalization;
using RingKV.Cluster.Membership;
using RingKV.Cluster.Scaling;

namespace RingKV.Cluster.Tests.Scaling;

/// <summary>Samples for the autoscale policy tests: nodes node1..nodeN with given per-node figures.</summary>
internal static class ScalingSamples
{
    public static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static string Name(int i) => "node" + i.ToString(CultureInfo.InvariantCulture);

    public static NodeLoad Load(int i, double? ops = null, double? bytes = null, double? p99 = null, double? cpu = null, NodeState state = NodeState.Normal, bool up = true, bool removable = true) =>
        new(Name(i), state, up, ops, bytes, p99, cpu, removable);

    /// <summary><paramref name="count"/> NORMAL, UP nodes each with <paramref name="ops"/> ops/s, at <paramref name="seconds"/> past <see cref="Start"/>.</summary>
    public static LoadSample Ops(double seconds, int count, double ops, int replication = 1)
    {
        var nodes = new List<NodeLoad>();
        for (var i = 1; i <= count; i++)
        {
            nodes.Add(Load(i, ops));
        }

        return new LoadSample(Start + TimeSpan.FromSeconds(seconds), nodes, replication);
    }

    public static LoadSample At(double seconds, int replication, params NodeLoad[] nodes) => new(Start + TimeSpan.FromSeconds(seconds), nodes, replication);

    public static AutoscaleSettings OpsSettings(double? high = 1000, double? low = 100, double windowSeconds = 30, double cooldownSeconds = 60, int min = 1, int max = 10, int step = 1) => new()
    {
        Ops = new WaterMarks(high, low),
        Window = TimeSpan.FromSeconds(windowSeconds),
        Cooldown = TimeSpan.FromSeconds(cooldownSeconds),
        MinNodes = min,
        MaxNodes = max,
        Step = step,
    };
}
