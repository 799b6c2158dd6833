using System;
using System.Collections.Generic;
using System.Globalization;
using CsCheck;
using RingKV.Cluster.Ring;
using Xunit;
using static RingKV.Cluster.Tests.Ring.RingMeasures;

namespace RingKV.Cluster.Tests.Ring;

/// <summary>What each node stores (its replica share), not only what it owns first: rings grown by joins, with the figures printed.</summary>
public sealed class TokenAllocatorReplicaTests(ITestOutputHelper output)
{
    /// <summary>The bar with one rack: after every join, stored share over ideal, largest over smallest.</summary>
    private const double MaxOverMinOneRack = 1.7;

    /// <summary>
    /// The bar with 2 or 3 racks. Looser: a rack's members split what the rack rule gives the rack, so a joiner sharing a
    /// rack with few others may need more primary ownership than its share to reach its ideal, and the allocator does not
    /// buy replica balance with primary imbalance; nor does a join move the tokens of the nodes already there. With two
    /// racks and capacities 1-4 on 4-6 nodes the rule (at most 2 of 3 replicas per rack) also caps what the heavy nodes
    /// of a rack can store, so the capacity-proportional ideal is out of reach: CI runs found 3.3 (seeds aGFROwcJv2q1,
    /// 7RDIaxBiFAH1) against the 2.5 first set from 1,500 samples; 4.0 holds over 2,000 more.
    /// </summary>
    private const double MaxOverMinRacks = 4.0;

    /// <summary>The bars for the joiner's own stored share (what the join streams to it) over its ideal.</summary>
    private const double JoinerLow = 0.7; // 2,000 samples: lowest 0.762 (0.75 was the first bar, too close to flake)

    private const double JoinerHigh = 1.25;

    private static readonly Gen<(int Replicas, int Racks, int[] Capacities, ulong Seed)> GenGrowth =
        Gen.Select(Gen.Int[2, 3], Gen.Int[1, 3], Gen.Int[1, 4].Array[10], Gen.ULong);

    private static readonly int Iterations = int.TryParse(Environment.GetEnvironmentVariable("RINGKV_ALLOC_ITER"), out var n) ? n : 100;

    private static string F(double value) => value.ToString("F3", CultureInfo.InvariantCulture);

    [Fact]
    public void Allocate_MixedNodesJoiningThreeToTen_StoreNearTheirIdealShare()
    {
        double oneRack = 1, racked = 1, joinerLow = 1, joinerHigh = 1, initial = 1;
        GenGrowth.Sample(t =>
        {
            var (replicas, racks, capacities, seed) = t;
            var replication = ReplicationSettings.Uniform(replicas);
            var members = new List<RingMember>();
            for (var i = 0; i < capacities.Length; i++)
            {
                members.Add(Member(Name(i), rack: "r" + (i % racks), capacity: capacities[i]));
            }

            var ring = TokenAllocator.Initial(members.GetRange(0, 3), seed: seed);
            for (var n = 3; n < members.Count; n++)
            {
                var before = Placement.Create(ring, replication);
                ring = Join(ring, members[n], seed: seed, replication: replication);
                var after = Placement.Create(ring, replication);
                var (max, min) = StoredOverIdeal(after);
                var joiner = ring.IndexOf(members[n].Id);
                var ideal = IdealShares(ring, replication)[joiner];
                var gained = StoredShares(after)[joiner] / ideal;
                var moved = MovedFraction(before, after) * after.ReplicaCount / ideal;
                (oneRack, racked) = racks == 1 ? (Math.Max(oneRack, max / min), racked) : (oneRack, Math.Max(racked, max / min));
                (joinerLow, joinerHigh) = (Math.Min(joinerLow, gained), Math.Max(joinerHigh, gained));
                Assert.True(max / min <= (racks == 1 ? MaxOverMinOneRack : MaxOverMinRacks), $"{n + 1} nodes: stored over ideal from {F(min)} to {F(max)}");
                Assert.InRange(gained, JoinerLow, JoinerHigh);

                // What streams is what the joiner gains: nobody else gains anything.
                Assert.Equal(gained, moved, 9);
            }

            var (initialMax, initialMin) = StoredOverIdeal(Placement.Create(TokenAllocator.Initial(members, seed: seed), replication));
            initial = Math.Max(initial, initialMax / initialMin);
        }, iter: Iterations, threads: 1);
        output.WriteLine(
            $"worst stored max/min after a join: {F(oneRack)} (one rack), {F(racked)} (2-3 racks); joiner {F(joinerLow)} to {F(joinerHigh)} of its ideal; Initial(10): {F(initial)}");
    }

    [Theory]
    [InlineData(3, 1, false)]
    [InlineData(3, 1, true)]
    [InlineData(2, 1, false)]
    [InlineData(2, 1, true)]
    [InlineData(3, 3, false)]
    [InlineData(3, 3, true)]
    [InlineData(3, 2, true)]
    public void Allocate_EqualNodesJoiningThreeToTen_StoreNearTheirShare(int replicas, int racks, bool grown)
    {
        var replication = ReplicationSettings.Uniform(replicas);
        var members = new List<RingMember>();
        for (var i = 0; i < 10; i++)
        {
            members.Add(Member(Name(i), rack: "r" + (i % racks)));
        }

        // The first three start together, or the first starts alone and the next two join.
        var ring = TokenAllocator.Initial(members.GetRange(0, grown ? 1 : 3));
        for (var n = ring.MemberCount; n < 3; n++)
        {
            ring = Join(ring, members[n], replication: replication);
        }

        var worst = 1.0;
        output.WriteLine($"N={replicas}, {racks} racks, {(grown ? "grown" : "initial")}: n  stored max/ideal min/ideal max/min  joiner/ideal  moved/ideal  owned max/mean");
        for (var n = 3; n < members.Count; n++)
        {
            var before = Placement.Create(ring, replication);
            ring = Join(ring, members[n], replication: replication);
            var after = Placement.Create(ring, replication);
            var (max, min) = StoredOverIdeal(after);
            var joiner = ring.IndexOf(members[n].Id);
            var joinerShare = StoredShares(after)[joiner] / IdealShares(ring, replication)[joiner];
            var moved = MovedFraction(before, after) * after.ReplicaCount / IdealShares(ring, replication)[joiner];
            var (owned, _) = Spread(ring, ring.Members);
            worst = Math.Max(worst, max / min);
            output.WriteLine($"{n + 1,-2} {F(max)} {F(min)} {F(max / min)}  {F(joinerShare)}  {F(moved)}  {F(owned)}");
        }

        output.WriteLine($"worst max/min over joins 4..10: {F(worst)}");
    }
}
