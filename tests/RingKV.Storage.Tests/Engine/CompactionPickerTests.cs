using System.Collections.Generic;
using System.Linq;
using RingKV.Core.Hashing;
using RingKV.Storage.Compaction;
using RingKV.Storage.Keys;
using RingKV.Storage.Versions;
using Xunit;
using Version = RingKV.Storage.Versions.Version;

namespace RingKV.Storage.Tests.Engine;

/// <summary>
/// What to compact and why, decided from hand-built versions alone: tables with chosen key ranges, sizes and tombstone
/// counts, no files and no engine.
/// </summary>
public sealed class CompactionPickerTests
{
    // Level-0 trigger 4, level 1 target 1,000 bytes (level 2: 10,000), tables of 100 bytes: 1,000 grandparent bytes at most.
    private static readonly CompactionPicker Picker = new(level0CompactionTrigger: 4, level1Bytes: 1_000, levelSizeMultiplier: 10, targetFileBytes: 100);

    private long _nextNumber = 1;

    [Fact]
    public void Pick_EmptyVersion_Nothing() =>
        Assert.Null(Picker.Pick(VersionOf(), NoPointers()));

    [Fact]
    public void Pick_EveryLevelUnderItsLimit_Nothing()
    {
        var version = VersionOf(
            (0, Table(10, 20)), (0, Table(15, 30)), (0, Table(5, 8)),  // 3 of 4
            (1, Table(0, 50, size: 999)),                             // 999 of 1,000
            (2, Table(0, 90, size: 9_999)),                           // 9,999 of 10,000
            (6, Table(0, 99, size: 1_000_000)));                      // the last level is never a source

        Assert.Null(Picker.Pick(version, NoPointers()));
    }

    [Fact]
    public void Pick_Level0AtTrigger_AllLevel0TablesAndTheOverlappingLevel1Tables()
    {
        var level0 = new[] { Table(10, 20), Table(15, 30), Table(40, 50), Table(5, 8) };
        var below = Table(0, 9);
        var middle = Table(25, 35);
        var outside = Table(60, 70);
        var deeper = Table(45, 65);
        var version = VersionOf([.. level0.Select(t => (0, t)), (1, below), (1, middle), (1, outside), (2, deeper)]);

        var pick = Picker.Pick(version, NoPointers());

        Assert.NotNull(pick);
        Assert.Equal(CompactionReason.Level0FileCount, pick.Reason);
        Assert.Equal(1.0, pick.Score);
        Assert.Equal((0, 1), (pick.Level, pick.OutputLevel));
        Assert.Equal(Numbers(level0), Numbers(pick.Inputs));
        Assert.Equal(Numbers(below, middle), Numbers(pick.Next));
        Assert.Equal(Numbers(deeper), Numbers(pick.Grandparents)); // level 2 over the whole range 0..50
        Assert.False(pick.IsTrivialMove);
    }

    [Theory]
    [InlineData(5, 3_000, 0, 1, 3.0)]      // level 1 at 3.0 beats level 0 at 1.25
    [InlineData(16, 3_000, 0, 0, 4.0)]     // level 0 at 4.0 beats level 1 at 3.0
    [InlineData(0, 1_500, 25_000, 2, 2.5)] // level 2 at 2.5 beats level 1 at 1.5
    [InlineData(4, 1_000, 0, 0, 1.0)]      // a tie goes to the shallower level
    public void Pick_SeveralLevelsOverTheirLimits_HighestScoreFirst(int level0Tables, long level1Bytes, long level2Bytes, int expectedLevel, double expectedScore)
    {
        var files = new List<(int, FileMeta)>();
        for (var i = 0; i < level0Tables; i++)
        {
            files.Add((0, Table(0, 10)));
        }

        if (level1Bytes > 0)
        {
            files.Add((1, Table(20, 30, size: level1Bytes)));
        }

        if (level2Bytes > 0)
        {
            files.Add((2, Table(40, 50, size: level2Bytes)));
        }

        var pick = Picker.Pick(VersionOf([.. files]), NoPointers());

        Assert.NotNull(pick);
        Assert.Equal(expectedLevel, pick.Level);
        Assert.Equal(expectedScore, pick.Score);
        Assert.Equal(expectedLevel == 0 ? CompactionReason.Level0FileCount : CompactionReason.LevelSize, pick.Reason);
    }

    [Fact]
    public void Pick_LevelOverItsTarget_OneTableInTurnAfterTheLevelsPointer()
    {
        var a = Table(10, 20, size: 500);
        var b = Table(30, 40, size: 500);
        var c = Table(50, 60, size: 500);
        var version = VersionOf((1, a), (1, b), (1, c));

        Assert.Equal(a.Number, PickedAt1(null));              // no pointer yet: the first table
        Assert.Equal(b.Number, PickedAt1(a.Largest));         // the one after the last compaction's largest key
        Assert.Equal(c.Number, PickedAt1(b.Largest));
        Assert.Equal(a.Number, PickedAt1(c.Largest));         // past the last table: wraps around
        Assert.Equal(b.Number, PickedAt1(Key(35)));           // a pointer inside b: b still has keys after it

        long PickedAt1(byte[]? pointer)
        {
            var pointers = NoPointers();
            pointers[1] = pointer;
            var pick = Picker.Pick(version, pointers);
            Assert.NotNull(pick);
            Assert.Equal(CompactionReason.LevelSize, pick.Reason);
            Assert.Equal(1.5, pick.Score);
            return Assert.Single(pick.Inputs).Number;
        }
    }

    [Fact]
    public void Pick_OneTableNothingToMergeWith_TrivialMove()
    {
        var moved = Table(10, 20, size: 1_500);
        var grandparent = Table(15, 25, size: 1_000); // at the limit, not over it
        var pick = Picker.Pick(VersionOf((1, moved), (2, Table(30, 40)), (3, grandparent)), NoPointers());

        Assert.NotNull(pick);
        Assert.Equal((1, 2), (pick.Level, pick.OutputLevel));
        Assert.Empty(pick.Next);
        Assert.Equal(Numbers(grandparent), Numbers(pick.Grandparents));
        Assert.True(pick.IsTrivialMove);
    }

    [Fact]
    public void Pick_TrivialMoveWouldOverlapTooManyGrandparentBytes_RewrittenInstead()
    {
        var table = Table(10, 40, size: 1_500);
        var grandparents = new[] { Table(5, 12, size: 400), Table(13, 25, size: 400), Table(26, 45, size: 201) };
        var pick = Picker.Pick(VersionOf([(1, table), .. grandparents.Select(g => (3, g))]), NoPointers());

        Assert.NotNull(pick);
        Assert.Empty(pick.Next);
        Assert.Equal(1_001, pick.GrandparentBytes);
        Assert.Equal(Numbers(grandparents), Numbers(pick.Grandparents));
        Assert.False(pick.IsTrivialMove);
    }

    [Fact]
    public void OutputCutter_OverlapPassesTheLimit_CutsBeforeTheNextKeyAndCountsAgain()
    {
        var grandparents = new[] { Table(10, 19, size: 600), Table(20, 29, size: 600), Table(30, 39, size: 600), Table(40, 49, size: 600) };
        var cutter = new CompactionPick(
            VersionOf(), CompactionReason.LevelSize, 1, 1, 2, [], [], grandparents, isTrivialMove: false, maxGrandparentOverlapBytes: 1_000)
            .NewOutputCutter();

        Assert.False(cutter.ShouldCutBefore(Ordered(22))); // no output open: the first grandparent, passed, counts for none
        Assert.Equal(0, cutter.OverlapBytes);
        cutter.OutputStarted();
        Assert.False(cutter.ShouldCutBefore(Ordered(25)));
        Assert.False(cutter.ShouldCutBefore(Ordered(31))); // the second ended inside this output: 600
        Assert.Equal(600, cutter.OverlapBytes);
        Assert.True(cutter.ShouldCutBefore(Ordered(41)));  // the third too: 1,200 > 1,000, end the output before 41
        cutter.OutputFinished();
        cutter.OutputStarted();
        Assert.False(cutter.ShouldCutBefore(Ordered(45)));
        Assert.False(cutter.ShouldCutBefore(Ordered(60)));  // the fourth: 600 in the new output
        Assert.Equal(600, cutter.OverlapBytes);
    }

    [Fact]
    public void OutputCutter_NoGrandparents_NeverCuts()
    {
        var cutter = new CompactionPick(VersionOf(), CompactionReason.Manual, 0, 5, 6, [], [], [], false, 0).NewOutputCutter();
        cutter.OutputStarted();
        for (ulong key = 0; key < 100; key++)
        {
            Assert.False(cutter.ShouldCutBefore(Ordered(key)));
        }
    }

    [Fact]
    public void Pick_NoLevelOverItsLimit_TheMostTombstoneHeavyTableWithDataBelowMovesDown()
    {
        var light = Table(0, 5, entries: 100, tombstones: 49);          // under half: not for tombstones
        var heavy = Table(10, 20, entries: 100, tombstones: 60);
        var heavier = Table(30, 40, entries: 100, tombstones: 90);      // nothing below it: at its base already
        var heavyLower = Table(50, 60, entries: 100, tombstones: 70);   // level 2, merges with what level 3 holds
        var version = VersionOf(
            (1, light), (1, heavy), (1, heavier), (2, heavyLower),
            (3, Table(0, 5)), (3, Table(15, 25)), (3, Table(55, 58, size: 40)));

        var pick = Picker.Pick(version, NoPointers());

        Assert.NotNull(pick);
        Assert.Equal(CompactionReason.Tombstones, pick.Reason);
        Assert.Equal(0.7, pick.Score, 3);
        Assert.Equal((2, 3), (pick.Level, pick.OutputLevel));
        Assert.Equal(Numbers(heavyLower), Numbers(pick.Inputs));
        Assert.Single(pick.Next);
        Assert.False(pick.IsTrivialMove);

        // Without it, the level-1 table with older data two levels below moves down a level as it is.
        var withoutLower = VersionOf((1, light), (1, heavy), (1, heavier), (3, Table(0, 5)), (3, Table(15, 25)));
        var next = Picker.Pick(withoutLower, NoPointers());
        Assert.NotNull(next);
        Assert.Equal(Numbers(heavy), Numbers(next.Inputs));
        Assert.True(next.IsTrivialMove);
    }

    [Fact]
    public void Pick_TombstoneHeavyTablesAtTheirBase_Nothing()
    {
        var version = VersionOf((1, Table(10, 20, entries: 10, tombstones: 10)), (2, Table(30, 40, entries: 10, tombstones: 9)), (6, Table(0, 5, entries: 10, tombstones: 10)));
        Assert.Null(Picker.Pick(version, NoPointers()));
    }

    [Fact]
    public void Pick_LevelOverItsTargetAndTombstones_TheLevelFirst()
    {
        var tombstones = Table(10, 20, entries: 10, tombstones: 10);
        var full = Table(30, 40, size: 20_000);
        var pick = Picker.Pick(VersionOf((1, tombstones), (2, full), (3, Table(0, 50))), NoPointers());

        Assert.NotNull(pick);
        Assert.Equal(CompactionReason.LevelSize, pick.Reason);
        Assert.Equal(Numbers(full), Numbers(pick.Inputs));
    }

    [Fact]
    public void PickManual_Level_EveryTableIntoTheNextOrTheBottomIntoItself()
    {
        var a = Table(10, 20);
        var b = Table(30, 40);
        var below = Table(15, 35);
        var version = VersionOf((1, a), (1, b), (2, below), (3, Table(0, 100)));

        var down = Picker.PickManual(version, 1, 2);
        Assert.NotNull(down);
        Assert.Equal(CompactionReason.Manual, down.Reason);
        Assert.Equal(Numbers(a, b), Numbers(down.Inputs));
        Assert.Equal(Numbers(below), Numbers(down.Next));
        Assert.Single(down.Grandparents);

        var bottom = Picker.PickManual(version, 3, 3);
        Assert.NotNull(bottom);
        Assert.Equal(3, bottom.OutputLevel);
        Assert.Empty(bottom.Next);
        Assert.Empty(bottom.Grandparents);
        Assert.False(bottom.IsTrivialMove); // one table, nothing to merge with, but rewritten: that is the point

        Assert.Null(Picker.PickManual(version, 4, 5));
    }

    [Fact]
    public void LevelTargetBytes_EachLevelTheMultiplierTimesTheOneAbove()
    {
        Assert.Equal(1_000, Picker.LevelTargetBytes(1));
        Assert.Equal(10_000, Picker.LevelTargetBytes(2));
        Assert.Equal(100_000_000, Picker.LevelTargetBytes(Version.LevelCount - 1));
        Assert.Equal(1_000, Picker.MaxGrandparentOverlapBytes);
    }

    private static byte[]?[] NoPointers() => new byte[]?[Version.LevelCount];

    private static Version VersionOf(params (int Level, FileMeta File)[] files)
    {
        var empty = Version.Empty();
        var version = empty.Apply([], files);
        empty.Unref();
        return version;
    }

    /// <summary>A table whose keys run from position <paramref name="first"/> to <paramref name="last"/> (positions are tokens).</summary>
    private FileMeta Table(ulong first, ulong last, long size = 100, long entries = 100, long tombstones = 0) =>
        new(_nextNumber++, size, Key(first), Key(last), 1, 1, entries, tombstones);

    private static byte[] Ordered(ulong position)
    {
        var ordered = new byte[Token.Size + 1];
        InternalKey.WriteOrdered(ordered, "k"u8, new Token(position));
        return ordered;
    }

    private static byte[] Key(ulong position)
    {
        var ordered = Ordered(position);
        var key = new byte[ordered.Length + InternalKey.TrailerSize];
        InternalKey.Write(key, ordered, 1, ValueKind.Put);
        return key;
    }

    private static long[] Numbers(params IEnumerable<FileMeta> files) => [.. files.Select(f => f.Number).Order()];
}
