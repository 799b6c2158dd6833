using RingKV.Cluster.Membership;

namespace RingKV.Cluster.Scaling;

/// <summary>One node's load at a sample, as the node the autoscaler asked sees it (KV.RING); a figure the node does not report is null.</summary>
/// <param name="Id">The node id.</param>
/// <param name="State">Its life-cycle state.</param>
/// <param name="Up">Whether it is UP (false: DOWN).</param>
/// <param name="OpsPerSecond">Client operations per second it coordinated.</param>
/// <param name="StorageBytes">Bytes it stores.</param>
/// <param name="P99Micros">The 99th percentile latency of its requests, in microseconds.</param>
/// <param name="CpuPercent">Its process's CPU use, percent of one core (up to 100 per core).</param>
/// <param name="Removable">Whether the provider manages it, so a scale in may pick it.</param>
internal sealed record NodeLoad(
    string Id,
    NodeState State,
    bool Up,
    double? OpsPerSecond,
    double? StorageBytes,
    double? P99Micros,
    double? CpuPercent,
    bool Removable = true)
{
    /// <summary>The figure of <paramref name="metric"/>, or null when the node does not report it.</summary>
    public double? Value(ScaleMetric metric) => metric switch
    {
        ScaleMetric.Ops => OpsPerSecond,
        ScaleMetric.Bytes => StorageBytes,
        ScaleMetric.P99 => P99Micros,
        _ => CpuPercent,
    };
}
