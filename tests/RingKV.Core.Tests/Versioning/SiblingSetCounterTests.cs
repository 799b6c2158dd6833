using RingKV.Core.Versioning;
using Xunit;

namespace RingKV.Core.Tests.Versioning;

/// <summary>Counters (INCR, DECR, INCRBY, DECRBY) across replicas, as their sets merge.</summary>
public sealed class SiblingSetCounterTests
{
    private const ulong NodeA = 0xA1A1_0000_0000_0001;
    private const ulong ActorA = 0xAAAA;
    private const ulong ActorB = 0xBBBB;
    private const int MaxEntries = 10;

    private static SiblingSet Increment(SiblingSet set, ulong actor, long delta, bool expired = false)
    {
        Assert.True(set.TryIncrement(actor, delta, expired, out var result, out var error), error);
        return result;
    }

    /// <summary>SET k 5 EX ..., then two increments by actor A: every replica holds this (7, A at version 2).</summary>
    private static SiblingSet CountedToSeven()
    {
        var set = SiblingSet.Empty.PutLww("5"u8.ToArray(), NodeA, HybridTimestamp.FromUnixMs(1_000), MaxEntries);
        return Increment(Increment(set, ActorA, 1), ActorA, 1);
    }

    [Fact]
    public void TryIncrement_AfterExpiry_OtherReplicasOfTheExpiredCountDoNotBringItBack()
    {
        // Found while adding counters to the simulator: the increment after the expiry restarted the count over the
        // expired write itself, so the other replicas' entries (A at version 2) won the join: 7 came back, the 1 was lost.
        var replica = CountedToSeven();
        var afterExpiry = Increment(replica, ActorA, 1, expired: true);
        Assert.Equal(1, afterExpiry.Counter!.Total);

        Assert.Equal(1, replica.Merge(afterExpiry).Counter!.Total);
        Assert.Equal(1, afterExpiry.Merge(replica).Counter!.Total);
        Assert.True(replica.Merge(afterExpiry).TryGetWinnerValue(out var value));
        Assert.Equal("1"u8.ToArray(), value.ToArray());
    }

    [Fact]
    public void TryIncrement_AfterExpiryThroughTwoCoordinators_AddsBoth()
    {
        var replica = CountedToSeven();
        var viaA = Increment(replica, ActorA, 1, expired: true);
        var viaB = Increment(replica, ActorB, 10, expired: true);

        Assert.Equal(11, viaA.Merge(viaB).Counter!.Total);
        Assert.Equal(11, viaB.Merge(replica).Merge(viaA).Counter!.Total);
    }

    [Fact]
    public void TryIncrement_AfterExpiry_ALaterPlainWriteStillWins()
    {
        var afterExpiry = Increment(CountedToSeven(), ActorA, 1, expired: true);
        var set = SiblingSet.Empty.PutLww("42"u8.ToArray(), NodeA, HybridTimestamp.FromUnixMs(2_000), MaxEntries);

        var merged = afterExpiry.Merge(set);
        Assert.Null(merged.Counter);
        Assert.True(merged.TryGetWinnerValue(out var value));
        Assert.Equal("42"u8.ToArray(), value.ToArray());
    }
}
