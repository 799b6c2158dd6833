using System;
using System.Collections.Generic;
using CsCheck;
using RingKV.Core.Random;
using RingKV.Storage.Cache;
using RingKV.Storage.Keys;
using RingKV.Storage.Tables;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Tables;

public sealed class TablePropertyTests
{
    private sealed record Case(int BlockSizeBytes, int RestartInterval, CompressionKind Compression, int BloomBits, (int User, ulong Sequence, byte Kind, int ValueLength)[] Records);

    private static readonly Gen<Case> GenCase =
        Gen.Select(
            Gen.Int[64, 2048],
            Gen.Int[1, 20],
            Gen.Enum<CompressionKind>(),
            Gen.Int[0, 16],
            Gen.Select(Gen.Int[0, 300], Gen.ULong[0, 50], Gen.Byte[0, 2], Gen.Int[0, 300]).Array[0, 400],
            (block, restart, compression, bits, records) => new Case(block, restart, compression, bits, records));

    [Fact]
    public void Table_RandomOptionsAndRecords_MatchesSortedModel() =>
        GenCase.Sample(c =>
        {
            // Model: distinct (user, sequence) pairs; the table sorts them by internal key.
            var seen = new HashSet<(int, ulong)>();
            var entries = new List<(byte[] Key, byte[] Value)>();
            foreach (var (user, sequence, kind, valueLength) in c.Records)
            {
                if (seen.Add((user, sequence)))
                {
                    var key = TestKeys.Internal($"u{user}", sequence, (ValueKind)kind);
                    var value = new byte[valueLength];
                    value.AsSpan().Fill((byte)(user ^ (int)sequence));
                    entries.Add((key, value));
                }
            }

            entries.Sort((a, b) => InternalKey.Compare(a.Key, b.Key));
            var file = new MemoryFile("/mem/000009.sst");
            var builder = new TableBuilder(file, new TableBuilderOptions
            {
                BlockSizeBytes = c.BlockSizeBytes,
                RestartInterval = c.RestartInterval,
                Compression = c.Compression,
                BloomBitsPerKey = c.BloomBits,
            });
            foreach (var (key, value) in entries)
            {
                builder.Add(key, value);
            }

            builder.Finish();
            using var table = TableReader.Open(file, 9, new BlockCache(1 << 20), new StorageStatistics());

            using var it = table.NewIterator();
            var i = 0;
            for (it.SeekToFirst(); it.Valid; it.Next(), i++)
            {
                Assert.Equal(entries[i].Key, it.Key.ToArray());
                Assert.Equal(entries[i].Value, it.Value.ToArray());
            }

            Assert.Equal(entries.Count, i);

            for (var user = 0; user <= 300; user += 7)
            {
                var ordered = TestKeys.Ordered($"u{user}");
                foreach (var snapshot in new ulong[] { 0, 10, 25, 50, InternalKey.MaxSequence })
                {
                    var seek = TestKeys.Seek(ordered, snapshot);
                    var expected = entries.Find(e => InternalKey.CompareOrdered(e.Key, seek) == 0 && InternalKey.Sequence(e.Key) <= snapshot);
                    var found = table.TryGet(seek, out var kind, out var sequence, out var value);
                    Assert.Equal(expected.Key is not null, found);
                    if (found)
                    {
                        Assert.Equal(InternalKey.Sequence(expected.Key), sequence);
                        Assert.Equal(InternalKey.Kind(expected.Key), kind);
                        Assert.Equal(expected.Value, value.ToArray());
                    }
                }
            }
        }, iter: 150);

    [Fact]
    public void TryGet_ManyThreadsSharingSmallCache_AllFindTheirKeys()
    {
        var seed = TestSeed.Get(nameof(TryGet_ManyThreadsSharingSmallCache_AllFindTheirKeys));
        var file = new MemoryFile("/mem/000010.sst");
        var builder = new TableBuilder(file, new TableBuilderOptions());
        var ordered = new List<byte[]>();
        for (var i = 0; i < 20_000; i++)
        {
            ordered.Add(TestKeys.Ordered($"key-{i}"));
        }

        ordered.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
        foreach (var key in ordered)
        {
            builder.Add(TestKeys.Internal(key, 5, ValueKind.Put), key);
        }

        builder.Finish();
        var cache = new BlockCache(64 * 1024); // far smaller than the table: constant eviction
        var stats = new StorageStatistics();
        using var table = TableReader.Open(file, 10, cache, stats);
        ConcurrentRun.OnThreads(4, t =>
        {
            var random = new SplitMix64(seed + t);
            for (var n = 0; n < 20_000; n++)
            {
                var key = ordered[random.Next(ordered.Count)];
                if (!table.TryGet(TestKeys.Seek(key, 10), out _, out var sequence, out var value) || sequence != 5 || !value.Span.SequenceEqual(key))
                {
                    throw new InvalidOperationException($"lookup {n} of {Convert.ToHexString(key)} failed");
                }

                using var it = table.NewIterator();
                it.Seek(TestKeys.Seek(key, 10));
                if (!it.Valid || !InternalKey.Ordered(it.Key).SequenceEqual(key))
                {
                    throw new InvalidOperationException($"seek {n} of {Convert.ToHexString(key)} failed");
                }
            }
        });

        Assert.True(cache.UsageBytes <= cache.CapacityBytes);
        Assert.True(stats.CacheMisses > 0 && stats.CacheHits > 0);
    }
}
