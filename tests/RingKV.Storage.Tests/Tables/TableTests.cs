using System;
using System.Collections.Generic;
using System.IO;
using RingKV.Core.Errors;
using RingKV.Storage.Cache;
using RingKV.Storage.Keys;
using RingKV.Storage.Tables;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Tables;

public sealed class TableTests : IDisposable
{
    private readonly TempDirectory _dir = new("ringkv-tables");
    private readonly ITestOutputHelper _output;

    public TableTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _dir.Dispose();

    /// <summary>A record of the model: one version of one user key.</summary>
    private sealed record Version(ulong Sequence, ValueKind Kind, byte[] Value);

    /// <summary>Sorted entries of a table plus, per ordered key (hex), its versions newest first.</summary>
    private sealed class Model
    {
        public List<(byte[] Key, byte[] Value)> Entries { get; } = [];

        public Dictionary<string, List<Version>> Versions { get; } = [];

        public List<byte[]> OrderedKeys { get; } = [];
    }

    private static Model NewModel(int seed, int userKeys)
    {
        var random = new Random(seed);
        var model = new Model();
        for (var i = 0; i < userKeys; i++)
        {
            var ordered = TestKeys.Ordered($"user-{i}-{random.Next()}");
            model.OrderedKeys.Add(ordered);
            var versions = new List<Version>();
            var sequence = (ulong)random.Next(1, 1000);
            var count = random.Next(1, 4);
            for (var v = 0; v < count; v++)
            {
                var kind = random.Next(6) switch { 0 => ValueKind.Delete, 1 => ValueKind.PutWithExpiry, _ => ValueKind.Put };
                var value = new byte[kind == ValueKind.Delete ? 8 : random.Next(0, 120)];
                for (var b = 0; b < value.Length; b++)
                {
                    value[b] = (byte)(i + (b % 7)); // compressible but key-dependent
                }

                versions.Add(new Version(sequence, kind, value));
                sequence += (ulong)random.Next(1, 50);
            }

            versions.Reverse(); // newest first, as the table orders them
            model.Versions[Convert.ToHexString(ordered)] = versions;
            foreach (var version in versions)
            {
                model.Entries.Add((TestKeys.Internal(ordered, version.Sequence, version.Kind), version.Value));
            }
        }

        model.Entries.Sort((a, b) => InternalKey.Compare(a.Key, b.Key));
        model.OrderedKeys.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
        return model;
    }

    private string Write(Model model, TableBuilderOptions options, string name = "000001.sst", Action<TableProperties>? check = null)
    {
        var path = Path.Combine(_dir.Path, name);
        using var file = PosixFileSystem.Instance.Create(path);
        var builder = new TableBuilder(file, options);
        foreach (var (key, value) in model.Entries)
        {
            builder.Add(key, value);
        }

        Assert.Equal(model.Entries.Count, builder.Entries);
        var estimate = builder.EstimatedFileBytes;
        var properties = builder.Finish();
        file.Sync();
        check?.Invoke(properties);
        Assert.Equal(file.Length, properties.FileBytes);
        Assert.InRange(estimate, properties.FileBytes / 2, properties.FileBytes * 2);
        return path;
    }

    private static TableReader Open(string path, BlockCache? cache, StorageStatistics? stats = null, ulong fileNumber = 1) =>
        TableReader.Open(PosixFileSystem.Instance.OpenRead(path), fileNumber, cache, stats ?? new StorageStatistics());

    [Theory]
    [InlineData(CompressionKind.None, true)]
    [InlineData(CompressionKind.Lz4, true)]
    [InlineData(CompressionKind.Zstd, true)]
    [InlineData(CompressionKind.Lz4, false)]
    public void TryGet_EveryKeyAtSeveralSnapshots_ReturnsNewestVisibleVersion(CompressionKind compression, bool withCache)
    {
        var seed = TestSeed.Get(nameof(TryGet_EveryKeyAtSeveralSnapshots_ReturnsNewestVisibleVersion));
        var model = NewModel(seed, 15_000);
        var path = Write(model, new TableBuilderOptions { Compression = compression });
        var stats = new StorageStatistics();
        using var table = Open(path, withCache ? new BlockCache(8 << 20) : null, stats);
        var random = new Random(seed);

        foreach (var ordered in model.OrderedKeys)
        {
            var versions = model.Versions[Convert.ToHexString(ordered)];
            var snapshots = new[] { InternalKey.MaxSequence, versions[0].Sequence, versions[^1].Sequence, versions[^1].Sequence - 1, (ulong)random.Next(0, 1200) };
            foreach (var snapshot in snapshots)
            {
                var expected = versions.Find(v => v.Sequence <= snapshot);
                var found = table.TryGet(TestKeys.Seek(ordered, snapshot), out var kind, out var sequence, out var value);
                if (expected is null)
                {
                    Assert.False(found, $"snapshot {snapshot} is older than every version");
                }
                else
                {
                    Assert.True(found);
                    Assert.Equal(expected.Kind, kind);
                    Assert.Equal(expected.Sequence, sequence);
                    Assert.Equal(expected.Value, value.ToArray());
                }
            }
        }

        Assert.Equal(0, stats.BloomNegatives); // no false negatives for present keys
        Assert.Equal(0, stats.BloomFalsePositives); // a snapshot older than every version is not a false positive
        var checksBefore = stats.BloomChecks;
        for (var i = 0; i < 20_000; i++)
        {
            Assert.False(table.TryGet(TestKeys.Seek(TestKeys.Ordered($"absent-{i}"), InternalKey.MaxSequence), out _, out _, out _));
        }

        var absentChecks = stats.BloomChecks - checksBefore;
        Assert.Equal(20_000, absentChecks);
        Assert.Equal(absentChecks, stats.BloomNegatives + stats.BloomFalsePositives);
        var fpRate = (double)stats.BloomFalsePositives / absentChecks;
        _output.WriteLine($"{compression}: {table.Properties.FileBytes} bytes, {table.DataBlockCount} blocks, metadata {table.MetadataBytes} bytes, " +
            $"bloom negatives {stats.BloomNegatives}, false positives {stats.BloomFalsePositives} ({fpRate:P3}), cache hits {stats.CacheHits}, misses {stats.CacheMisses}");
        Assert.True(stats.BlockReads > 0);
        if (withCache)
        {
            Assert.True(stats.CacheHits > stats.CacheMisses);
        }
        else
        {
            Assert.Equal(0, stats.CacheHits);
        }

        Assert.True(fpRate < 0.02, $"false-positive rate {fpRate:P3}");
    }

    [Fact]
    public void Finish_Properties_DescribeTheRecords()
    {
        var model = NewModel(TestSeed.Get(nameof(Finish_Properties_DescribeTheRecords)), 5000);
        TableProperties? written = null;
        var path = Write(model, new TableBuilderOptions(), check: p => written = p);
        using var table = Open(path, null);
        var p = table.Properties;

        Assert.NotNull(written);
        Assert.Equal(written.SmallestKey, p.SmallestKey);
        Assert.Equal(written.LargestKey, p.LargestKey);
        Assert.Equal(written with { SmallestKey = p.SmallestKey, LargestKey = p.LargestKey }, p); // record equality compares arrays by reference
        Assert.Equal(model.Entries.Count, p.EntryCount);
        Assert.Equal(model.Entries[0].Key, p.SmallestKey);
        Assert.Equal(model.Entries[^1].Key, p.LargestKey);
        ulong min = ulong.MaxValue, max = 0;
        long tombstones = 0, expiring = 0;
        foreach (var (key, _) in model.Entries)
        {
            min = Math.Min(min, InternalKey.Sequence(key));
            max = Math.Max(max, InternalKey.Sequence(key));
            tombstones += InternalKey.Kind(key) == ValueKind.Delete ? 1 : 0;
            expiring += InternalKey.Kind(key) == ValueKind.PutWithExpiry ? 1 : 0;
        }

        Assert.Equal(min, p.MinSequence);
        Assert.Equal(max, p.MaxSequence);
        Assert.Equal(tombstones, p.TombstoneCount);
        Assert.Equal(expiring, p.ExpiringCount);
        Assert.True(tombstones > 0 && expiring > 0);
        Assert.Equal(new FileInfo(path).Length, p.FileBytes);
        Assert.Equal(table.DataBlockCount, p.DataBlockCount);
        Assert.True(p.RawDataBytes > 0);
    }

    [Theory]
    [InlineData(CompressionKind.None)]
    [InlineData(CompressionKind.Lz4)]
    [InlineData(CompressionKind.Zstd)]
    public void Iterator_FullScan_YieldsExactlyTheSortedInput(CompressionKind compression)
    {
        var model = NewModel(TestSeed.Get(nameof(Iterator_FullScan_YieldsExactlyTheSortedInput)), 20_000);
        var path = Write(model, new TableBuilderOptions { Compression = compression, BlockSizeBytes = 2048, RestartInterval = 8 });
        var cache = new BlockCache(64 << 20);
        using var table = Open(path, cache);

        using (var it = table.NewIterator(fillCache: false))
        {
            var i = 0;
            for (it.SeekToFirst(); it.Valid; it.Next(), i++)
            {
                Assert.Equal(model.Entries[i].Key, it.Key.ToArray());
                Assert.Equal(model.Entries[i].Value, it.Value.ToArray());
            }

            Assert.Equal(model.Entries.Count, i);
        }

        Assert.Equal(0, cache.Count); // a compaction-style scan leaves the cache alone

        using (var it = table.NewIterator())
        {
            var random = new Random(5);
            for (var n = 0; n < 2000; n++)
            {
                var target = model.Entries[random.Next(model.Entries.Count)].Key;
                it.Seek(target);
                Assert.True(it.Valid);
                Assert.Equal(target, it.Key.ToArray());

                // Between keys: a seek key for an absent ordered key lands on the next present one.
                var absent = TestKeys.Seek(TestKeys.Ordered($"absent-{n}"), InternalKey.MaxSequence);
                it.Seek(absent);
                var expected = LowerBound(model.Entries, absent);
                Assert.Equal(expected >= 0, it.Valid);
                if (expected >= 0)
                {
                    Assert.Equal(model.Entries[expected].Key, it.Key.ToArray());
                }
            }
        }

        Assert.True(cache.Count > 0);

        // One-pass again, now over a mix of cached blocks and blocks read through the window, seeking back and forth
        // (a seek before the window rereads it) and walking a few hundred entries from each target.
        using (var it = table.NewIterator(fillCache: false))
        {
            var random = new Random(6);
            for (var n = 0; n < 50; n++)
            {
                var start = random.Next(model.Entries.Count);
                it.Seek(model.Entries[start].Key);
                for (var i = start; i < Math.Min(start + 300, model.Entries.Count); i++, it.Next())
                {
                    Assert.True(it.Valid);
                    Assert.Equal(model.Entries[i].Key, it.Key.ToArray());
                    Assert.Equal(model.Entries[i].Value, it.Value.ToArray());
                }
            }
        }
    }

    /// <summary>Index of the first entry at or after <paramref name="key"/>, -1 when none.</summary>
    private static int LowerBound(List<(byte[] Key, byte[] Value)> entries, byte[] key)
    {
        int left = 0, right = entries.Count;
        while (left < right)
        {
            var mid = (left + right) / 2;
            if (InternalKey.Compare(entries[mid].Key, key) < 0)
            {
                left = mid + 1;
            }
            else
            {
                right = mid;
            }
        }

        return left == entries.Count ? -1 : left;
    }

    [Fact]
    public void Table_NoEntries_OpensEmpty()
    {
        var path = Write(new Model(), new TableBuilderOptions());
        using var table = Open(path, null);
        Assert.Equal(0, table.Properties.EntryCount);
        Assert.Equal(0, table.DataBlockCount);
        Assert.False(table.HasFilter);
        Assert.False(table.TryGet(TestKeys.Seek(TestKeys.Ordered("a"), 10), out _, out _, out _));
        using var it = table.NewIterator();
        it.SeekToFirst();
        Assert.False(it.Valid);
    }

    [Fact]
    public void Table_ZeroBloomBits_HasNoFilterAndStillFinds()
    {
        var model = NewModel(3, 2000);
        var path = Write(model, new TableBuilderOptions { BloomBitsPerKey = 0 });
        var stats = new StorageStatistics();
        using var table = Open(path, null, stats);
        Assert.False(table.HasFilter);
        Assert.True(table.TryGet(TestKeys.Seek(model.OrderedKeys[17], InternalKey.MaxSequence), out _, out _, out _));
        Assert.False(table.TryGet(TestKeys.Seek(TestKeys.Ordered("nope"), InternalKey.MaxSequence), out _, out _, out _));
        Assert.Equal(0, stats.BloomChecks);
    }

    [Theory]
    [InlineData(CompressionKind.None)]
    [InlineData(CompressionKind.Lz4)]
    public void TryGet_FlippedByteInDataBlock_ThrowsCorruptionNamingFileAndBlockWhileOtherBlocksRead(CompressionKind compression)
    {
        var model = NewModel(TestSeed.Get(nameof(TryGet_FlippedByteInDataBlock_ThrowsCorruptionNamingFileAndBlockWhileOtherBlocksRead)), 5000);
        var path = Write(model, new TableBuilderOptions { Compression = compression });
        BlockHandle damaged;
        using (var table = Open(path, null))
        {
            Assert.True(table.DataBlockCount > 10);
            damaged = table.DataBlockHandle(5);
        }

        var bytes = File.ReadAllBytes(path);
        bytes[damaged.Offset + (damaged.Size / 2)] ^= 0x40;
        File.WriteAllBytes(path, bytes);

        using var reopened = Open(path, new BlockCache(8 << 20));
        var corrupt = 0;
        foreach (var ordered in model.OrderedKeys)
        {
            var seek = TestKeys.Seek(ordered, InternalKey.MaxSequence);
            if (reopened.FindBlock(seek) == 5)
            {
                var ex = Assert.Throws<CorruptionException>(() => reopened.TryGet(seek, out _, out _, out _));
                Assert.Equal(path, ex.Path);
                Assert.Equal(damaged.Offset, ex.Offset);
                Assert.Contains(path, ex.Message, StringComparison.Ordinal);
                Assert.Contains($"offset {damaged.Offset}", ex.Message, StringComparison.Ordinal);
                corrupt++;
            }
            else
            {
                Assert.True(reopened.TryGet(seek, out _, out var sequence, out _));
                Assert.Equal(model.Versions[Convert.ToHexString(ordered)][0].Sequence, sequence);
            }
        }

        Assert.True(corrupt > 0);
        using var it = reopened.NewIterator();
        Assert.Throws<CorruptionException>(() =>
        {
            for (it.SeekToFirst(); it.Valid; it.Next())
            {
            }
        });
    }

    [Theory]
    [InlineData(0)] // magic
    [InlineData(9)] // format version
    [InlineData(20)] // a handle (footer CRC)
    public void Open_FlippedFooterByte_ThrowsCorruption(int fromMagicBack)
    {
        var path = Write(NewModel(4, 500), new TableBuilderOptions());
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length - 1 - fromMagicBack] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        var ex = Assert.Throws<CorruptionException>(() => Open(path, null));
        Assert.Equal(path, ex.Path);
        Assert.InRange(ex.Offset, bytes.Length - TableFormat.FooterSize, bytes.Length);
    }

    [Fact]
    public void Open_TruncatedFile_ThrowsCorruption()
    {
        var path = Write(NewModel(5, 500), new TableBuilderOptions());
        var bytes = File.ReadAllBytes(path);
        foreach (var length in new[] { 0, 10, TableFormat.FooterSize - 1, TableFormat.FooterSize, bytes.Length / 2, bytes.Length - 1 })
        {
            File.WriteAllBytes(path, bytes.AsSpan(0, length).ToArray());
            var ex = Assert.Throws<CorruptionException>(() => Open(path, null));
            Assert.Equal(path, ex.Path);
        }
    }

    [Fact]
    public void Open_FlippedByteInIndexOrFilterOrProperties_ThrowsCorruption()
    {
        var path = Write(NewModel(6, 3000), new TableBuilderOptions());
        var original = File.ReadAllBytes(path);
        using (var table = Open(path, null))
        {
            Assert.True(table.HasFilter);
        }

        // Everything after the last data block and before the footer is metadata read at open.
        long metadataStart;
        using (var table = Open(path, null))
        {
            var last = table.DataBlockHandle(table.DataBlockCount - 1);
            metadataStart = last.Offset + last.Size + TableFormat.BlockTrailerSize;
        }

        var random = new Random(TestSeed.Get(nameof(Open_FlippedByteInIndexOrFilterOrProperties_ThrowsCorruption)));
        for (var i = 0; i < 50; i++)
        {
            var bytes = (byte[])original.Clone();
            bytes[random.NextInt64(metadataStart, bytes.Length - TableFormat.FooterSize)] ^= (byte)random.Next(1, 256);
            File.WriteAllBytes(path, bytes);
            Assert.Throws<CorruptionException>(() => Open(path, null));
        }
    }

    [Fact]
    public void TryGet_CacheHit_AllocatesNothing()
    {
        var model = NewModel(7, 2000);
        var path = Write(model, new TableBuilderOptions());
        using var table = Open(path, new BlockCache(8 << 20));
        var seeks = new List<byte[]>();
        foreach (var ordered in model.OrderedKeys)
        {
            seeks.Add(TestKeys.Seek(ordered, InternalKey.MaxSequence));
        }

        for (var round = 0; round < 3; round++)
        {
            foreach (var seek in seeks)
            {
                _ = table.TryGet(seek, out _, out _, out _); // warm the cache and the JIT
            }
        }

        // The fewest bytes any of three rounds allocated: an allocation per get shows in every round, a one-off
        // allocation by the runtime (seen once in a Release CI run: 3,224 bytes) in one round at most.
        var allocated = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var found = 0;
            foreach (var seek in seeks)
            {
                found += table.TryGet(seek, out _, out _, out _) ? 1 : 0;
            }

            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal(seeks.Count, found);
        }

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void GetBlock_AfterTheCacheEvictedIt_MissesAndReadsAgain()
    {
        // A hit is found through the reader's slot array; eviction must clear the slot, or an evicted block
        // would go on being served (and counted) as a hit from outside the cache's budget.
        var model = NewModel(11, 3000);
        var path = Write(model, new TableBuilderOptions { BlockSizeBytes = 1024 });
        var stats = new StorageStatistics();
        var cache = new BlockCache(16 << 10, shardBits: 0);
        using var table = Open(path, cache, stats);
        Assert.True(table.DataBlockCount > 40);

        table.GetBlock(0, fillCache: true);
        table.GetBlock(0, fillCache: true);
        Assert.Equal(1, stats.CacheHits);
        Assert.Equal(1, stats.BlockReads);

        for (var i = 1; i < table.DataBlockCount; i++)
        {
            table.GetBlock(i, fillCache: true); // 16 KiB holds a handful of 1 KiB blocks: block 0 goes
        }

        Assert.InRange(cache.UsageBytes, 1, 16 << 10);
        var reads = stats.BlockReads;
        table.GetBlock(0, fillCache: true);
        Assert.Equal(reads + 1, stats.BlockReads);
    }

    [Fact]
    public void GetBlock_CachedBlocks_LiveOutsideTheYoungGenerations()
    {
        // A block the cache keeps is allocated where the collector never copies it (the pinned object heap, reported as
        // generation 2); one read for a single pass (compaction) stays on the ordinary heap and dies young.
        var model = NewModel(12, 3000);
        var path = Write(model, new TableBuilderOptions { BlockSizeBytes = 1024 });
        using var table = Open(path, new BlockCache(8 << 20));

        var cached = table.GetBlock(1, fillCache: true);
        Assert.Equal(GC.MaxGeneration, GC.GetGeneration(cached.Data));

        var passing = table.GetBlock(2, fillCache: false);
        Assert.Equal(0, GC.GetGeneration(passing.Data));

        using var uncached = Open(path, cache: null);
        Assert.Equal(0, GC.GetGeneration(uncached.GetBlock(1, fillCache: true).Data));
    }

    [Fact]
    public void TableFormat_Constants_ArePinned()
    {
        Assert.Equal(1u, TableFormat.FormatVersion);
        Assert.Equal(52, TableFormat.FooterSize);
        Assert.Equal(5, TableFormat.BlockTrailerSize);
        Assert.Equal("RingKVT1"u8.ToArray(), BitConverter.GetBytes(TableFormat.Magic));
    }
}
