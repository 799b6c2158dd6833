namespace RingKV.Cluster.Membership;

/// <summary>A node's load as it gossips it: what the autoscaler and the status page read.</summary>
/// <param name="StorageBytes">Bytes of live data on the node's disk.</param>
/// <param name="OperationsPerSecond">Client and replica operations per second, over the node's last measuring window.</param>
/// <param name="P99LatencyMicros">99th percentile of replica operation latency, in microseconds.</param>
internal readonly record struct LoadFigures(ulong StorageBytes, ulong OperationsPerSecond, ulong P99LatencyMicros);
