using System;
using System.Collections.Generic;
using System.Linq;
using CsCheck;
using RingKV.Cluster.Ring;
using RingKV.Core.Hashing;
using Xunit;
using static RingKV.Cluster.Tests.Ring.RingMeasures;

namespace RingKV.Cluster.Tests.Ring;

/// <summary>Joins into random rings (arbitrary tokens, not the allocator's): what holds whatever the ring looks like.</summary>
public sealed class TokenAllocatorPropertyTests
{
    private static readonly string[] DataCenterNames = ["dc0", "dc1", "dc2"];

    private static readonly Gen<(int DataCenter, int Rack, int Capacity, ulong[] Tokens)> GenNode =
        Gen.Select(Gen.Int[0, 1], Gen.Int[0, 2], Gen.Int[1, 3], Gen.OneOf(Gen.ULong, Gen.ULong[0, 50]).Array[1, 6]);

    private static readonly Gen<ReplicationSettings> GenReplication =
        Gen.OneOf(Gen.Const(ReplicationSettings.Default), Gen.Int[1, 4].Select(ReplicationSettings.Uniform), Gen.Const(ReplicationSettings.Parse("dc0:2")));

    private static readonly Gen<(TokenRing Ring, RingMember Joiner, ReplicationSettings Replication, int VnodesPerCapacity, ulong Seed)> GenJoin =
        Gen.Select(GenNode.Array[1, 10], Gen.Int[0, 2], Gen.Int[0, 3], Gen.Int[1, 3], GenReplication, Gen.Int[1, 8], Gen.ULong)
            .Select(t => (Build(t.Item1), Member("joiner", DataCenterNames[t.Item2], "r" + t.Item3, t.Item4), t.Item5, t.Item6, t.Item7));

    [Fact]
    public void Allocate_RandomRings_TakesAtMostItsShareOnlyFromItsOwnDataCenter() =>
        GenJoin.Sample(t =>
        {
            var (ring, joiner, replication, vnodesPerCapacity, seed) = t;
            var tokens = TokenAllocator.Allocate(ring, joiner, replication, vnodesPerCapacity, seed);
            Assert.Equal(tokens, TokenAllocator.Allocate(ring, joiner, replication, vnodesPerCapacity, seed));
            Assert.Equal(joiner.Capacity * vnodesPerCapacity, tokens.Length);
            for (var i = 0; i < tokens.Length; i++)
            {
                Assert.False(ring.IsTokenTaken(tokens[i]), $"token {tokens[i]} is taken");
                Assert.True(i == 0 || tokens[i - 1] < tokens[i], "tokens ascend without repeats");
            }

            var joined = ring.With(joiner, tokens);
            var peers = ring.Members.Where(m => m.DataCenter == joiner.DataCenter).ToList();
            foreach (var member in ring.Members)
            {
                var before = ring.DataCenterOwnershipOf(member.Id);
                var after = joined.DataCenterOwnershipOf(member.Id);
                if (member.DataCenter == joiner.DataCenter)
                {
                    Assert.True(after <= before, $"{member.Id} gained from the join: {before} -> {after}");
                }
                else
                {
                    Assert.Equal(before, after);
                }
            }

            // Its share of its data center, and at most a token per vnode more (a nudge past another data center's token).
            var share = (double)joiner.Capacity / (joiner.Capacity + peers.Sum(m => m.Capacity));
            Assert.True(
                joined.DataCenterOwnershipOf(joiner.Id) <= share + (tokens.Length * 1e-18) + 1e-15,
                $"the joiner owns {joined.DataCenterOwnershipOf(joiner.Id)} of its data center, its share is {share}");

            // What is stored: only the joiner gains, and while its data center keeps as many replicas as before, it gains
            // exactly what the others lose.
            var storedBefore = StoredTokens(Placement.Create(ring, replication));
            var storedAfter = StoredTokens(Placement.Create(joined, replication));
            UInt128 lost = 0;
            foreach (var member in ring.Members)
            {
                var (was, now) = (storedBefore[ring.IndexOf(member.Id)], storedAfter[joined.IndexOf(member.Id)]);
                Assert.True(now <= was, $"{member.Id} stores more after the join: {was} -> {now}");
                Assert.True(member.DataCenter == joiner.DataCenter || now == was, $"{member.Id} of another data center changed: {was} -> {now}");
                lost += was - now;
            }

            if (Kept(ring, joiner.DataCenter, replication) == Kept(joined, joiner.DataCenter, replication))
            {
                Assert.Equal(lost, storedAfter[joined.IndexOf(joiner.Id)]);
            }
        }, iter: 300);

    private static int Kept(TokenRing ring, string dataCenter, ReplicationSettings replication)
    {
        var d = ring.DataCenterIndexOf(dataCenter);
        return d < 0 ? 0 : Math.Min(replication.ReplicasIn(dataCenter, ring), ring.NodesIn(d));
    }

    private static TokenRing Build((int DataCenter, int Rack, int Capacity, ulong[] Tokens)[] nodes)
    {
        var used = new HashSet<ulong>();
        var members = new List<(RingMember, IReadOnlyList<Token>)>();
        for (var i = 0; i < nodes.Length; i++)
        {
            var tokens = nodes[i].Tokens.Where(used.Add).Select(t => new Token(t)).ToList();
            if (tokens.Count > 0)
            {
                members.Add((Member(Name(i), DataCenterNames[nodes[i].DataCenter], "r" + nodes[i].Rack, nodes[i].Capacity), tokens));
            }
        }

        return TokenRing.Create(members);
    }
}
