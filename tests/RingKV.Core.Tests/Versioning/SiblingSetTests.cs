using System;
using RingKV.Core.Errors;
using RingKV.Core.Versioning;
using Xunit;
using TextEncoding = System.Text.Encoding;

namespace RingKV.Core.Tests.Versioning;

public sealed class SiblingSetTests
{
    private const ulong NodeA = 0xA1A1_0000_0000_0001;
    private const ulong NodeB = 0xB2B2_0000_0000_0002;
    private const int MaxEntries = 10;

    private static ReadOnlyMemory<byte> V(string text) => TextEncoding.UTF8.GetBytes(text);

    private static string Text(Sibling sibling) => TextEncoding.UTF8.GetString(sibling.Value.Span);

    [Fact]
    public void Put_BlindSetRepeated100Times_LeavesOneSibling()
    {
        var set = SiblingSet.Empty;
        for (var i = 0; i < 100; i++)
        {
            // A plain Redis SET passes the current context.
            set = set.Put(set.Context, V($"v{i}"), i % 2 == 0 ? NodeA : NodeB, 1000 + i, MaxEntries);
        }

        Assert.Equal(1, set.Count);
        Assert.Equal("v99", Text(set[0]));
        Assert.Equal(2, set.Context.Count);
    }

    [Fact]
    public void Put_EmptyContext_GrowsSiblings()
    {
        var set = SiblingSet.Empty;
        for (var i = 0; i < 5; i++)
        {
            set = set.Put(VersionVector.Empty, V($"v{i}"), NodeA, 1000 + i, MaxEntries);
        }

        Assert.Equal(5, set.Count);
    }

    [Fact]
    public void Put_TwoWritersSameOldContext_LeavesTwoSiblings()
    {
        var set = SiblingSet.Empty.Put(VersionVector.Empty, V("base"), NodeA, 1000, MaxEntries);
        var seen = set.Context;

        set = set.Put(seen, V("from-a"), NodeA, 1001, MaxEntries);
        set = set.Put(seen, V("from-b"), NodeB, 1002, MaxEntries);

        Assert.Equal(2, set.Count);
        Assert.Equal(["from-a", "from-b"], [Text(set[0]), Text(set[1])]);
    }

    [Fact]
    public void Put_MergedContextOfBoth_LeavesOneSibling()
    {
        var set = SiblingSet.Empty.Put(VersionVector.Empty, V("base"), NodeA, 1000, MaxEntries);
        var seen = set.Context;
        set = set.Put(seen, V("from-a"), NodeA, 1001, MaxEntries);
        set = set.Put(seen, V("from-b"), NodeB, 1002, MaxEntries);

        // The client read both siblings (KV.GET) and writes a resolution with the context it got.
        set = set.Put(set.Context, V("resolved"), NodeB, 1003, MaxEntries);

        Assert.Equal(1, set.Count);
        Assert.Equal("resolved", Text(set[0]));
    }

    [Fact]
    public void Put_OnOtherReplicasWithSameOldContext_MergeKeepsBoth()
    {
        var baseSet = SiblingSet.Empty.Put(VersionVector.Empty, V("base"), NodeA, 1000, MaxEntries);
        var onA = baseSet.Put(baseSet.Context, V("from-a"), NodeA, 1001, MaxEntries);
        var onB = baseSet.Put(baseSet.Context, V("from-b"), NodeB, 1002, MaxEntries);

        var merged = onA.Merge(onB);

        Assert.Equal(2, merged.Count);
        Assert.Equal(merged, onB.Merge(onA));
        Assert.Equal(merged, merged.Merge(onA));
    }

    [Fact]
    public void Delete_ConcurrentWithPut_KeepsBoth()
    {
        var baseSet = SiblingSet.Empty.Put(VersionVector.Empty, V("base"), NodeA, 1000, MaxEntries);
        var seen = baseSet.Context;
        var onA = baseSet.Delete(seen, NodeA, 1005, MaxEntries);
        var onB = baseSet.Put(seen, V("new"), NodeB, 1001, MaxEntries);

        var merged = onA.Merge(onB);

        Assert.Equal(2, merged.Count);
        Assert.True(merged[0].IsTombstone);
        Assert.Equal("new", Text(merged[1]));
        Assert.False(merged.IsDeleted);

        // The delete is later, so plain GET sees the key as absent.
        Assert.False(merged.TryGetWinnerValue(out _));
    }

    [Fact]
    public void Delete_WithFullContext_LeavesOnlyTombstone()
    {
        var set = SiblingSet.Empty.Put(VersionVector.Empty, V("a"), NodeA, 1000, MaxEntries);
        set = set.Put(VersionVector.Empty, V("b"), NodeB, 1001, MaxEntries);

        set = set.Delete(set.Context, NodeA, 1002, MaxEntries);

        Assert.Equal(1, set.Count);
        Assert.True(set.IsDeleted);
        Assert.True(set[0].Value.IsEmpty);
    }

    [Fact]
    public void Winner_ConcurrentSiblings_PicksLatestTimestamp()
    {
        var onA = SiblingSet.Empty.Put(VersionVector.Empty, V("late"), NodeA, 2000, MaxEntries);
        var onB = SiblingSet.Empty.Put(VersionVector.Empty, V("early"), NodeB, 1000, MaxEntries);
        var set = onB.Merge(onA);

        Assert.Equal(2, set.Count);
        Assert.Equal("late", Text(set.Winner!.Value));
        Assert.True(set.TryGetWinnerValue(out var value));
        Assert.Equal("late", TextEncoding.UTF8.GetString(value.Span));
    }

    [Fact]
    public void Winner_SameTimestamp_HigherActorWins()
    {
        var onB = SiblingSet.Empty.Put(VersionVector.Empty, V("b"), NodeB, 1000, MaxEntries);
        var onA = SiblingSet.Empty.Put(VersionVector.Empty, V("a"), NodeA, 1000, MaxEntries);
        var set = onA.Merge(onB);

        Assert.Equal(2, set.Count);
        Assert.Equal("b", Text(set.Winner!.Value));
    }

    [Fact]
    public void Put_ClockBehindTheSet_IsStampedAfterWhatItHolds()
    {
        // A write applied to a set orders after everything the set holds, as a clock that observed the set would stamp it.
        var set = SiblingSet.Empty.Put(VersionVector.Empty, V("old"), NodeA, 2000, MaxEntries);
        set = set.Put(VersionVector.Empty, V("new"), NodeB, 1000, MaxEntries);

        Assert.Equal(2, set.Count);
        Assert.Equal("new", Text(set.Winner!.Value));
        Assert.Equal(HybridTimestamp.FromUnixMs(2000).Successor(), set.Winner!.Value.Timestamp);
    }

    [Fact]
    public void Winner_Empty_IsNullAndNotDeleted()
    {
        Assert.Null(SiblingSet.Empty.Winner);
        Assert.False(SiblingSet.Empty.TryGetWinnerValue(out _));
        Assert.False(SiblingSet.Empty.IsDeleted);
        Assert.Equal(0, SiblingSet.Empty.Count);
    }

    [Fact]
    public void Put_ManyActors_BoundsContextEntries()
    {
        var set = SiblingSet.Empty;
        for (ulong actor = 1; actor <= 40; actor++)
        {
            set = set.Put(set.Context, V($"v{actor}"), actor, (long)actor, maxVectorEntries: 4);
            Assert.True(set.Context.Count <= 4);
            Assert.Equal(1, set.Count);
        }
    }

    [Fact]
    public void Put_MoreSiblingActorsThanBound_KeepsTheirEntries()
    {
        var set = SiblingSet.Empty;
        for (ulong actor = 1; actor <= 5; actor++)
        {
            set = set.Put(VersionVector.Empty, V($"v{actor}"), actor, (long)actor, maxVectorEntries: 2);
        }

        // The context must cover every sibling, so the bound yields.
        Assert.Equal(5, set.Count);
        Assert.Equal(5, set.Context.Count);
        foreach (var sibling in set)
        {
            Assert.True(set.Context.Covers(sibling.Dot));
        }
    }

    [Fact]
    public void Merge_TruncatedContext_SurfacesSupersededSiblingRatherThanLosingIt()
    {
        // Replica 1 holds A's write; replica 2 supersedes it, then truncation drops A's entry.
        var r1 = SiblingSet.Empty.Put(VersionVector.Empty, V("old"), NodeA, 1000, MaxEntries);
        var r2 = r1;
        for (ulong actor = 1; actor <= 3; actor++)
        {
            r2 = r2.Put(r2.Context, V($"new{actor}"), actor, 2000 + (long)actor, maxVectorEntries: 1);
        }

        Assert.Equal(0UL, r2.Context.Counter(NodeA));
        var merged = r1.Merge(r2);

        // The superseded write reappears as an apparent concurrent sibling: a false conflict, not a lost write.
        Assert.Equal(2, merged.Count);
        Assert.Equal("new3", Text(merged.Winner!.Value));
    }

    [Fact]
    public void Put_AfterOwnEntryTruncated_MintsDotNoReplicaCovers()
    {
        var r1 = SiblingSet.Empty.Put(VersionVector.Empty, V("a1"), NodeA, 1000, MaxEntries);
        r1 = r1.Put(r1.Context, V("a2"), NodeA, 1001, MaxEntries);
        var stale = r1;

        // Other actors write through A's replica until A's entry is truncated away.
        r1 = r1.Put(r1.Context, V("x"), 7, 2000, maxVectorEntries: 1);
        Assert.Equal(0UL, r1.Context.Counter(NodeA));

        r1 = r1.Put(r1.Context, V("a3"), NodeA, 3000, maxVectorEntries: 1);
        var merged = stale.Merge(r1);

        Assert.Contains(merged.Siblings.ToArray(), s => Text(s) == "a3");
    }

    [Fact]
    public void Put_ZeroMaxEntries_Throws() =>
        Assert.Equal(
            ErrorCode.InvalidArgument,
            Assert.Throws<RingKVException>(() => SiblingSet.Empty.Put(VersionVector.Empty, V("x"), NodeA, 0, 0)).Code);

    [Fact]
    public void Sibling_Equality_ComparesValueBytes()
    {
        var a = new Sibling(new Dot(1, 1), new HybridTimestamp(5), false, new byte[] { 1, 2 });
        var b = new Sibling(new Dot(1, 1), new HybridTimestamp(5), false, new byte[] { 1, 2 });
        var c = new Sibling(new Dot(1, 1), new HybridTimestamp(5), false, new byte[] { 1, 3 });

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }
}
