using System;
using System.Collections.Generic;
using RingKV.Core.Errors;
using RingKV.Storage.Keys;
using RingKV.Storage.Tables;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Tables;

public sealed class BlockTests
{
    private const string Path = "/test/000001.sst";
    private const long BlockOffset = 4242;

    private static Block Build(IReadOnlyList<byte[]> keys, int restartInterval = 16)
    {
        var builder = new BlockBuilder(restartInterval);
        foreach (var key in keys)
        {
            builder.Add(key, TestKeys.ValueFor(key));
        }

        var bytes = builder.Finish().ToArray();
        return new Block(bytes, bytes.Length, Path, BlockOffset);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(500, 1)]
    [InlineData(500, 16)]
    [InlineData(2000, 7)]
    public void Iterator_RandomSortedKeys_RoundTrip(int count, int restartInterval)
    {
        var random = new Random(TestSeed.Get(nameof(Iterator_RandomSortedKeys_RoundTrip)));
        var keys = TestKeys.RandomSorted(random, count);
        var block = Build(keys, restartInterval);

        using var it = block.NewIterator();
        var i = 0;
        for (it.SeekToFirst(); it.Valid; it.Next(), i++)
        {
            Assert.Equal(keys[i], it.Key.ToArray());
            Assert.Equal(TestKeys.ValueFor(keys[i]), it.Value.ToArray());
        }

        Assert.Equal(keys.Count, i);
    }

    [Fact]
    public void Seek_EveryKeyAndBetweenKeys_LandsOnFirstKeyAtOrAfter()
    {
        var random = new Random(TestSeed.Get(nameof(Seek_EveryKeyAndBetweenKeys_LandsOnFirstKeyAtOrAfter)));
        var keys = TestKeys.RandomSorted(random, 1000);
        var block = Build(keys);
        using var it = block.NewIterator();

        for (var i = 0; i < keys.Count; i++)
        {
            it.Seek(keys[i]);
            Assert.True(it.Valid);
            Assert.Equal(keys[i], it.Key.ToArray());

            // Just after keys[i]: same ordered key, sequence one lower (or the next key when that is the next entry).
            var ordered = InternalKey.Ordered(keys[i]).ToArray();
            var sequence = InternalKey.Sequence(keys[i]);
            var after = TestKeys.Internal(ordered, sequence == 0 ? 0 : sequence - 1, ValueKind.Seek);
            if (sequence > 0)
            {
                it.Seek(after);
                var expected = keys.FindIndex(k => InternalKey.Compare(k, after) >= 0);
                if (expected < 0)
                {
                    Assert.False(it.Valid);
                }
                else
                {
                    Assert.True(it.Valid);
                    Assert.Equal(keys[expected], it.Key.ToArray());
                }
            }
        }

        // Before everything and after everything.
        var last = keys[^1];
        var beyond = TestKeys.Internal(InternalKey.Ordered(last).ToArray(), 0, ValueKind.Delete);
        if (InternalKey.Compare(beyond, last) > 0)
        {
            it.Seek(beyond);
            Assert.False(it.Valid);
        }

        var first = keys[0];
        it.Seek(TestKeys.Internal(InternalKey.Ordered(first).ToArray(), InternalKey.MaxSequence, ValueKind.Seek));
        Assert.True(it.Valid);
        Assert.Equal(first, it.Key.ToArray());
    }

    [Fact]
    public void Iterator_EmptyBlock_IsNeverValid()
    {
        var block = Build([]);
        using var it = block.NewIterator();
        it.SeekToFirst();
        Assert.False(it.Valid);
        it.Seek(TestKeys.Internal("a", 1));
        Assert.False(it.Valid);
    }

    [Fact]
    public void Block_RestartCountTooLarge_ThrowsCorruptionNamingFileAndOffset()
    {
        var keys = TestKeys.RandomSorted(new Random(1), 100);
        var block = Build(keys);
        var bytes = block.Data.AsSpan(0, block.Length).ToArray();
        bytes[^1] = 0x7F;

        var ex = Assert.Throws<CorruptionException>(() => new Block(bytes, bytes.Length, Path, BlockOffset));
        Assert.Equal(Path, ex.Path);
        Assert.Equal(BlockOffset, ex.Offset);
        Assert.Contains(Path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Block_RestartOffsetOutOfRange_ThrowsCorruption()
    {
        var keys = TestKeys.RandomSorted(new Random(2), 100);
        var block = Build(keys);
        var bytes = block.Data.AsSpan(0, block.Length).ToArray();
        // Second restart offset (first is 0) points past the entries.
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(block.RestartsOffset + 4), (uint)bytes.Length);

        Assert.Throws<CorruptionException>(() => new Block(bytes, bytes.Length, Path, BlockOffset));
    }

    [Fact]
    public void Iterator_DamagedBytesOrTruncation_ThrowsOnlyCorruption()
    {
        var seed = TestSeed.Get(nameof(Iterator_DamagedBytesOrTruncation_ThrowsOnlyCorruption));
        var random = new Random(seed);
        var keys = TestKeys.RandomSorted(random, 300);
        var good = Build(keys, restartInterval: 4);
        var original = good.Data.AsSpan(0, good.Length).ToArray();
        var corruptions = 0;

        for (var round = 0; round < 3000; round++)
        {
            var bytes = (byte[])original.Clone();
            var length = bytes.Length;
            if (round % 5 == 0)
            {
                length = random.Next(0, bytes.Length);
            }
            else
            {
                var flips = random.Next(1, 4);
                for (var f = 0; f < flips; f++)
                {
                    bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                }
            }

            try
            {
                var block = new Block(bytes, length, Path, BlockOffset);
                using var it = block.NewIterator();
                var n = 0;
                for (it.SeekToFirst(); it.Valid && n < 10_000; it.Next(), n++)
                {
                    _ = it.Key.Length + it.Value.Length;
                }

                it.Seek(keys[random.Next(keys.Count)]);
                if (it.Valid)
                {
                    _ = it.Key.Length + it.Value.Length;
                }
            }
            catch (CorruptionException ex)
            {
                Assert.Equal(Path, ex.Path);
                Assert.Equal(BlockOffset, ex.Offset);
                corruptions++;
            }
        }

        Assert.True(corruptions > 100, $"only {corruptions} damaged blocks were detected (seed {seed})");
    }

    [Fact]
    public void Builder_Reset_BuildsIdenticalBlockAgain()
    {
        var keys = TestKeys.RandomSorted(new Random(3), 200);
        var builder = new BlockBuilder(16);
        foreach (var key in keys)
        {
            builder.Add(key, TestKeys.ValueFor(key));
        }

        var first = builder.Finish().ToArray();
        builder.Reset();
        Assert.True(builder.IsEmpty);
        foreach (var key in keys)
        {
            builder.Add(key, TestKeys.ValueFor(key));
        }

        Assert.Equal(first, builder.Finish().ToArray());
        Assert.Equal(keys[^1], builder.LastKey.ToArray());
    }

    [Fact]
    public void BlockHandle_EncodeDecode_RoundTrips()
    {
        Span<byte> buffer = stackalloc byte[BlockHandle.MaxEncodedLength];
        foreach (var handle in new[] { new BlockHandle(0, 0), new BlockHandle(123_456_789_012, 4096), new BlockHandle(long.MaxValue, int.MaxValue) })
        {
            var n = handle.Encode(buffer);
            Assert.True(BlockHandle.TryDecode(buffer[..n], out var decoded, out var length));
            Assert.Equal(handle, decoded);
            Assert.Equal(n, length);
            Assert.False(BlockHandle.TryDecode(buffer[..(n - 1)], out _, out _));
        }
    }
}
