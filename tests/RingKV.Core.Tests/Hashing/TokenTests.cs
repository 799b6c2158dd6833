using System;
using RingKV.Core.Hashing;
using Xunit;

namespace RingKV.Core.Tests.Hashing;

public sealed class TokenTests
{
    [Fact]
    public void Of_KnownKey_IsPinned()
    {
        // The token function is part of the disk format and the ring: this value must never change.
        Assert.Equal(System.IO.Hashing.XxHash64.HashToUInt64("hello"u8), Token.Of("hello"u8).Value);
        Assert.Equal(0x26c7827d889f6da3UL, Token.Of("hello"u8).Value);
    }

    [Fact]
    public void Encode_BytewiseOrder_EqualsTokenOrder()
    {
        var rng = new System.Random(7);
        Span<byte> a = stackalloc byte[8];
        Span<byte> b = stackalloc byte[8];
        for (var i = 0; i < 10_000; i++)
        {
            var x = new Token((ulong)rng.NextInt64() * 3);
            var y = new Token((ulong)rng.NextInt64() * 5);
            x.Encode(a);
            y.Encode(b);
            Assert.Equal(Math.Sign(x.CompareTo(y)), Math.Sign(a.SequenceCompareTo(b)));
        }
    }

    [Fact]
    public void FromRing_Wrapping_SplitsInTwo()
    {
        var (first, second) = TokenRange.FromRing(new Token(100), new Token(10));
        Assert.Equal(new TokenRange(new Token(101), Token.Max), first);
        Assert.Equal(new TokenRange(Token.Min, new Token(10)), second);
        Assert.True(first.Contains(new Token(ulong.MaxValue)));
        Assert.False(first.Contains(new Token(100)));
    }

    [Fact]
    public void FromRing_SameStartAndEnd_IsWholeRing()
    {
        var (first, second) = TokenRange.FromRing(new Token(5), new Token(5));
        Assert.Equal(TokenRange.All, first);
        Assert.Null(second);
    }

    [Fact]
    public void Checksum_Crc32C_MatchesKnownVector() =>
        // RFC 3720 B.4: CRC32C of "123456789" is 0xE3069283.
        Assert.Equal(0xE3069283u, Checksum.Crc32C("123456789"u8));
}
