namespace RingKV.Cluster.Membership;

/// <summary>A node's load as it gossips it: what the autoscaler and the status page read.</summary>
/// <param name="StorageBytes">Bytes of live data on the node's disk.</param>
/// <param name="OperationsPerSecond">Client requests the node coordinated per second, over its last measuring window.</param>
/// <param name="P99LatencyMicros">99th percentile latency of the client requests the node coordinated over the window, in microseconds.</param>
/// <param name="CpuPermille">The node process's CPU use over the window, per mille of one core (2000 is two cores busy).</param>
internal readonly record struct LoadFigures(ulong StorageBytes, ulong OperationsPerSecond, ulong P99LatencyMicros, ulong CpuPermille = 0);
