namespace RingKV.Cluster.Scaling;

/// <summary>A load figure the autoscaler watches, as a per-node mean over the cluster's NORMAL nodes.</summary>
/// <remarks>The order is the order reasons and ties use: the first metric that held wins.</remarks>
internal enum ScaleMetric
{
    /// <summary>Client operations per second a node coordinated.</summary>
    Ops,

    /// <summary>Bytes a node stores.</summary>
    Bytes,

    /// <summary>The 99th percentile latency of a node's requests, in microseconds.</summary>
    P99,

    /// <summary>A node process's CPU use, percent of one core.</summary>
    Cpu,
}
