using System;
using System.Collections.Generic;
using System.Globalization;
using RingKV.Cluster.Ring;
using Xunit;
using static RingKV.Cluster.Tests.Ring.RingMeasures;

namespace RingKV.Cluster.Tests.Ring;

/// <summary>What each node stores (its replica share), not only what it owns first: rings grown by joins, with the figures printed.</summary>
public sealed class TokenAllocatorReplicaTests(ITestOutputHelper output)
{
    private static string F(double value) => value.ToString("F3", CultureInfo.InvariantCulture);

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
