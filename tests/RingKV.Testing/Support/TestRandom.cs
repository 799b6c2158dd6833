using System;

namespace RingKV.Testing.Support;

/// <summary>A small seeded PRNG (SplitMix64) of our own, so a seed replays the same run on any runtime.</summary>
/// <remarks>Not thread-safe; give each thread its own.</remarks>
public sealed class TestRandom
{
    private ulong _state;

    public TestRandom(long seed)
    {
        _state = (ulong)seed;
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A number in [0, maxExclusive). Requires: maxExclusive &gt; 0.</summary>
    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(maxExclusive, 0);
        return (int)(NextUInt64() % (ulong)maxExclusive);
    }

    /// <summary>A number in [minInclusive, maxExclusive).</summary>
    public int Next(int minInclusive, int maxExclusive) => minInclusive + Next(maxExclusive - minInclusive);

    /// <summary>True with probability <paramref name="percent"/> / 100.</summary>
    public bool Chance(int percent) => Next(100) < percent;

    /// <summary>Fills <paramref name="destination"/> with random bytes.</summary>
    public void NextBytes(Span<byte> destination)
    {
        var i = 0;
        while (i < destination.Length)
        {
            var r = NextUInt64();
            for (var b = 0; b < 8 && i < destination.Length; b++, i++)
            {
                destination[i] = (byte)(r >> (8 * b));
            }
        }
    }

    /// <summary>A fresh array of <paramref name="length"/> random bytes.</summary>
    public byte[] NextBytes(int length)
    {
        var bytes = new byte[length];
        NextBytes(bytes);
        return bytes;
    }
}
