using System;
using System.Collections.Generic;
using System.Collections.Immutable;

namespace RingKV.Cluster.Membership;

/// <summary>Turns the observers' suspicion reports into the cluster's verdict: a node is DOWN only when two independent observers suspect it.</summary>
/// <remarks>
/// Pure and deterministic: the same reports, time and expiry give the same verdict on every node. Rules:
/// (1) an observer counts for X when its current report names X, the observer is not X, and the report was renewed
///     within <c>expiry</c> of <c>now</c> (the local node's own report is always current);
/// (2) X is DOWN when at least <see cref="RequiredObservers"/> distinct observers count for it, and UP again as soon as
///     fewer do: a fresh heartbeat clears the suspicion of the observer that receives it, and its next report says so;
/// (3) a report that is not renewed (its observer is dead, restarted, cut off from everyone who relays its gossip, or
///     unknown) stops counting after <c>expiry</c>: a dead observer cannot keep a live node DOWN for longer than that.
/// Each observer's suspicion comes only from its own direct evidence (pongs to its own pings), so two observers are
/// two independent witnesses; one observer alone may be the one cut off, which is why one is never enough. In a
/// two-node cluster only one observer exists for each node, so neither is ever DOWN (docs/membership.md).
/// </remarks>
internal static class DownConsensus
{
    /// <summary>Distinct observers needed to call a node DOWN.</summary>
    public const int RequiredObservers = 2;

    /// <summary>The verdict from <paramref name="reports"/> at <paramref name="now"/>. Requires: <paramref name="expiry"/> &gt; 0.</summary>
    public static DownVerdict Evaluate(ReadOnlySpan<SuspicionReport> reports, DateTimeOffset now, TimeSpan expiry)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(expiry, TimeSpan.Zero);
        var pairs = new List<(NodeId Suspect, NodeId Observer)>();
        foreach (var report in reports)
        {
            if (report.Suspects.IsDefaultOrEmpty || now - report.RenewedAt > expiry)
            {
                continue;
            }

            foreach (var suspect in report.Suspects)
            {
                if (suspect != report.Observer)
                {
                    pairs.Add((suspect, report.Observer));
                }
            }
        }

        if (pairs.Count == 0)
        {
            return DownVerdict.Empty;
        }

        // Sorted (suspect, observer) pairs: a repeated pair (an observer listed twice) counts once.
        pairs.Sort(static (a, b) =>
        {
            var c = a.Suspect.CompareTo(b.Suspect);
            return c != 0 ? c : a.Observer.CompareTo(b.Observer);
        });
        var counts = ImmutableArray.CreateBuilder<(NodeId Node, int Observers)>();
        for (var i = 0; i < pairs.Count; i++)
        {
            if (i > 0 && pairs[i] == pairs[i - 1])
            {
                continue;
            }

            if (counts.Count > 0 && counts[^1].Node == pairs[i].Suspect)
            {
                counts[^1] = (pairs[i].Suspect, counts[^1].Observers + 1);
            }
            else
            {
                counts.Add((pairs[i].Suspect, 1));
            }
        }

        return new DownVerdict(counts.ToImmutable());
    }
}
