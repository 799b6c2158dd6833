using System;
using RingKV.Core.Errors;
using RingKV.Core.Versioning;
using Xunit;

namespace RingKV.Core.Tests.Versioning;

public sealed class VersionVectorTests
{
    private static VersionVector Vv(params (ulong Actor, ulong Counter, long Time)[] entries)
    {
        var array = new VersionVectorEntry[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            array[i] = new VersionVectorEntry(entries[i].Actor, entries[i].Counter, entries[i].Time);
        }

        return VersionVector.FromEntries(array);
    }

    [Fact]
    public void Increment_WithMinCounter_MintsAtLeastItAndStillAboveTheActorsCounter()
    {
        var (v1, d1) = VersionVector.Empty.Increment(9, 100, minCounter: 1_000);
        Assert.Equal(1_000UL, d1.Counter);
        var (v2, d2) = v1.Increment(9, 101, minCounter: 5); // a floor below the counter: the counter wins
        Assert.Equal(1_001UL, d2.Counter);
        Assert.Equal(1_001UL, v2.Counter(9));
        var (_, d3) = v2.Increment(9, 102, minCounter: 0);
        Assert.Equal(1_002UL, d3.Counter);
    }

    [Fact]
    public void Increment_NewActor_InsertsSortedWithCounterOne()
    {
        var (v1, d1) = VersionVector.Empty.Increment(9, 100);
        var (v2, d2) = v1.Increment(3, 200);
        var (v3, d3) = v2.Increment(9, 300);

        Assert.Equal(new Dot(9, 1), d1);
        Assert.Equal(new Dot(3, 1), d2);
        Assert.Equal(new Dot(9, 2), d3);
        Assert.Equal([new VersionVectorEntry(3, 1, 200), new VersionVectorEntry(9, 2, 300)], v3.Entries.ToArray());
        Assert.Equal(0UL, v3.Counter(5));
    }

    [Fact]
    public void Increment_ClockBehindEntry_KeepsLaterTime()
    {
        var (v, _) = Vv((1, 1, 500)).Increment(1, 100);
        Assert.Equal(500, v.Entries[0].LastUpdateUnixMs);
    }

    [Fact]
    public void Covers_DotAtOrBelowCounter_IsTrueAboveIsFalse()
    {
        var v = Vv((1, 3, 0));
        Assert.True(v.Covers(new Dot(1, 3)));
        Assert.True(v.Covers(new Dot(1, 1)));
        Assert.False(v.Covers(new Dot(1, 4)));
        Assert.False(v.Covers(new Dot(2, 1)));
    }

    [Fact]
    public void Compare_AllFourRelations_AreReported()
    {
        var a = Vv((1, 2, 0), (2, 1, 0));
        Assert.Equal(VersionOrder.Equal, a.Compare(Vv((1, 2, 9), (2, 1, 9))));
        Assert.Equal(VersionOrder.Descends, a.Compare(Vv((1, 2, 0))));
        Assert.Equal(VersionOrder.Precedes, a.Compare(Vv((1, 2, 0), (2, 1, 0), (3, 1, 0))));
        Assert.Equal(VersionOrder.Concurrent, a.Compare(Vv((1, 1, 0), (2, 2, 0))));
        Assert.True(a.Descends(a));
        Assert.True(a.Descends(VersionVector.Empty));
        Assert.False(VersionVector.Empty.Descends(a));
    }

    [Fact]
    public void Merge_Overlapping_TakesPointwiseMaxAndLaterTime()
    {
        var merged = Vv((1, 5, 10), (2, 1, 70)).Merge(Vv((2, 3, 20), (4, 1, 30)));
        Assert.Equal(
            [new VersionVectorEntry(1, 5, 10), new VersionVectorEntry(2, 3, 70), new VersionVectorEntry(4, 1, 30)],
            merged.Entries.ToArray());
    }

    [Fact]
    public void Truncate_BeyondBound_DropsLeastRecentlyUpdated()
    {
        var v = Vv((1, 4, 300), (2, 9, 100), (3, 1, 400), (4, 2, 200));
        var t = v.Truncate(2);

        Assert.Equal([new VersionVectorEntry(1, 4, 300), new VersionVectorEntry(3, 1, 400)], t.Entries.ToArray());
        Assert.Equal(9UL, t.TruncatedCounter);
        Assert.Same(v, v.Truncate(4));
    }

    [Fact]
    public void Truncate_ManyActors_BoundsEntries()
    {
        var v = VersionVector.Empty;
        for (ulong actor = 1; actor <= 50; actor++)
        {
            (v, _) = v.Increment(actor * 7919, (long)actor);
            v = v.Truncate(8);
            Assert.True(v.Count <= 8);
        }

        // The 8 most recently updated survive.
        Assert.Equal(43UL * 7919, v.Entries[0].Actor);
    }

    [Fact]
    public void Increment_AfterActorTruncated_NeverReusesDot()
    {
        var v = Vv((1, 5, 10), (2, 1, 20));
        var t = v.Truncate(1);
        Assert.Equal(0UL, t.Counter(1));

        var (_, dot) = t.Increment(1, 30);

        // Without the truncated counter the actor would mint (1,1), a dot other replicas already cover.
        Assert.False(v.Covers(dot));
        Assert.Equal(new Dot(1, 6), dot);
    }

    [Fact]
    public void FromEntries_Unsorted_Throws()
    {
        var ex = Assert.Throws<RingKVException>(() => VersionVector.FromEntries([new(2, 1, 0), new(1, 1, 0)]));
        Assert.Equal(ErrorCode.InvalidArgument, ex.Code);
        Assert.Throws<RingKVException>(() => VersionVector.FromEntries([new(1, 0, 0)]));
    }

    [Fact]
    public void Truncate_ZeroBound_Throws() =>
        Assert.Throws<RingKVException>(() => VersionVector.Empty.Truncate(0));

    [Fact]
    public void VersionOrder_Values_ArePinned()
    {
        Assert.Equal(0, (int)VersionOrder.Equal);
        Assert.Equal(1, (int)VersionOrder.Descends);
        Assert.Equal(2, (int)VersionOrder.Precedes);
        Assert.Equal(3, (int)VersionOrder.Concurrent);
        Assert.Equal(4, Enum.GetValues<VersionOrder>().Length);
    }
}
