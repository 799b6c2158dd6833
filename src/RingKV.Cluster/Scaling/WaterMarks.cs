namespace RingKV.Cluster.Scaling;

/// <summary>The high and low water marks of one metric, per node; either may be unset (null).</summary>
/// <param name="High">Above it for the whole window: scale out.</param>
/// <param name="Low">Below it for the whole window (with every other set low mark): scale in.</param>
internal readonly record struct WaterMarks(double? High, double? Low)
{
    /// <summary>Neither mark set: the metric is not watched.</summary>
    public static WaterMarks None => default;

    /// <summary>Whether either mark is set.</summary>
    public bool IsSet => High is not null || Low is not null;
}
