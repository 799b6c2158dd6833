using RingKV.Core.Random;
using Xunit;

namespace RingKV.Core.Tests.Random;

public sealed class SplitMix64Tests
{
    [Fact]
    public void NextUInt64_KnownSeeds_ArePinned()
    {
        // The reference sequence of SplitMix64 (Vigna's splitmix64.c): every printed seed must keep replaying.
        var zero = new SplitMix64(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, zero.NextUInt64());
        Assert.Equal(0x6E789E6AA1B965F4UL, zero.NextUInt64());
        Assert.Equal(0x06C45D188009454FUL, zero.NextUInt64());

        var seeded = new SplitMix64(1234567);
        Assert.Equal(0x599ED017FB08FC85UL, seeded.NextUInt64());
        Assert.Equal(0x2C73F08458540FA5UL, seeded.NextUInt64());
        Assert.Equal(0x883EBCE5A3F27C77UL, seeded.NextUInt64());

        var negative = new SplitMix64(-1);
        Assert.Equal(0xE4D971771B652C20UL, negative.NextUInt64());
    }

    [Fact]
    public void NextAndNextBytes_DerivedFromTheSequence_ArePinned()
    {
        // Next(n) is the draw modulo n; NextBytes takes each draw's bytes least significant first.
        Assert.Equal((int)(0xE220A8397B1DCDAFUL % 1000), new SplitMix64(0).Next(1000));
        Assert.Equal(10 + (int)(0xE220A8397B1DCDAFUL % 5), new SplitMix64(0).Next(10, 15));
        Assert.Equal(
            [0xAF, 0xCD, 0x1D, 0x7B, 0x39, 0xA8, 0x20, 0xE2, 0xF4, 0x65],
            new SplitMix64(0).NextBytes(10));
    }

    [Fact]
    public void Next_AnyBound_StaysInRange()
    {
        var rng = new SplitMix64(42);
        for (var i = 0; i < 10_000; i++)
        {
            var n = rng.Next(1, 1000);
            var value = rng.Next(n);
            Assert.InRange(value, 0, n - 1);
        }
    }
}
