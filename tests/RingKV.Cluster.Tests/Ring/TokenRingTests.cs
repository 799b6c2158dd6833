using System;
using System.Collections.Generic;
using RingKV.Cluster.Ring;
using RingKV.Core.Errors;
using RingKV.Core.Hashing;
using RingKV.Testing.Support;
using Xunit;
using static RingKV.Cluster.Tests.Ring.RingMeasures;

namespace RingKV.Cluster.Tests.Ring;

public sealed class TokenRingTests
{
    private static readonly UInt128 Space = TokenRing.TokenSpace;

    // a at 100, b at 200, c at 300: a's range wraps, (300, max] and [0, 100].
    private static TokenRing ThreeNodes() => TokenRing.Create(
    [
        (Member("c"), [new Token(300)]),
        (Member("a"), [new Token(100)]),
        (Member("b"), [new Token(200)]),
    ]);

    [Theory]
    [InlineData(0UL, "a")]
    [InlineData(100UL, "a")]
    [InlineData(101UL, "b")]
    [InlineData(200UL, "b")]
    [InlineData(250UL, "c")]
    [InlineData(300UL, "c")]
    [InlineData(301UL, "a")]
    [InlineData(ulong.MaxValue, "a")]
    public void OwnerOf_Token_IsFirstVnodeAtOrAfterItWrappingPastTheTop(ulong token, string owner) =>
        Assert.Equal(new NodeId(owner), ThreeNodes().OwnerOf(new Token(token)));

    [Fact]
    public void Ownership_ThreeNodes_IsTheSizeOfEachRange()
    {
        var ring = ThreeNodes();
        Assert.Equal(Space - 200, ring.OwnedTokens(new NodeId("a")));
        Assert.Equal((UInt128)100, ring.OwnedTokens(new NodeId("b")));
        Assert.Equal((UInt128)100, ring.OwnedTokens(new NodeId("c")));
        Assert.Equal(100 / 18446744073709551616.0, ring.OwnershipOf(new NodeId("b")));
        Assert.Equal(0, ring.OwnershipOf(new NodeId("absent")));
    }

    [Fact]
    public void PrimaryRangesOf_WrappingVnode_SplitsAtTheTopOfTheTokenSpace()
    {
        var ring = ThreeNodes();
        Assert.Equal([new TokenRange(Token.Min, new Token(100)), new TokenRange(new Token(301), Token.Max)], ring.PrimaryRangesOf(new NodeId("a")));
        Assert.Equal([new TokenRange(new Token(101), new Token(200))], ring.PrimaryRangesOf(new NodeId("b")));
        Assert.Empty(ring.PrimaryRangesOf(new NodeId("absent")));
    }

    [Fact]
    public void PrimaryRangesOf_AdjacentVnodesOfOneNode_AreMerged()
    {
        // a at 100 and 200: [0, 100] and [101, 200] touch and merge; (300, max] stays apart.
        var ring = TokenRing.Create([(Member("a"), [new Token(100), new Token(200)]), (Member("b"), [new Token(300)])]);
        Assert.Equal([new TokenRange(Token.Min, new Token(200)), new TokenRange(new Token(301), Token.Max)], ring.PrimaryRangesOf(new NodeId("a")));
        Assert.Equal([new TokenRange(new Token(201), new Token(300))], ring.PrimaryRangesOf(new NodeId("b")));
    }

    [Fact]
    public void OneVnode_OwnsTheWholeTokenSpace()
    {
        var ring = TokenRing.Create([(Member("solo"), [new Token(12345)])]);
        Assert.Equal(1.0, ring.OwnershipOf(new NodeId("solo")));
        Assert.Equal(Space, ring.OwnedTokens(new NodeId("solo")));
        Assert.Equal([TokenRange.All], ring.PrimaryRangesOf(new NodeId("solo")));
        Assert.Equal(new NodeId("solo"), ring.OwnerOf(Token.Max));
    }

    [Fact]
    public void PrimaryRanges_RandomRing_PartitionTheTokenSpaceAmongTheirOwners()
    {
        var seed = TestSeed.Get(nameof(PrimaryRanges_RandomRing_PartitionTheTokenSpaceAmongTheirOwners));
        var random = new RingKV.Core.Random.SplitMix64(seed);
        for (var round = 0; round < 50; round++)
        {
            var members = new List<(RingMember, IReadOnlyList<Token>)>();
            var used = new HashSet<ulong>();
            var count = random.Next(1, 8);
            for (var m = 0; m < count; m++)
            {
                var tokens = new List<Token>();
                for (var t = random.Next(1, 6); t > 0; t--)
                {
                    // Some tokens at the edges of the space, where wrapping goes wrong.
                    var value = random.Chance(20) ? (random.Chance(50) ? (ulong)random.Next(3) : ulong.MaxValue - (ulong)random.Next(3)) : random.NextUInt64();
                    if (used.Add(value))
                    {
                        tokens.Add(new Token(value));
                    }
                }

                if (tokens.Count > 0)
                {
                    members.Add((Member(Name(m)), tokens));
                }
            }

            var ring = TokenRing.Create(members);
            UInt128 covered = 0;
            var all = new List<TokenRange>();
            foreach (var member in ring.Members)
            {
                UInt128 owned = 0;
                foreach (var range in ring.PrimaryRangesOf(member.Id))
                {
                    owned += (UInt128)(range.Last.Value - range.First.Value) + 1;
                    Assert.True(ring.OwnerOf(range.First) == member.Id && ring.OwnerOf(range.Last) == member.Id, $"range {range} of {member.Id}; RINGKV_SEED={seed}");
                    all.Add(range);
                }

                Assert.True(owned == ring.OwnedTokens(member.Id), $"{member.Id}: ranges hold {owned}, ownership says {ring.OwnedTokens(member.Id)}; RINGKV_SEED={seed}");
                covered += owned;
            }

            Assert.True(covered == Space, $"ranges cover {covered} tokens, not 2^64; RINGKV_SEED={seed}");
            all.Sort((a, b) => a.First.CompareTo(b.First));
            for (var i = 1; i < all.Count; i++)
            {
                Assert.True(all[i - 1].Last < all[i].First, $"{all[i - 1]} overlaps {all[i]}; RINGKV_SEED={seed}");
            }
        }
    }

    [Fact]
    public void With_NewMember_AddsItAndLeavesTheOriginalUnchanged()
    {
        var ring = ThreeNodes();
        var bigger = ring.With(Member("d"), [new Token(250)]);
        Assert.Equal(new NodeId("d"), bigger.OwnerOf(new Token(220)));
        Assert.Equal(new NodeId("c"), bigger.OwnerOf(new Token(260)));
        Assert.Equal(4, bigger.MemberCount);
        Assert.Equal(3, ring.MemberCount);
        Assert.Equal(new NodeId("c"), ring.OwnerOf(new Token(220)));
    }

    [Fact]
    public void With_ExistingMember_ReplacesItsPlacementAndTokens()
    {
        var ring = ThreeNodes().With(Member("b", rack: "r9", capacity: 2), [new Token(50), new Token(60)]);
        Assert.Equal(3, ring.MemberCount);
        Assert.Equal([new Token(50), new Token(60)], ring.TokensOf(new NodeId("b")));
        Assert.True(ring.TryGetMember(new NodeId("b"), out var b) && b.Rack == "r9" && b.Capacity == 2);
        Assert.Equal(new NodeId("c"), ring.OwnerOf(new Token(150)));
    }

    [Fact]
    public void Without_Member_GivesItsRangesToTheNextVnode()
    {
        var ring = ThreeNodes();
        var smaller = ring.Without(new NodeId("b"));
        Assert.False(smaller.Contains(new NodeId("b")));
        Assert.Equal(new NodeId("c"), smaller.OwnerOf(new Token(150)));
        Assert.Equal((UInt128)200, smaller.OwnedTokens(new NodeId("c")));
        Assert.True(ring.Contains(new NodeId("b")));
        Assert.Same(ring, ring.Without(new NodeId("absent")));
        Assert.True(ring.Without(new NodeId("a")).Without(new NodeId("b")).Without(new NodeId("c")).IsEmpty);
    }

    [Fact]
    public void Create_TokenClaimedByTwoMembers_ThrowsNamingBoth()
    {
        var error = Assert.Throws<RingKVException>(() => TokenRing.Create([(Member("a"), [new Token(7)]), (Member("b"), [new Token(7)])]));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Contains("claimed by both a and b", error.Message, StringComparison.Ordinal);
        Assert.Throws<RingKVException>(() => ThreeNodes().With(Member("d"), [new Token(200)]));
    }

    [Fact]
    public void Create_BadMembers_Throw()
    {
        Assert.Contains("no tokens", Assert.Throws<RingKVException>(() => TokenRing.Create([(Member("a"), [])])).Message, StringComparison.Ordinal);
        Assert.Contains("appears twice", Assert.Throws<RingKVException>(() =>
            TokenRing.Create([(Member("a"), [new Token(1)]), (Member("a", rack: "r2"), [new Token(2)])])).Message, StringComparison.Ordinal);
        Assert.Contains("twice", Assert.Throws<RingKVException>(() => TokenRing.Create([(Member("a"), [new Token(1), new Token(1)])])).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "r1", 1, "data center name")]
    [InlineData("dc 1", "r1", 1, "data center name")]
    [InlineData("dc1:3", "r1", 1, "data center name")]
    [InlineData("dc1", "", 1, "rack name")]
    [InlineData("dc1", "r,1", 1, "rack name")]
    [InlineData("dc1", "r1", 0, "capacity 0")]
    [InlineData("dc1", "r1", 65, "capacity 65")]
    public void RingMember_BadPlacement_ThrowsNamingIt(string dataCenter, string rack, int capacity, string expected)
    {
        var error = Assert.Throws<RingKVException>(() => new RingMember(new NodeId("n1"), dataCenter, rack, capacity));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("n1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RingMember_LongestAllowedNames_AreAccepted()
    {
        var name = new string('x', RingMember.MaxNameLength);
        Assert.Equal(name, new RingMember(new NodeId("n1"), name, "rack-1.a_b", RingMember.MaxCapacity).DataCenter);
        Assert.Throws<RingKVException>(() => new RingMember(new NodeId("n1"), name + "x"));
    }

    [Fact]
    public void EmptyRing_HasNoOwner()
    {
        Assert.True(TokenRing.Empty.IsEmpty);
        Assert.Throws<InvalidOperationException>(() => TokenRing.Empty.OwnerOf(Token.Min));
        Assert.Equal(0, TokenRing.Empty.OwnershipOf(new NodeId("a")));
    }

    [Fact]
    public void DataCenterOwnership_TwoDataCenters_CountsTheGapsBetweenTheDataCentersOwnVnodes()
    {
        // dc1: a at 100, b at 300; dc2: x at 200. Within dc1, b's range runs back to 100 across x's vnode.
        var ring = TokenRing.Create(
        [
            (Member("a", "dc1"), [new Token(100)]),
            (Member("b", "dc1"), [new Token(300)]),
            (Member("x", "dc2"), [new Token(200)]),
        ]);
        Assert.Equal(200 / 18446744073709551616.0, ring.DataCenterOwnershipOf(new NodeId("b")));
        Assert.Equal(100 / 18446744073709551616.0, ring.OwnershipOf(new NodeId("b")));
        Assert.Equal(1.0, ring.DataCenterOwnershipOf(new NodeId("x")));
        Assert.Equal(1.0, ring.DataCenterOwnershipOf(new NodeId("a")) + ring.DataCenterOwnershipOf(new NodeId("b")), 12);
        Assert.Equal(["dc1", "dc2"], ring.DataCenters);
        Assert.Equal(2, ring.NodesIn(ring.DataCenterIndexOf("dc1")));
    }

    [Fact]
    public void Walk_FromAToken_VisitsEveryMemberOnceClockwise()
    {
        var ring = TokenRing.Create(
        [
            (Member("a"), [new Token(100), new Token(400)]),
            (Member("b"), [new Token(200), new Token(500)]),
            (Member("c"), [new Token(300)]),
        ]);
        var order = new List<NodeId>();
        Span<bool> visited = stackalloc bool[ring.MemberCount];
        foreach (var member in ring.Walk(new Token(350), visited))
        {
            order.Add(ring.MemberAt(member).Id);
        }

        Assert.Equal([new NodeId("a"), new NodeId("b"), new NodeId("c")], order);
        order.Clear();
        foreach (var member in ring.Walk(new Token(501), visited))
        {
            order.Add(ring.MemberAt(member).Id);
        }

        Assert.Equal([new NodeId("a"), new NodeId("b"), new NodeId("c")], order);
        order.Clear();
        foreach (var member in ring.Walk(new Token(150), visited))
        {
            order.Add(ring.MemberAt(member).Id);
        }

        Assert.Equal([new NodeId("b"), new NodeId("c"), new NodeId("a")], order);
    }
}
