using System;
using System.Collections.Generic;

namespace RingKV.Cluster.AntiEntropy;

/// <summary>An anti-entropy pass's figures, running or ended: an immutable snapshot.</summary>
/// <param name="Id">The pass's number on this node (1, 2, ...).</param>
/// <param name="StartedAt">When the pass started.</param>
/// <param name="KeysSent">Records this node sent.</param>
/// <param name="KeysReceived">Records this node received and merged.</param>
/// <param name="KeysRepaired">Keys whose records differed between this node and a peer.</param>
/// <param name="RangesTotal">Vnode ranges this node replicates, all of which the pass compares.</param>
/// <param name="RangesDone">Ranges compared with every other replica (or failed).</param>
/// <param name="RangesDiffering">Ranges where some replica differed (repaired).</param>
/// <param name="RangesFailed">Ranges where some replica did not answer, was DOWN or failed.</param>
/// <param name="BytesSent">Bytes of the anti-entropy messages this node sent for the pass (encoded bodies).</param>
/// <param name="BytesReceived">Bytes of the replies it received for the pass.</param>
/// <param name="EndedAt">When the pass ended; null while it runs.</param>
/// <param name="Ranges">Per range results, in ring order: the ended ranges of a running pass, every range of an ended one.</param>
internal sealed record RepairPassFigures(
    long Id,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    int RangesTotal,
    int RangesDone,
    int RangesDiffering,
    int RangesFailed,
    long KeysSent,
    long KeysReceived,
    long KeysRepaired,
    long BytesSent,
    long BytesReceived,
    IReadOnlyList<RepairRangeResult> Ranges)
{
    /// <summary>Why the pass's last failed range failed; empty when none did.</summary>
    public string LastFailure { get; init; } = "";

    /// <summary>How long the pass took (to <paramref name="now"/> while it runs).</summary>
    public TimeSpan DurationAt(DateTimeOffset now) => (EndedAt ?? now) - StartedAt;
}
