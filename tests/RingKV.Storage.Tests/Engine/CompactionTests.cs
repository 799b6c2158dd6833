using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using RingKV.Core.Random;
using RingKV.Testing.Faults;
using Xunit;

namespace RingKV.Storage.Tests.Engine;

/// <summary>
/// What the compaction picker decides, seen through a running engine: a tree whose 2,000 keys all sit in level 2
/// (16 tables of 16 KiB), then a few writes on top.
/// </summary>
public sealed class CompactionTests
{
    private const int Keys = 2_000;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public void Delete_TombstonesAboveTheirData_CompactedDownUntilDropped()
    {
        const int Deleted = 50;
        using var engine = OpenWithDataInLevel2();
        for (var i = 0; i < Deleted; i++)
        {
            engine.Delete(Key(i));
        }

        engine.Flush(); // level 0, then level 1: tombstones only, every level under its limit, the data below

        WaitFor(engine, levels => levels.Sum(l => l.Tombstones) == 0, "the tombstones to be dropped");
        Assert.Equal(Keys - Deleted, engine.GetLevels().Sum(l => l.Entries)); // the versions they hid went with them
        for (var i = 0; i < Keys; i++)
        {
            Assert.Equal(i >= Deleted, engine.Get(Key(i)) is not null);
        }
    }

    [Fact]
    public void Flush_OutputOverlapsManyGrandparentBytes_CutIntoSeveralSmallTables()
    {
        using var engine = OpenWithDataInLevel2();
        for (var i = 0; i < 50; i++)
        {
            engine.Put(Key(Keys + i), "new"u8); // spread over the whole ring, as every key is
        }

        engine.Flush(); // level 0 into level 1, whose grandparents are all of level 2 (about 260 KiB)

        WaitFor(engine, levels => levels[0].Files == 0 && levels[1].Files > 0, "level 0 to be compacted");
        var level1 = engine.GetLevels()[1];
        Assert.Equal(50, level1.Entries);
        Assert.True(level1.Bytes < 16 << 10, $"{level1.Bytes} bytes: the target table size cannot have cut it");
        Assert.True(level1.Files >= 2, $"one table of level 1 overlaps all of level 2: {level1}");
    }

    /// <summary>An engine holding <see cref="Keys"/> keys of 100 random bytes, all in level 2, levels 0 and 1 empty.</summary>
    private static StorageEngine OpenWithDataInLevel2()
    {
        var engine = StorageEngine.Open(new StorageOptions
        {
            Directory = "/mem/engine",
            FileSystem = new CrashableFileSystem().Session(),
            Sync = SyncPolicy.None,
            MemtableBytes = 1 << 20,
            TargetFileBytes = 16 << 10,   // 160 KiB of grandparents at most
            Level1Bytes = 64 << 10,       // level 2 holds 640 KiB: the data set stays there
            Level0CompactionTrigger = 1,
            TombstoneGrace = TimeSpan.Zero,
            CompactionNice = 0,
        });
        var random = new SplitMix64(16);
        var value = new byte[100];
        for (var i = 0; i < Keys; i++)
        {
            random.NextBytes(value);
            engine.Put(Key(i), value);
        }

        // The first full compaction leaves everything in level 1, more than its target: background compaction moves
        // most of it to level 2; the second takes the rest down.
        for (var round = 0; round < 2; round++)
        {
            engine.CompactAll();
            WaitFor(engine, levels => levels.Skip(1).Take(5).All(l => l.Bytes <= l.TargetBytes) && levels[0].Files == 0, "the tree to settle");
        }

        var settled = engine.GetLevels();
        Assert.Equal(0, settled[1].Files);
        Assert.Equal(Keys, settled[2].Entries);
        return engine;
    }

    private static byte[] Key(int i) => Encoding.UTF8.GetBytes($"key-{i:D5}");

    private static void WaitFor(StorageEngine engine, Func<IReadOnlyList<LevelInfo>, bool> done, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!done(engine.GetLevels()))
        {
            Assert.Null(engine.BackgroundError);
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}: {string.Join(", ", engine.GetLevels())}");
            Thread.Sleep(5);
        }
    }
}
