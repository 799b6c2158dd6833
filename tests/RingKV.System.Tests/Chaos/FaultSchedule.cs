using System;
using System.Collections.Generic;
using RingKV.Core.Random;

namespace RingKV.System.Tests.Chaos;

/// <summary>Seeded fault schedules: the same seed and node count give the same faults in the same order.</summary>
/// <remarks>
/// Faults come in rounds, each round every kind once in a seeded order, so even a short run injects each kind. One fault
/// at a time, on one node or (a cut) a side of one or two nodes, so at most two nodes are impaired at once and QUORUM
/// stays reachable for most keys. Rejected alternative: overlapping faults; with N=3 of 5 they would make many keys
/// unavailable at once and the run would mostly record failures.
/// </remarks>
public static class FaultSchedule
{
    /// <summary>Faults in a round: one of each kind.</summary>
    public const int KindsPerRound = 3;

    /// <summary>The schedule's first <paramref name="count"/> faults for a cluster of <paramref name="nodes"/> nodes.</summary>
    public static List<Fault> Create(long seed, int nodes, int count)
    {
        var random = new SplitMix64(seed);
        var faults = new List<Fault>(count);
        var kinds = new[] { FaultKind.Kill, FaultKind.Pause, FaultKind.Cut };
        while (faults.Count < count)
        {
            for (var i = kinds.Length - 1; i > 0; i--)
            {
                var j = random.Next(i + 1);
                (kinds[i], kinds[j]) = (kinds[j], kinds[i]);
            }

            foreach (var kind in kinds)
            {
                if (faults.Count == count)
                {
                    break;
                }

                var hold = TimeSpan.FromMilliseconds(random.Next(2000, 5000));
                var gap = TimeSpan.FromMilliseconds(random.Next(500, 2000));
                faults.Add(new Fault(kind, kind == FaultKind.Cut ? Side(random, nodes) : [random.Next(nodes)], hold, gap));
            }
        }

        return faults;
    }

    /// <summary>One or two distinct nodes, ascending: the smaller side of a cut.</summary>
    private static int[] Side(SplitMix64 random, int nodes)
    {
        var first = random.Next(nodes);
        if (nodes < 4 || random.Chance(50))
        {
            return [first];
        }

        var second = (first + 1 + random.Next(nodes - 1)) % nodes;
        return first < second ? [first, second] : [second, first];
    }
}
