using System;
using System.Collections.Generic;
using RingKV.Storage.Filters;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Filters;

public sealed class BloomFilterTests
{
    private readonly ITestOutputHelper _output;

    public BloomFilterTests(ITestOutputHelper output) => _output = output;

    private static BloomFilter Build(IEnumerable<ulong> tokens, int bitsPerKey)
    {
        var builder = new BloomFilterBuilder(bitsPerKey);
        foreach (var token in tokens)
        {
            builder.AddToken(token);
        }

        var bytes = builder.Finish();
        Assert.True(BloomFilter.TryCreate(bytes, bytes.Length, out var filter));
        return filter;
    }

    private static ulong[] RandomTokens(Random random, int count)
    {
        var tokens = new ulong[count];
        for (var i = 0; i < count; i++)
        {
            tokens[i] = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 63);
        }

        return tokens;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(20)]
    public void MayContain_AddedTokens_NoFalseNegatives(int bitsPerKey)
    {
        var tokens = RandomTokens(new Random(TestSeed.Get(nameof(MayContain_AddedTokens_NoFalseNegatives))), 100_000);
        var filter = Build(tokens, bitsPerKey);
        foreach (var token in tokens)
        {
            Assert.True(filter.MayContain(token));
        }
    }

    [Fact]
    public void MayContain_TenBitsPerKey_FalsePositiveRateUnderTwoPercent()
    {
        var random = new Random(TestSeed.Get(nameof(MayContain_TenBitsPerKey_FalsePositiveRateUnderTwoPercent)));
        var added = RandomTokens(random, 100_000);
        var filter = Build(added, 10);
        var set = new HashSet<ulong>(added);
        int probes = 0, positives = 0;
        foreach (var token in RandomTokens(random, 200_000))
        {
            if (set.Contains(token))
            {
                continue;
            }

            probes++;
            positives += filter.MayContain(token) ? 1 : 0;
        }

        var rate = (double)positives / probes;
        _output.WriteLine($"false-positive rate at 10 bits/key, 6 probes: {rate:P3} ({positives}/{probes}), filter {filter.SizeBytes} bytes");
        Assert.True(rate < 0.02, $"false-positive rate {rate:P3}");
    }

    [Fact]
    public void MayContain_NarrowTokenRange_FalsePositiveRateStillLow()
    {
        // A table holding one vnode's range: tokens share their high bits.
        var random = new Random(TestSeed.Get(nameof(MayContain_NarrowTokenRange_FalsePositiveRateStillLow)));
        const ulong Base = 0x1234_5600_0000_0000UL;
        var added = new ulong[50_000];
        for (var i = 0; i < added.Length; i++)
        {
            added[i] = Base + (ulong)random.NextInt64(0, 1L << 40);
        }

        var filter = Build(added, 10);
        var set = new HashSet<ulong>(added);
        int probes = 0, positives = 0;
        for (var i = 0; i < 100_000; i++)
        {
            var token = Base + (ulong)random.NextInt64(0, 1L << 40);
            if (!set.Contains(token))
            {
                probes++;
                positives += filter.MayContain(token) ? 1 : 0;
            }
        }

        Assert.True((double)positives / probes < 0.02, $"false-positive rate {(double)positives / probes:P3}");
    }

    [Fact]
    public void Finish_NoTokensOrZeroBits_ReturnsEmpty()
    {
        Assert.Empty(new BloomFilterBuilder(10).Finish());
        var builder = new BloomFilterBuilder(0);
        builder.AddToken(42);
        Assert.Empty(builder.Finish());
    }

    [Fact]
    public void AddToken_ConsecutiveDuplicates_CountOnce()
    {
        var builder = new BloomFilterBuilder(10);
        builder.AddToken(1);
        builder.AddToken(1);
        builder.AddToken(2);
        Assert.Equal(2, builder.TokenCount);
    }

    [Theory]
    [InlineData(10, 6)]
    [InlineData(1, 1)]
    [InlineData(5, 3)]
    [InlineData(16, 9)]
    public void ProbesFor_BitsPerKey_MatchesTable(int bitsPerKey, int probes) =>
        Assert.Equal(probes, BloomFilterBuilder.ProbesFor(bitsPerKey));

    [Fact]
    public void TryCreate_MalformedBytes_ReturnsFalse()
    {
        var builder = new BloomFilterBuilder(10);
        builder.AddToken(5);
        var bytes = builder.Finish();
        Assert.False(BloomFilter.TryCreate(bytes, bytes.Length - 1, out _));
        var badFormat = (byte[])bytes.Clone();
        badFormat[^4] = 9;
        Assert.False(BloomFilter.TryCreate(badFormat, badFormat.Length, out _));
        Assert.False(BloomFilter.TryCreate([], 0, out _));
    }
}
