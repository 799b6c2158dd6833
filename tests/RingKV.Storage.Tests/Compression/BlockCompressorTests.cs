using System;
using RingKV.Storage.Compression;
using Xunit;

namespace RingKV.Storage.Tests.Compression;

public sealed class BlockCompressorTests
{
    private static byte[] Compressible(int length)
    {
        var data = new byte[length];
        for (var i = 0; i < length; i++)
        {
            data[i] = (byte)"the quick brown fox jumps over the lazy dog "[i % 44];
        }

        return data;
    }

    [Theory]
    [InlineData(CompressionKind.None)]
    [InlineData(CompressionKind.Lz4)]
    [InlineData(CompressionKind.Zstd)]
    public void Compress_ThenDecompress_RoundTrips(CompressionKind kind)
    {
        foreach (var length in new[] { 0, 1, 100, 4096, 100_000 })
        {
            var input = Compressible(length);
            var output = new byte[BlockCompressor.MaxCompressedLength(kind, length)];
            var written = BlockCompressor.Compress(kind, input, output);
            var restored = new byte[length];
            Assert.True(BlockCompressor.TryDecompress(kind, output.AsSpan(0, written), restored));
            Assert.Equal(input, restored);
            if (kind != CompressionKind.None && length >= 4096)
            {
                Assert.True(written < length / 4, $"{kind} compressed {length} to {written}");
            }
        }
    }

    [Theory]
    [InlineData(CompressionKind.Lz4)]
    [InlineData(CompressionKind.Zstd)]
    public void CompressIfWorthIt_IncompressibleData_FallsBackToNone(CompressionKind kind)
    {
        var input = new byte[4096];
        new Random(7).NextBytes(input);
        var output = new byte[BlockCompressor.MaxCompressedLength(kind, input.Length)];
        Assert.Equal(CompressionKind.None, BlockCompressor.CompressIfWorthIt(kind, input, output, out var written));
        Assert.Equal(0, written);

        var compressible = Compressible(4096);
        Assert.Equal(kind, BlockCompressor.CompressIfWorthIt(kind, compressible, output, out written));
        Assert.True(written > 0);
    }

    [Fact]
    public void IsWorthIt_AtTwelveAndAHalfPercent_Boundary()
    {
        Assert.True(BlockCompressor.IsWorthIt(800, 700));
        Assert.False(BlockCompressor.IsWorthIt(800, 701));
    }

    [Theory]
    [InlineData(CompressionKind.Lz4)]
    [InlineData(CompressionKind.Zstd)]
    public void TryDecompress_DamagedOrWrongLength_ReturnsFalseWithoutThrowing(CompressionKind kind)
    {
        var input = Compressible(4096);
        var output = new byte[BlockCompressor.MaxCompressedLength(kind, input.Length)];
        var written = BlockCompressor.Compress(kind, input, output);

        Assert.False(BlockCompressor.TryDecompress(kind, output.AsSpan(0, written), new byte[4095]));
        Assert.False(BlockCompressor.TryDecompress(kind, output.AsSpan(0, written / 2), new byte[4096]));
        var random = new Random(11);
        for (var i = 0; i < 500; i++)
        {
            var damaged = output.AsSpan(0, written).ToArray();
            damaged[random.Next(damaged.Length)] ^= (byte)random.Next(1, 256);
            var restored = new byte[4096];
            if (BlockCompressor.TryDecompress(kind, damaged, restored))
            {
                Assert.Equal(4096, restored.Length); // A flipped literal may still decode: the block CRC catches it.
            }
        }
    }

    [Fact]
    public void CompressionKind_Values_ArePinned()
    {
        Assert.Equal(0, (byte)CompressionKind.None);
        Assert.Equal(1, (byte)CompressionKind.Lz4);
        Assert.Equal(2, (byte)CompressionKind.Zstd);
    }
}
