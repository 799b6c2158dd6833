using System;
using CsCheck;
using RingKV.Core.Errors;
using RingKV.Core.Versioning;
using Xunit;

namespace RingKV.Core.Tests.Versioning;

public sealed class HybridClockTests
{
    private const long Now = 1_700_000_000_000;

    [Fact]
    public void Next_PhysicalTimeAdvances_FollowsItWithLogicalZero()
    {
        var clock = new HybridClock(HybridTimestamp.MinValue);
        Assert.Equal(HybridTimestamp.FromUnixMs(Now), clock.Next(Now));
        Assert.Equal(HybridTimestamp.FromUnixMs(Now + 5), clock.Next(Now + 5));
    }

    [Fact]
    public void Next_PhysicalTimeStandsStillOrStepsBack_TicksTheLogicalCounter()
    {
        var clock = new HybridClock(HybridTimestamp.MinValue);
        var first = clock.Next(Now);
        var second = clock.Next(Now);
        var third = clock.Next(Now - 1000);

        Assert.Equal(Now, second.UnixMs);
        Assert.Equal(1, second.Logical);
        Assert.Equal(Now, third.UnixMs);
        Assert.Equal(2, third.Logical);
        Assert.True(first < second && second < third);
    }

    [Fact]
    public void Next_AfterObservingAFasterClock_IsAboveWhatItObserved()
    {
        var clock = new HybridClock(HybridTimestamp.MinValue);
        var ahead = new HybridTimestamp(HybridTimestamp.FromUnixMs(Now + 60_000).Value + 7);
        clock.Observe(ahead);

        Assert.Equal(ahead.Successor(), clock.Next(Now));

        // Observing the past changes nothing.
        clock.Observe(HybridTimestamp.FromUnixMs(Now));
        Assert.Equal(ahead.Successor().Successor(), clock.Next(Now));
    }

    [Fact]
    public void Next_RestartedFromFloorWithClockBehind_IssuesAboveTheFloor()
    {
        var before = new HybridClock(HybridTimestamp.MinValue);
        HybridTimestamp last = default;
        for (var i = 0; i < 10; i++)
        {
            last = before.Next(Now + i);
        }

        // The host persisted the floor; the machine comes back with its clock an hour behind.
        var after = new HybridClock(before.Last);
        var first = after.Next(Now - 3_600_000);

        Assert.True(first > last);
    }

    [Fact]
    public void Next_LogicalCounterFull_CarriesIntoTheMilliseconds()
    {
        var full = new HybridTimestamp(HybridTimestamp.FromUnixMs(Now).Value | 0xFFFF);
        var clock = new HybridClock(full);

        var next = clock.Next(Now);

        Assert.Equal(Now + 1, next.UnixMs);
        Assert.Equal(0, next.Logical);
    }

    [Fact]
    public void Observe_WrittenSibling_TakesInItsCounterToo()
    {
        // A set may mint a counter above the clock's value (a truncated counter from a faster actor).
        var clock = new HybridClock(HybridTimestamp.MinValue);
        var written = new Sibling(new Dot(1, (ulong)HybridTimestamp.FromUnixMs(Now + 10).Value), HybridTimestamp.FromUnixMs(Now), false, ReadOnlyMemory<byte>.Empty);

        clock.Observe(written);

        Assert.True((ulong)clock.Next(Now).Value > written.Dot.Counter);
    }

    [Fact]
    public void Next_PhysicalTimeOutOfRange_Throws() =>
        Assert.Equal(ErrorCode.InvalidArgument, Assert.Throws<RingKVException>(() => new HybridClock(HybridTimestamp.MinValue).Next(HybridTimestamp.MaxUnixMs + 1)).Code);

    [Fact]
    public void Next_RandomPhysicalTimesAndObservations_StrictlyIncreasingAboveBoth() =>
        Gen.Select(Gen.Long[-50, 50], Gen.Bool, Gen.Long[-100_000, 100_000]).Array[1, 200].Sample(steps =>
        {
            var clock = new HybridClock(HybridTimestamp.MinValue);
            var physical = Now;
            var previous = HybridTimestamp.MinValue;
            var observed = HybridTimestamp.MinValue;
            foreach (var (step, observe, offset) in steps)
            {
                physical += step;
                if (observe)
                {
                    var seen = new HybridTimestamp(HybridTimestamp.FromUnixMs(physical).Value + (offset << 8));
                    clock.Observe(seen);
                    observed = HybridTimestamp.Max(observed, seen);
                    continue;
                }

                var next = clock.Next(physical);
                Assert.True(next > previous, "not strictly increasing");
                Assert.True(next > observed, "not above an observed timestamp");
                Assert.True(next.UnixMs >= physical, "behind physical time");
                previous = next;
            }
        });

    [Fact]
    public void HybridTimestamp_Packing_OrdersByMillisecondsThenLogical() =>
        Gen.Select(Gen.Long[HybridTimestamp.MinUnixMs, HybridTimestamp.MaxUnixMs], Gen.Int[0, 0xFFFF], Gen.Long[HybridTimestamp.MinUnixMs, HybridTimestamp.MaxUnixMs], Gen.Int[0, 0xFFFF])
            .Sample((ms1, l1, ms2, l2) =>
            {
                var a = new HybridTimestamp(HybridTimestamp.FromUnixMs(ms1).Value | (long)l1);
                var b = new HybridTimestamp(HybridTimestamp.FromUnixMs(ms2).Value | (long)l2);
                Assert.Equal((ms1, l1), (a.UnixMs, a.Logical));
                Assert.Equal(Math.Sign((ms1, l1).CompareTo((ms2, l2))), Math.Sign(a.CompareTo(b)));
            });

    [Fact]
    public void HybridTimestamp_FromUnixMsOutOfRange_Refuses()
    {
        Assert.False(HybridTimestamp.TryFromUnixMs(HybridTimestamp.MaxUnixMs + 1, out _));
        Assert.False(HybridTimestamp.TryFromUnixMs(HybridTimestamp.MinUnixMs - 1, out _));
        Assert.True(HybridTimestamp.TryFromUnixMs(-3, out var negative));
        Assert.Equal(-3, negative.UnixMs);
        Assert.Equal(0, negative.Logical);
    }
}
