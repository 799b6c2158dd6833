using System;

namespace RingKV.Cluster.AntiEntropy;

/// <summary>A node's anti-entropy figures for INFO and KV.REPAIR STATUS: an immutable snapshot taken on the node's owner thread.</summary>
/// <param name="Current">The running pass; null when none runs.</param>
/// <param name="Last">The last ended pass; null before the first ends.</param>
/// <param name="PassesDone">Passes ended since start.</param>
/// <param name="NextPassAt">When the schedule starts the next pass; null when passes are not scheduled (RepairInterval zero).</param>
/// <param name="SessionsServed">Anti-entropy sessions peers opened with this node (it built trees for them).</param>
/// <param name="TotalKeysRepaired">Keys found differing, over every pass since start (a running pass's so far included).</param>
/// <param name="TotalKeysSent">Records sent, over every pass.</param>
/// <param name="TotalKeysReceived">Records received and merged, over every pass.</param>
/// <param name="TotalBytesSent">Bytes of anti-entropy messages sent by this node's passes.</param>
/// <param name="TotalBytesReceived">Bytes of the replies they received.</param>
/// <param name="TotalRangesFailed">Ranges that failed, over every ended pass.</param>
internal sealed record AntiEntropyFigures(
    RepairPassFigures? Current,
    RepairPassFigures? Last,
    long PassesDone,
    DateTimeOffset? NextPassAt,
    long TotalKeysRepaired,
    long TotalKeysSent,
    long TotalKeysReceived,
    long TotalBytesSent,
    long TotalBytesReceived,
    long TotalRangesFailed,
    long SessionsServed)
{
    /// <summary>True while a pass runs.</summary>
    public bool Running => Current is not null;
}
