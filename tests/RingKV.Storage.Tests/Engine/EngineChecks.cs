using System;
using System.Collections.Generic;
using System.Text;
using RingKV.Core.Errors;
using RingKV.Core.Hashing;
using RingKV.Core.Random;
using Xunit;

namespace RingKV.Storage.Tests.Engine;

/// <summary>Assertions of an engine against an <see cref="EngineModel"/>, and the tiny settings that make flushes and compactions happen in small tests.</summary>
internal static class EngineChecks
{
    /// <summary>
    /// Sizes small enough that a few hundred writes flush, compact and span several levels: level 1 of 4 KiB and each
    /// level twice the one above, so some tens of KiB of live records reach level 3 and deeper, where a tombstone or an
    /// expired record dropped too early lets an older version below it come back.
    /// </summary>
    public static StorageOptions TinyOptions(
        string directory,
        TimeProvider time,
        IMergeOperator? merge = null,
        CompressionKind compression = CompressionKind.Lz4,
        int bloomBitsPerKey = 10,
        TimeSpan? tombstoneGrace = null,
        IFileSystem? fileSystem = null) => new()
        {
            Directory = directory,
            FileSystem = fileSystem ?? PosixFileSystem.Instance,
            Sync = SyncPolicy.None,
            MemtableBytes = 16 << 10,
            BlockCacheBytes = 64 << 10,
            BlockSizeBytes = 1024,
            TargetFileBytes = 4 << 10,
            Level1Bytes = 4 << 10,
            LevelSizeMultiplier = 2,
            LogSegmentBytes = 64 << 10,
            TombstoneGrace = tombstoneGrace ?? TimeSpan.Zero,
            MergeOperator = merge,
            Compression = compression,
            ColdCompression = compression,
            BloomBitsPerKey = bloomBitsPerKey,
            Time = time,
            CompactionNice = 0, // tests wait for compactions; a niced thread on a busy machine only makes them wait longer
        };

    /// <summary>
    /// Waits (with a deadline) until no level is due for a compaction: level 0 below its trigger, every other level
    /// below its target. Then the tree's shape follows from the operations alone, not from how fast the compaction
    /// thread ran, and a sequence replays into the same levels.
    /// </summary>
    public static void WaitForCompactions(StorageEngine engine, int level0Trigger = 4)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!Settled(engine.GetLevels(), level0Trigger))
        {
            Assert.True(DateTime.UtcNow < deadline, "background compactions did not settle within 60 s");
            System.Threading.Thread.Sleep(1);
        }
    }

    private static bool Settled(IReadOnlyList<LevelInfo> levels, int level0Trigger)
    {
        foreach (var level in levels)
        {
            var due = level.Level == 0 ? level.Files >= level0Trigger : level.Level < levels.Count - 1 && level.Bytes >= level.TargetBytes;
            if (due)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Disposes an engine whose file system crashed: its threads stop; what it still writes fails.</summary>
    public static void AbandonAfterCrash(StorageEngine engine)
    {
        try
        {
            engine.Dispose();
        }
        catch (Exception e) when (e is RingKVException or System.IO.IOException)
        {
        }
    }

    /// <summary>The deepest level holding a table, or -1 when none does.</summary>
    public static int DeepestLevel(StorageEngine engine)
    {
        var deepest = -1;
        foreach (var level in engine.GetLevels())
        {
            if (level.Files > 0)
            {
                deepest = level.Level;
            }
        }

        return deepest;
    }

    public static void AssertGets(StorageEngine engine, EngineModel model, IReadOnlyList<byte[]> keys, DateTimeOffset now)
    {
        foreach (var key in keys)
        {
            var expected = model.Get(key, now);
            var actual = engine.Get(key);
            if (expected is null)
            {
                Assert.True(actual is null, $"Get({Show(key)}) returned {actual?.Length} bytes; expected absent");
            }
            else
            {
                Assert.True(actual is not null, $"Get({Show(key)}) returned absent; expected {expected.Length} bytes");
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"Get({Show(key)}) returned a different value ({actual.Length} bytes, expected {expected.Length})");
            }
        }
    }

    /// <summary>Drains a fresh iterator over <paramref name="range"/> and compares it record by record with the model.</summary>
    public static void AssertScan(StorageEngine engine, EngineModel model, TokenRange range, DateTimeOffset now, StorageSnapshot? snapshot = null)
    {
        using var iterator = engine.NewIterator(range, snapshot);
        AssertRemaining(iterator, model.Scan(range, now), 0, $"scan [{range.First}, {range.Last}]");
    }

    /// <summary>Drains <paramref name="iterator"/> and compares it with <paramref name="expected"/> from index <paramref name="from"/>.</summary>
    public static void AssertRemaining(StorageIterator iterator, List<(byte[] Key, EngineModel.Entry Entry)> expected, int from, string what)
    {
        var i = from;
        while (iterator.MoveNext())
        {
            var key = iterator.Key.ToArray();
            Assert.True(i < expected.Count, $"{what}: extra record {Show(key)} after {expected.Count} expected records");
            var (expectedKey, entry) = expected[i];
            Assert.True(expectedKey.AsSpan().SequenceEqual(key), $"{what}: record {i} is {Show(key)}, expected {Show(expectedKey)}");
            Assert.Equal(Token.Of(key), iterator.Token);
            Assert.True(entry.Value.AsSpan().SequenceEqual(iterator.Value), $"{what}: record {i} ({Show(key)}) has a different value");
            Assert.Equal(entry.ExpiresAt, iterator.ExpiresAt);
            i++;
        }

        Assert.True(i == expected.Count, $"{what}: ended after {i} records, expected {expected.Count}");
    }

    public static string Show(ReadOnlySpan<byte> key)
    {
        foreach (var b in key)
        {
            if (b < 0x20 || b > 0x7e)
            {
                return "0x" + Convert.ToHexString(key);
            }
        }

        return Encoding.ASCII.GetString(key);
    }

    /// <summary>A random range: the whole ring, one token, the span between two keys' tokens (inclusive), or two random tokens.</summary>
    public static TokenRange RandomRange(SplitMix64 rng, IReadOnlyList<byte[]> keys)
    {
        ulong a;
        ulong b;
        switch (rng.Next(4))
        {
            case 0:
                return TokenRange.All;
            case 1:
                a = b = Token.Of(keys[rng.Next(keys.Count)]).Value;
                break;
            case 2:
                a = Token.Of(keys[rng.Next(keys.Count)]).Value;
                b = Token.Of(keys[rng.Next(keys.Count)]).Value;
                break;
            default:
                a = rng.NextUInt64();
                b = rng.NextUInt64();
                break;
        }

        return new TokenRange(new Token(Math.Min(a, b)), new Token(Math.Max(a, b)));
    }
}
