using System;
using CsCheck;
using RingKV.Core.Encoding;
using Xunit;

namespace RingKV.Core.Tests.Encoding;

public sealed class VarintTests
{
    [Fact]
    public void Write_ThenRead_RoundTripsEveryWidth() =>
        Gen.ULong.Sample(value =>
        {
            Span<byte> buffer = stackalloc byte[Varint.MaxLength64];
            var written = Varint.Write(buffer, value);
            Assert.Equal(Varint.Length(value), written);
            Assert.True(Varint.TryRead(buffer[..written], out var read, out var length));
            Assert.Equal(value, read);
            Assert.Equal(written, length);
        });

    [Fact]
    public void TryRead_Truncated_ReturnsFalse()
    {
        Span<byte> buffer = stackalloc byte[Varint.MaxLength64];
        var written = Varint.Write(buffer, 1UL << 40);
        Assert.False(Varint.TryRead(buffer[..(written - 1)], out _, out _));
    }

    [Fact]
    public void TryRead32_TooLarge_ReturnsFalse()
    {
        Span<byte> buffer = stackalloc byte[Varint.MaxLength64];
        var written = Varint.Write(buffer, (ulong)uint.MaxValue + 1);
        Assert.False(Varint.TryRead32(buffer[..written], out _, out _));
    }

    [Fact]
    public void TryRead_Overlong_ReturnsFalse()
    {
        var bytes = new byte[11];
        Array.Fill(bytes, (byte)0x80);
        Assert.False(Varint.TryRead(bytes, out _, out _));
    }

    [Fact]
    public void TryRead_TenthByteBeyond64Bits_ReturnsFalse()
    {
        // ulong.MaxValue is nine 0xFF bytes and a final 0x01; a larger final byte would need more than 64 bits and was
        // read with its high bits dropped (a different value, no error).
        byte[] max = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
        Assert.True(Varint.TryRead(max, out var value, out var length));
        Assert.Equal(ulong.MaxValue, value);
        Assert.Equal(10, length);

        for (byte last = 0x02; last < 0x80; last++)
        {
            byte[] bytes = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, last];
            Assert.False(Varint.TryRead(bytes, out _, out _), $"final byte 0x{last:X2}");
        }
    }
}
