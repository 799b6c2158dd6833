using System;

namespace RingKV.Core.Random;

/// <summary>A seeded pseudo-random generator (SplitMix64), ours so that a seed replays the same run on any runtime.</summary>
/// <remarks>
/// Not thread-safe; give each thread its own. The sequence of a seed is pinned by a test and never changes: seeds
/// printed by failed test runs and simulation sweeps must replay. SplitMix64 (Steele, Lea and Flood; the seeding
/// generator of xoshiro) rather than <see cref="System.Random"/>: the latter's seeded sequence belongs to the runtime,
/// not to us. Rejected: xoshiro256**, of longer period and better equidistribution, neither of which a test or a
/// simulated network needs, for four words of state instead of one. Not for secrets.
/// </remarks>
public sealed class SplitMix64
{
    private ulong _state;

    /// <summary>A generator whose sequence is fixed by <paramref name="seed"/>.</summary>
    public SplitMix64(long seed)
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

    /// <summary>A number in [0, <paramref name="maxExclusive"/>). Requires: <paramref name="maxExclusive"/> &gt; 0.</summary>
    /// <remarks>The remainder of 64 random bits: biased by less than 2^-32 for any int bound, and one draw per call.</remarks>
    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(maxExclusive, 0);
        return (int)(NextUInt64() % (ulong)maxExclusive);
    }

    /// <summary>A number in [<paramref name="minInclusive"/>, <paramref name="maxExclusive"/>). Requires: min &lt; max.</summary>
    public int Next(int minInclusive, int maxExclusive) => minInclusive + Next(maxExclusive - minInclusive);

    /// <summary>True with probability <paramref name="percent"/> / 100.</summary>
    public bool Chance(int percent) => Next(100) < percent;

    /// <summary>Fills <paramref name="destination"/> with random bytes, eight per draw, least significant byte first.</summary>
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
