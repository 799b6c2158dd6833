using System;

namespace RingKV.Bench;

/// <summary>A seeded xoshiro256** generator, so a <c>--seed</c> replays the same keys on any runtime.</summary>
/// <remarks>Not thread-safe: each worker thread owns one. <see cref="System.Random"/> is rejected because its seeded sequence is not promised across runtimes.</remarks>
internal sealed class BenchRandom
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    /// <summary>Seeds the state through SplitMix64, as the xoshiro authors recommend.</summary>
    public BenchRandom(ulong seed)
    {
        _s0 = SplitMix(ref seed);
        _s1 = SplitMix(ref seed);
        _s2 = SplitMix(ref seed);
        _s3 = SplitMix(ref seed);
    }

    /// <summary>A uniformly random 64-bit value.</summary>
    public ulong NextUInt64()
    {
        var result = RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniformly random value in [0, <paramref name="bound"/>). Requires: bound &gt; 0.</summary>
    public long NextInt64(long bound)
    {
        // Lemire's multiply-shift; the bias for bounds far below 2^64 is negligible for a benchmark.
        return (long)Math.BigMul(NextUInt64(), (ulong)bound, out _);
    }

    /// <summary>A uniformly random double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Fills <paramref name="destination"/> with random bytes.</summary>
    public void NextBytes(Span<byte> destination)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = (byte)NextUInt64();
        }
    }

    /// <summary>Derives an independent seed for a stream, e.g. one per workload and thread.</summary>
    public static ulong Derive(ulong seed, ulong stream)
    {
        var s = seed ^ (stream * 0x9E3779B97F4A7C15UL);
        return SplitMix(ref s);
    }

    private static ulong SplitMix(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
