using System;
using RingKV.Core.Random;
using RingKV.Storage.Cache;
using RingKV.Storage.Tables;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Cache;

public sealed class BlockCacheTests
{
    private static Block NewBlock(int size, byte tag = 0)
    {
        // An empty block (restart point 0, count 1) in an array of the wanted size; the tag sits in the last byte.
        var data = new byte[size];
        data[4] = 1;
        data[^1] = tag;
        return new Block(data, 8, "/t.sst", 0);
    }

    [Fact]
    public void Insert_ManyBlocks_UsageStaysWithinCapacity()
    {
        var cache = new BlockCache(1 << 20);
        var random = new Random(TestSeed.Get(nameof(Insert_ManyBlocks_UsageStaysWithinCapacity)));
        for (var i = 0; i < 5000; i++)
        {
            cache.Insert((ulong)random.Next(10), random.Next(100_000) * 4096L, NewBlock(random.Next(100, 8192)));
            Assert.True(cache.UsageBytes <= cache.CapacityBytes, $"usage {cache.UsageBytes} after {i} inserts");
        }

        Assert.True(cache.UsageBytes > (1 << 20) / 2, $"usage {cache.UsageBytes} suspiciously low");
    }

    [Theory]
    [InlineData(64 * 1024, 1)]
    [InlineData(1024 * 1024, 2)]
    [InlineData(128L << 20, 16)]
    public void Constructor_DefaultShards_ScaleWithCapacity(long capacityBytes, int shards)
    {
        var cache = new BlockCache(capacityBytes);
        Assert.Equal(shards, cache.ShardCount);
        cache.Insert(1, 0, NewBlock(4096));
        Assert.True(cache.TryGet(1, 0, out _)); // even a small cache holds a 4 KiB block
    }

    [Fact]
    public void TryGet_AfterInsert_ReturnsSameBlock()
    {
        var cache = new BlockCache(1 << 20);
        var block = NewBlock(100);
        cache.Insert(7, 4096, block);
        Assert.True(cache.TryGet(7, 4096, out var found));
        Assert.Same(block, found);
        Assert.False(cache.TryGet(7, 0, out _));
        Assert.False(cache.TryGet(8, 4096, out _));
    }

    [Fact]
    public void Insert_OverBudget_EvictsLeastRecentlyUsed()
    {
        var charge = NewBlock(1000).ChargeBytes;
        var cache = new BlockCache(charge * 3, shardBits: 0);
        cache.Insert(1, 0, NewBlock(1000));
        cache.Insert(1, 1, NewBlock(1000));
        cache.Insert(1, 2, NewBlock(1000));
        Assert.True(cache.TryGet(1, 0, out _)); // 0 becomes the most recent; 1 is now the coldest.

        cache.Insert(1, 3, NewBlock(1000));

        Assert.False(cache.TryGet(1, 1, out _));
        Assert.True(cache.TryGet(1, 0, out _));
        Assert.True(cache.TryGet(1, 2, out _));
        Assert.True(cache.TryGet(1, 3, out _));
        Assert.Equal(charge * 3, cache.UsageBytes);
    }

    [Fact]
    public void CapacityBytes_Shrunk_EvictsDownToNewBudget()
    {
        var charge = NewBlock(1000).ChargeBytes;
        var cache = new BlockCache(charge * 10, shardBits: 0);
        for (var i = 0; i < 10; i++)
        {
            cache.Insert(1, i, NewBlock(1000));
        }

        Assert.Equal(10, cache.Count);
        cache.CapacityBytes = charge * 4;
        Assert.Equal(4, cache.Count);
        Assert.True(cache.UsageBytes <= charge * 4);
        for (var i = 6; i < 10; i++)
        {
            Assert.True(cache.TryGet(1, i, out _), $"block {i} should have survived");
        }
    }

    [Fact]
    public void Insert_SameKeyTwice_ReplacesWithoutDoubleCharge()
    {
        var cache = new BlockCache(1 << 20, shardBits: 0);
        var second = NewBlock(500);
        cache.Insert(1, 0, NewBlock(500));
        cache.Insert(1, 0, second);
        Assert.Equal(second.ChargeBytes, cache.UsageBytes);
        Assert.True(cache.TryGet(1, 0, out var found));
        Assert.Same(second, found);
    }

    [Fact]
    public void Insert_BlockLargerThanShard_IsNotCached()
    {
        var cache = new BlockCache(1000, shardBits: 0);
        cache.Insert(1, 0, NewBlock(2000));
        Assert.False(cache.TryGet(1, 0, out _));
        Assert.Equal(0, cache.UsageBytes);
    }

    [Fact]
    public void EvictFile_DropsOnlyThatFile()
    {
        var cache = new BlockCache(1 << 20);
        for (var i = 0; i < 100; i++)
        {
            cache.Insert(1, i, NewBlock(100));
            cache.Insert(2, i, NewBlock(100));
        }

        cache.EvictFile(1);
        Assert.Equal(100, cache.Count);
        Assert.False(cache.TryGet(1, 5, out _));
        Assert.True(cache.TryGet(2, 5, out _));
    }

    [Fact]
    public void TryGetAndInsert_FromSeveralThreads_KeepCacheConsistent()
    {
        var cache = new BlockCache(256 * 1024, shardBits: 2);
        var seed = TestSeed.Get(nameof(TryGetAndInsert_FromSeveralThreads_KeepCacheConsistent));
        ConcurrentRun.OnThreads(4, t =>
        {
            var random = new SplitMix64(seed + t);
            for (var i = 0; i < 50_000; i++)
            {
                var file = (ulong)random.Next(4);
                var offset = (long)random.Next(500);
                var tag = (byte)((file * 31) + (ulong)offset);
                if (random.Next(3) == 0)
                {
                    cache.Insert(file, offset, NewBlock(random.Next(100, 3000), tag));
                }
                else if (cache.TryGet(file, offset, out var block) && ((Block)block).Data[^1] != tag)
                {
                    throw new InvalidOperationException($"block of ({file}, {offset}) has tag {((Block)block).Data[^1]}, expected {tag}");
                }

                if (i % 10_000 == 0 && random.Next(2) == 0)
                {
                    cache.EvictFile(file);
                }
            }
        });

        Assert.True(cache.UsageBytes <= cache.CapacityBytes);

        // The recorded usage matches the blocks actually reachable.
        cache.CapacityBytes = 0;
        Assert.Equal(0, cache.UsageBytes);
        Assert.Equal(0, cache.Count);
    }
}
