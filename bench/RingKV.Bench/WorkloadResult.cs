namespace RingKV.Bench;

/// <summary>One CSV row: an engine's numbers for one workload.</summary>
internal sealed record WorkloadResult(
    string Engine,
    string Workload,
    long Ops,
    double Seconds,
    double P50Micros,
    double P99Micros,
    long DiskBytes,
    double RssMiB,
    double CpuMicrosPerOp)
{
    /// <summary>Operations per second over the wall time of the whole workload.</summary>
    public double OpsPerSecond => Seconds > 0 ? Ops / Seconds : 0;
}
