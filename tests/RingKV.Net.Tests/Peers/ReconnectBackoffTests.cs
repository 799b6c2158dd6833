using System;
using RingKV.Net.Peers;
using Xunit;

namespace RingKV.Net.Tests.Peers;

public sealed class ReconnectBackoffTests
{
    private static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(5);

    [Theory]
    [InlineData(0, 0.0, 50)]
    [InlineData(0, 0.5, 75)]
    [InlineData(1, 0.0, 100)]
    [InlineData(2, 0.999, 399.8)]
    [InlineData(5, 0.0, 1600)]
    [InlineData(6, 0.0, 2500)] // 6400 capped at 5000
    [InlineData(1000, 0.5, 3750)]
    public void Delay_AttemptAndJitter_ExponentialCappedEqualJitter(int attempt, double jitter, double expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), ReconnectBackoff.Delay(attempt, Initial, Max, jitter));
    }

    [Fact]
    public void Delay_AnyJitter_BetweenHalfAndAllOfTheExponentialDelay()
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var full = TimeSpan.FromTicks(Math.Min(Initial.Ticks << attempt, Max.Ticks));
            for (var jitter = 0.0; jitter < 1; jitter += 0.01)
            {
                var delay = ReconnectBackoff.Delay(attempt, Initial, Max, jitter);
                Assert.InRange(delay, full / 2, full);
            }
        }
    }
}
