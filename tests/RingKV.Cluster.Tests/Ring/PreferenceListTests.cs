using System;
using System.Collections.Generic;
using RingKV.Cluster.Ring;
using RingKV.Core.Hashing;
using Xunit;
using static RingKV.Cluster.Tests.Ring.RingMeasures;

namespace RingKV.Cluster.Tests.Ring;

public sealed class PreferenceListTests
{
    private static NodeId[] Ids(params string[] names) => Array.ConvertAll(names, static n => new NodeId(n));

    /// <summary>Members in clockwise order at tokens 100, 200, ...: (name, dc, rack).</summary>
    private static TokenRing InOrder(params (string Name, string DataCenter, string Rack)[] members)
    {
        var list = new List<(RingMember, IReadOnlyList<Token>)>();
        for (var i = 0; i < members.Length; i++)
        {
            list.Add((Member(members[i].Name, members[i].DataCenter, members[i].Rack), [new Token((ulong)(i + 1) * 100)]));
        }

        return TokenRing.Create(list);
    }

    [Fact]
    public void For_OneDataCenter_TakesDistinctNodesClockwiseFromTheOwner()
    {
        // a owns two vnodes in a row; the walk takes it once.
        var ring = TokenRing.Create(
        [
            (Member("a"), [new Token(100), new Token(150)]),
            (Member("b"), [new Token(200)]),
            (Member("c"), [new Token(300)]),
            (Member("d"), [new Token(400)]),
        ]);
        var three = ReplicationSettings.Uniform(3);
        Assert.Equal(Ids("a", "b", "c"), PreferenceList.For(ring, new Token(90), three));
        Assert.Equal(Ids("a", "b", "c"), PreferenceList.For(ring, new Token(120), three));
        Assert.Equal(Ids("c", "d", "a"), PreferenceList.For(ring, new Token(300), three));
        Assert.Equal(Ids("d", "a", "b"), PreferenceList.For(ring, new Token(350), three));
    }

    [Theory]
    [InlineData(401UL)]
    [InlineData(ulong.MaxValue)]
    [InlineData(0UL)]
    public void For_TokenPastTheLastVnode_WrapsToTheFirst(ulong token)
    {
        var ring = InOrder(("a", "dc1", "r1"), ("b", "dc1", "r1"), ("c", "dc1", "r1"), ("d", "dc1", "r1"));
        Assert.Equal(Ids("a", "b", "c"), PreferenceList.For(ring, new Token(token), ReplicationSettings.Uniform(3)));
        Assert.Equal(Ids("a", "b", "c"), Placement.Create(ring, ReplicationSettings.Uniform(3)).For(new Token(token)).ToArray());
    }

    [Fact]
    public void For_EnoughRacks_SkipsNodesOnRacksAlreadyUsed()
    {
        var ring = InOrder(("a", "dc1", "r1"), ("b", "dc1", "r1"), ("c", "dc1", "r2"), ("d", "dc1", "r2"), ("e", "dc1", "r3"), ("f", "dc1", "r3"));
        Assert.Equal(Ids("a", "c", "e"), PreferenceList.For(ring, new Token(100), ReplicationSettings.Uniform(3)));
        Assert.Equal(Ids("b", "c", "e"), PreferenceList.For(ring, new Token(200), ReplicationSettings.Uniform(3)));
        Assert.Equal(Ids("f", "a", "c"), PreferenceList.For(ring, new Token(600), ReplicationSettings.Uniform(3)));
    }

    [Fact]
    public void For_FewerRacksThanReplicas_TakesEveryRackAndTheFirstRepeatsMet()
    {
        // Two racks, three replicas: one repeat allowed. From a: a (r1), b (r1, the repeat), c refused (r1), d (r2).
        var ring = InOrder(("a", "dc1", "r1"), ("b", "dc1", "r1"), ("c", "dc1", "r1"), ("d", "dc1", "r2"));
        Assert.Equal(Ids("a", "b", "d"), PreferenceList.For(ring, new Token(100), ReplicationSettings.Uniform(3)));

        // From d: d (r2), a (r1); then a repeat: b.
        Assert.Equal(Ids("d", "a", "b"), PreferenceList.For(ring, new Token(400), ReplicationSettings.Uniform(3)));

        // One rack: plain distinct nodes.
        var oneRack = InOrder(("a", "dc1", "r1"), ("b", "dc1", "r1"), ("c", "dc1", "r1"));
        Assert.Equal(Ids("b", "c", "a"), PreferenceList.For(oneRack, new Token(150), ReplicationSettings.Uniform(3)));
    }

    [Fact]
    public void For_PerDataCenterCounts_TakesEachDataCentersCountInWalkOrder()
    {
        var ring = InOrder(
            ("a", "dc1", "r1"), ("x", "dc2", "r1"), ("b", "dc1", "r2"), ("y", "dc2", "r2"), ("c", "dc1", "r3"), ("z", "dc2", "r1"), ("d", "dc1", "r1"));
        var settings = ReplicationSettings.Parse("dc1:3,dc2:2");
        Assert.Equal(Ids("a", "x", "b", "y", "c"), PreferenceList.For(ring, new Token(100), settings));

        // From z (dc2 r1): d (dc1 r1); a and x are refused, their racks already used in their data centers; then b, y, c.
        Assert.Equal(Ids("z", "d", "b", "y", "c"), PreferenceList.For(ring, new Token(600), settings));
    }

    [Fact]
    public void For_UnlistedDataCenter_KeepsNoReplicasAndTheFirstReplicaIsTheNextListedNode()
    {
        var ring = InOrder(("x", "dc2", "r1"), ("a", "dc1", "r1"), ("b", "dc1", "r1"), ("y", "dc2", "r1"));
        Assert.Equal(Ids("a", "b"), PreferenceList.For(ring, new Token(100), ReplicationSettings.Parse("dc1:2")));
    }

    [Fact]
    public void For_FewerNodesThanReplicas_TakesEveryNode()
    {
        var ring = InOrder(("a", "dc1", "r1"), ("b", "dc1", "r2"), ("x", "dc2", "r1"));
        Assert.Equal(Ids("b", "x", "a"), PreferenceList.For(ring, new Token(150), ReplicationSettings.Parse("dc1:3,dc2:5")));
        var placement = Placement.Create(ring, ReplicationSettings.Parse("dc1:3,dc2:5"));
        Assert.Equal(3, placement.ReplicaCount);
        Assert.Equal(2, placement.ReplicasIn(ring.DataCenterIndexOf("dc1")));
    }

    [Fact]
    public void For_Default_IsTheOneNodeAloneAndThreeOtherwise()
    {
        var one = InOrder(("a", "dc1", "r1"));
        Assert.Equal(Ids("a"), PreferenceList.For(one, new Token(5), ReplicationSettings.Default));
        var five = InOrder(("a", "dc1", "r1"), ("b", "dc1", "r1"), ("c", "dc1", "r1"), ("d", "dc1", "r1"), ("e", "dc1", "r1"));
        Assert.Equal(3, Placement.Create(five, ReplicationSettings.Default).ReplicaCount);
    }

    [Fact]
    public void For_EmptyRing_IsEmpty()
    {
        Assert.Empty(PreferenceList.For(TokenRing.Empty, Token.Min, ReplicationSettings.Default));
        Assert.True(Placement.Create(TokenRing.Empty, ReplicationSettings.Default).For(Token.Max).IsEmpty);
    }

    [Fact]
    public void Placement_AllocatedRing_MatchesTheUncachedListAtEveryVnodeBoundary()
    {
        var members = new List<RingMember>();
        for (var i = 0; i < 9; i++)
        {
            members.Add(Member(Name(i), i % 3 == 0 ? "east" : "west", "r" + (i % 4)));
        }

        var ring = TokenAllocator.Initial(members, 8, seed: 11);
        var settings = ReplicationSettings.Parse("east:2,west:3");
        var placement = Placement.Create(ring, settings);
        for (var vnode = 0; vnode < ring.VnodeCount; vnode++)
        {
            var token = ring.TokenAt(vnode);
            foreach (var probe in new[] { token, new Token(token.Value - 1), new Token(token.Value + 1) })
            {
                Assert.Equal(PreferenceList.For(ring, probe, settings), placement.For(probe).ToArray());
            }
        }
    }

    [Fact]
    public void RangesOf_EveryMember_TogetherCoverTheRingReplicaCountTimes()
    {
        var members = new List<RingMember>();
        for (var i = 0; i < 7; i++)
        {
            members.Add(Member(Name(i), rack: "r" + (i % 3)));
        }

        var placement = Placement.Create(TokenAllocator.Initial(members, 4, seed: 3), ReplicationSettings.Uniform(3));
        UInt128 covered = 0;
        foreach (var member in placement.Ring.Members)
        {
            foreach (var range in placement.RangesOf(member.Id))
            {
                covered += (UInt128)(range.Last.Value - range.First.Value) + 1;
                Assert.Contains(member.Id, placement.For(range.First).ToArray());
                Assert.Contains(member.Id, placement.For(range.Last).ToArray());
            }
        }

        Assert.Equal(TokenRing.TokenSpace * 3, covered);
    }

    [Fact]
    public void For_Cached_AllocatesNothing()
    {
        var members = new List<RingMember>();
        for (var i = 0; i < 20; i++)
        {
            members.Add(Member(Name(i), i % 2 == 0 ? "dc1" : "dc2", "r" + (i % 3)));
        }

        var placement = Placement.Create(TokenAllocator.Initial(members), ReplicationSettings.Parse("dc1:3,dc2:2"));
        var usable = new bool[placement.Ring.MemberCount];
        Array.Fill(usable, true);
        usable[3] = false;
        usable[8] = false;
        var destination = new SloppyReplica[placement.ReplicaCount];
        var sink = 0;
        PreferenceList.Sloppy(placement, new Token(1), usable, destination);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0UL; i < 10_000; i++)
        {
            var token = new Token(i * 0x9E3779B97F4A7C15UL);
            sink += PreferenceList.For(placement, token).Length;
            sink += PreferenceList.Sloppy(placement, token, usable, destination);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(sink > 0);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Sloppy_EveryReplicaUsable_IsTheNaturalList()
    {
        var ring = InOrder(("a", "dc1", "r1"), ("b", "dc1", "r1"), ("c", "dc1", "r1"), ("d", "dc1", "r1"));
        var placement = Placement.Create(ring, ReplicationSettings.Uniform(3));
        var destination = new SloppyReplica[3];
        var count = PreferenceList.Sloppy(placement, new Token(150), [true, true, true, true], destination);
        Assert.Equal([new(new NodeId("b"), new NodeId("b")), new(new NodeId("c"), new NodeId("c")), new(new NodeId("d"), new NodeId("d"))], destination[..count]);
    }

    [Fact]
    public void Sloppy_DownReplica_IsReplacedByTheNextUsableNodeOfItsDataCenter()
    {
        // Clockwise from b: b c d e x f. c is down; d and e are natural; x is in the other data center; f stands in.
        var ring = InOrder(("a", "dc1", "r1"), ("b", "dc1", "r1"), ("c", "dc1", "r1"), ("d", "dc1", "r1"), ("e", "dc1", "r1"), ("x", "dc2", "r1"), ("f", "dc1", "r1"));
        var placement = Placement.Create(ring, ReplicationSettings.Parse("dc1:4,dc2:1"));
        var usable = Usable(ring, "c");
        var destination = new SloppyReplica[placement.ReplicaCount];
        var count = PreferenceList.Sloppy(placement, new Token(200), usable, destination);
        Assert.Equal(Ids("b", "c", "d", "e", "x"), placement.For(new Token(200)).ToArray());
        Assert.Equal(
            [Natural("b"), new(new NodeId("f"), new NodeId("c")), Natural("d"), Natural("e"), Natural("x")],
            destination[..count]);
        Assert.True(destination[1].IsStandIn);
        Assert.False(destination[0].IsStandIn);
    }

    [Fact]
    public void Sloppy_TwoDownReplicas_TakeStandInsInPreferenceOrder()
    {
        var ring = InOrder(("a", "dc1", "r1"), ("b", "dc1", "r1"), ("c", "dc1", "r1"), ("d", "dc1", "r1"), ("e", "dc1", "r1"), ("f", "dc1", "r1"));
        var placement = Placement.Create(ring, ReplicationSettings.Uniform(3));
        var destination = new SloppyReplica[3];
        var count = PreferenceList.Sloppy(placement, new Token(100), Usable(ring, "a", "c", "d"), destination);
        Assert.Equal([new(new NodeId("e"), new NodeId("a")), Natural("b"), new(new NodeId("f"), new NodeId("c"))], destination[..count]);
    }

    [Fact]
    public void Sloppy_NoUsableNodeLeftInTheDataCenter_LeavesTheReplicaOut()
    {
        var ring = InOrder(("a", "dc1", "r1"), ("b", "dc1", "r1"), ("x", "dc2", "r1"), ("y", "dc2", "r1"));
        var placement = Placement.Create(ring, ReplicationSettings.Parse("dc1:2,dc2:1"));
        var destination = new SloppyReplica[placement.ReplicaCount];

        // b down; the only other dc1 node is a, already natural; y (dc2) may not stand in for dc1.
        var count = PreferenceList.Sloppy(placement, new Token(100), Usable(ring, "b"), destination);
        Assert.Equal([Natural("a"), Natural("x")], destination[..count]);
    }

    private static SloppyReplica Natural(string name) => new(new NodeId(name), new NodeId(name));

    private static bool[] Usable(TokenRing ring, params string[] down)
    {
        var usable = new bool[ring.MemberCount];
        Array.Fill(usable, true);
        foreach (var name in down)
        {
            usable[ring.IndexOf(new NodeId(name))] = false;
        }

        return usable;
    }
}
