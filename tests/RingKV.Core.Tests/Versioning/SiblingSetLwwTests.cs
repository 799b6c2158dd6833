using System;
using RingKV.Core.Versioning;
using Xunit;
using TextEncoding = System.Text.Encoding;

namespace RingKV.Core.Tests.Versioning;

/// <summary>Plain writes (last-writer-wins) beside versioned ones.</summary>
public sealed class SiblingSetLwwTests
{
    private const ulong NodeA = 0xA1A1_0000_0000_0001;
    private const ulong NodeB = 0xB2B2_0000_0000_0002;
    private const ulong NodeC = 0xC3C3_0000_0000_0003;
    private const int MaxEntries = 10;

    private static ReadOnlyMemory<byte> V(string text) => TextEncoding.UTF8.GetBytes(text);

    private static string Text(Sibling sibling) => TextEncoding.UTF8.GetString(sibling.Value.Span);

    private static HybridTimestamp T(long ms) => HybridTimestamp.FromUnixMs(ms);

    private static string[] Texts(SiblingSet set)
    {
        var texts = new string[set.Count];
        for (var i = 0; i < texts.Length; i++)
        {
            texts[i] = set[i].IsTombstone ? "<tombstone>" : Text(set[i]);
        }

        Array.Sort(texts, StringComparer.Ordinal);
        return texts;
    }

    [Fact]
    public void PutLww_Repeated100TimesByTwoActors_LeavesOneSibling()
    {
        var set = SiblingSet.Empty;
        for (var i = 0; i < 100; i++)
        {
            set = set.PutLww(V($"v{i}"), i % 2 == 0 ? NodeA : NodeB, T(1000 + i), MaxEntries);
        }

        Assert.Equal(1, set.Count);
        Assert.Equal("v99", Text(set[0]));
        Assert.True(set[0].IsLww);
        Assert.Equal(set[0].Stamp, set.LwwFloor);
    }

    [Fact]
    public void PutLww_OnTwoReplicasConcurrently_BothConvergeOnTheLaterStamp()
    {
        var baseSet = SiblingSet.Empty.PutLww(V("base"), NodeA, T(1000), MaxEntries);
        var onA = baseSet.PutLww(V("from-a"), NodeA, T(1005), MaxEntries);
        var onB = baseSet.PutLww(V("from-b"), NodeB, T(1003), MaxEntries);

        var ab = onA.Merge(onB);

        Assert.Equal(ab, onB.Merge(onA));
        Assert.Equal(["from-a"], Texts(ab));
    }

    [Fact]
    public void PutLww_SameTimestampOnTwoReplicas_HigherDotWins()
    {
        var onA = SiblingSet.Empty.PutLww(V("from-a"), NodeA, T(1000), MaxEntries);
        var onB = SiblingSet.Empty.PutLww(V("from-b"), NodeB, T(1000), MaxEntries);

        Assert.Equal(["from-b"], Texts(onA.Merge(onB)));
        Assert.Equal(["from-b"], Texts(onB.Merge(onA)));
    }

    [Fact]
    public void Put_WithoutContextAfterPlainSet_StaysASiblingAndWinsPlainGet()
    {
        var plain = SiblingSet.Empty.PutLww(V("plain"), NodeA, T(1000), MaxEntries);
        var set = plain.Put(VersionVector.Empty, V("versioned"), NodeB, T(1001), MaxEntries);

        Assert.Equal(["plain", "versioned"], Texts(set));
        Assert.Equal("versioned", Text(set.Winner!.Value));

        // A replica that has only the plain SET keeps both after the exchange.
        Assert.Equal(set, set.Merge(plain));
        Assert.Equal(set, plain.Merge(set));
    }

    [Fact]
    public void Put_WithContextThatSawThePlainSet_SupersedesItAndKeepsTheFloor()
    {
        var plain = SiblingSet.Empty.PutLww(V("plain"), NodeA, T(1000), MaxEntries);
        var set = plain.Put(plain.Context, V("versioned"), NodeB, T(1001), MaxEntries);

        Assert.Equal(["versioned"], Texts(set));
        Assert.Equal(plain[0].Stamp, set.LwwFloor);
        Assert.True(set.HasDetachedFloor);
        Assert.Equal(T(1001), set.MaxTimestamp);
    }

    [Fact]
    public void Merge_PlainSetLaterThanAConcurrentKvPut_DropsTheKvPut()
    {
        var versioned = SiblingSet.Empty.Put(VersionVector.Empty, V("versioned"), NodeA, T(1000), MaxEntries);
        var plain = SiblingSet.Empty.PutLww(V("plain"), NodeB, T(1001), MaxEntries);
        var later = SiblingSet.Empty.Put(VersionVector.Empty, V("later"), NodeC, T(1002), MaxEntries);

        Assert.Equal(["plain"], Texts(versioned.Merge(plain)));
        Assert.Equal(["later", "plain"], Texts(versioned.Merge(plain).Merge(later)));
    }

    [Fact]
    public void Merge_PlainSetSupersededByKvPut_StillDropsOlderWritesItMeetsLater()
    {
        // s and m are plain SETs, m later; p is a KV.PUT that saw m only. Grouped either way the merge must agree,
        // and s must stay superseded by m even though p superseded m.
        var s = SiblingSet.Empty.PutLww(V("s"), NodeA, T(1005), MaxEntries);
        var m = SiblingSet.Empty.PutLww(V("m"), NodeB, T(1010), MaxEntries);
        var p = m.Put(m.Context, V("p"), NodeC, T(1011), MaxEntries);

        var left = s.Merge(m).Merge(p);
        var right = s.Merge(m.Merge(p));

        Assert.Equal(["p"], Texts(left));
        Assert.Equal(left, right);
        Assert.Equal(left, p.Merge(s));
    }

    [Fact]
    public void DeleteLww_LaterThanAPlainSetOnAnotherReplica_HidesTheValue()
    {
        var set = SiblingSet.Empty.PutLww(V("v"), NodeA, T(1000), MaxEntries);
        var deleted = SiblingSet.Empty.DeleteLww(NodeB, T(1001), MaxEntries);

        var merged = set.Merge(deleted);

        Assert.Equal(1, merged.Count);
        Assert.True(merged.IsDeleted);
        Assert.True(merged[0].IsLww);
        Assert.False(merged.TryGetWinnerValue(out _));

        // A plain SET later than the tombstone brings the key back.
        var again = merged.Merge(SiblingSet.Empty.PutLww(V("again"), NodeC, T(1002), MaxEntries));
        Assert.Equal(["again"], Texts(again));
    }

    [Fact]
    public void PutLww_ClockBehindTheFloor_IsStampedAboveItNotLost()
    {
        var set = SiblingSet.Empty.PutLww(V("ahead"), NodeA, T(5000), MaxEntries);
        set = set.PutLww(V("behind"), NodeB, T(1000), MaxEntries);

        Assert.Equal(["behind"], Texts(set));
        Assert.True(set[0].Timestamp > T(5000));
    }

    [Fact]
    public void PutLww_CoordinatorWithoutACopy_MintsAFreshDotFromTheTimestamp()
    {
        var replica = SiblingSet.Empty.PutLww(V("first"), NodeA, T(1000), MaxEntries);

        // NodeA no longer holds the key (it was reaped, or NodeA is not a replica): it writes from the empty set.
        var fresh = SiblingSet.Empty.PutLww(V("second"), NodeA, T(1001), MaxEntries);

        Assert.NotEqual(replica[0].Dot, fresh[0].Dot);
        Assert.Equal((ulong)T(1001).Value, fresh[0].Dot.Counter);
        Assert.Equal(["second"], Texts(replica.Merge(fresh)));
    }

    [Fact]
    public void Put_SingleNodeOverloads_KeepCountersFromMinCounter()
    {
        // The physical-time overloads are the single node's: counters come from its floor, not from the time.
        var set = SiblingSet.Empty.Put(VersionVector.Empty, V("v"), NodeA, 1000, MaxEntries, minCounter: 7);

        Assert.Equal(new Dot(NodeA, 7), set[0].Dot);
        Assert.Equal(T(1000), set[0].Timestamp);
        Assert.False(set[0].IsLww);
    }
}
