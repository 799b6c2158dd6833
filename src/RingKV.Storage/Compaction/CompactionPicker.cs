using System;
using System.Collections.Generic;
using System.Diagnostics;
using RingKV.Storage.Keys;
using RingKV.Storage.Versions;
using Version = RingKV.Storage.Versions.Version;

namespace RingKV.Storage.Compaction;

/// <summary>Decides what to compact next, and why, from a <see cref="Version"/> alone: leveled compaction, as in LevelDB and RocksDB's default.</summary>
/// <remarks>
/// <para>
/// Pure and thread-safe: it reads the version and the round-robin pointers it is given and changes nothing, so it is
/// tested on hand-built versions without an engine.
/// </para>
/// <para>
/// Leveled rather than size-tiered: RingKV's load is dominated by point reads of small values and by token-range scans
/// for repair and streaming. Leveled compaction keeps each key in at most one table per sorted level (a read touches
/// level 0 plus one table per level, each behind a bloom filter) and bounds space amplification near 1.1x, which
/// matters because a node holds a data set larger than memory. Size-tiered writes less (about half the write
/// amplification) but lets a key live in many tables of a tier and needs up to 2x free disk during big merges; writes
/// here are already cheap (group-committed log plus memtable), so the extra compaction I/O goes to reads and space.
/// </para>
/// <para>Rules:</para>
/// <list type="number">
/// <item>Score: level 0 by table count over the level-0 trigger (its tables overlap, so each one costs every read);
/// level n ≥ 1 by bytes over <see cref="LevelTargetBytes"/>. The highest score of at least 1 wins, ties to the
/// shallower level; the last level is never a source.</item>
/// <item>Inputs: every level-0 table (they overlap one another, so none may pass an older one below it); of a deeper
/// level one table, the first whose largest key is past the level's round-robin pointer (the largest key its last
/// compaction took), so every key range gets its turn.</item>
/// <item>The tables of the output level that overlap the inputs are merged with them; the tables of the level below
/// the output (grandparents) that overlap the whole compaction are recorded.</item>
/// <item>A single input of level 1 or deeper with nothing to merge with moves down without being rewritten (a
/// trivial move), unless it overlaps more than <see cref="MaxGrandparentOverlapBytes"/> of grandparents: moved, it would
/// make its own later compaction that large; rewritten, its outputs are cut at that overlap (<see cref="OutputCutter"/>).</item>
/// <item>When no level scores 1, the table of levels 1 to 5 with the largest share of tombstones among its entries, at
/// least <see cref="MinTombstoneShare"/>, that deeper levels overlap is compacted one level down (RocksDB's
/// deletion-triggered compaction): its tombstones meet and drop the older versions they hide, and move towards the
/// base level of their keys, where compaction drops them once past the grace. A table no deeper level overlaps is at
/// that base already and is not picked: rewriting it would drop its tombstones only once their grace had passed,
/// which the version does not record.</item>
/// </list>
/// </remarks>
internal sealed class CompactionPicker
{
    /// <summary>Share of a table's entries that must be tombstones for it to be compacted for them alone.</summary>
    public const double MinTombstoneShare = 0.5;

    /// <summary>Grandparent bytes a compaction's output may overlap, in target table sizes (LevelDB's factor).</summary>
    public const int GrandparentOverlapTables = 10;

    private readonly int _level0Trigger;
    private readonly long _level1Bytes;
    private readonly int _levelSizeMultiplier;

    /// <summary>A picker for the given level-0 trigger, level sizes and output table size.</summary>
    public CompactionPicker(int level0CompactionTrigger, long level1Bytes, int levelSizeMultiplier, long targetFileBytes)
    {
        Debug.Assert(level0CompactionTrigger >= 1 && level1Bytes > 0 && levelSizeMultiplier >= 2 && targetFileBytes > 0);
        _level0Trigger = level0CompactionTrigger;
        _level1Bytes = level1Bytes;
        _levelSizeMultiplier = levelSizeMultiplier;
        MaxGrandparentOverlapBytes = GrandparentOverlapTables * targetFileBytes;
    }

    /// <summary>A picker with the engine's settings.</summary>
    public static CompactionPicker For(StorageOptions options) =>
        new(options.Level0CompactionTrigger, options.Level1Bytes, options.LevelSizeMultiplier, options.TargetFileBytes);

    /// <summary>Grandparent bytes above which a single table is rewritten rather than moved, and an output is cut.</summary>
    public long MaxGrandparentOverlapBytes { get; }

    /// <summary>Target size of <paramref name="level"/>: level 1's, times the multiplier for each level deeper. Requires: level ≥ 1.</summary>
    public long LevelTargetBytes(int level)
    {
        Debug.Assert(level >= 1);
        var target = _level1Bytes;
        for (var i = 1; i < level; i++)
        {
            target *= _levelSizeMultiplier;
        }

        return target;
    }

    /// <summary>How far <paramref name="level"/> is over its limit: 1 means at it.</summary>
    public double Score(Version version, int level) => level == 0
        ? version.Levels[0].Length / (double)_level0Trigger
        : version.LevelBytes(level) / (double)LevelTargetBytes(level);

    /// <summary>The compaction to run next, or null when nothing needs one.</summary>
    /// <param name="version">The version to pick from.</param>
    /// <param name="compactPointers">Per level, the largest key its last compaction took (null: start from the first table).</param>
    public CompactionPick? Pick(Version version, IReadOnlyList<byte[]?> compactPointers)
    {
        ArgumentNullException.ThrowIfNull(version);
        ArgumentNullException.ThrowIfNull(compactPointers);
        var bestLevel = -1;
        var bestScore = 0.0;
        for (var level = 0; level < Version.LevelCount - 1; level++)
        {
            var score = Score(version, level);
            if (score >= 1 && score > bestScore)
            {
                bestScore = score;
                bestLevel = level;
            }
        }

        if (bestLevel == 0)
        {
            return Build(version, CompactionReason.Level0FileCount, bestScore, 0, 1, [.. version.Levels[0]]);
        }

        if (bestLevel > 0)
        {
            var input = NextInTurn(version.Levels[bestLevel], compactPointers[bestLevel]);
            return Build(version, CompactionReason.LevelSize, bestScore, bestLevel, bestLevel + 1, [input]);
        }

        return PickTombstones(version);
    }

    /// <summary>
    /// Every table of <paramref name="level"/> compacted into <paramref name="outputLevel"/> (the next level, or the same
    /// one to rewrite the bottom level); null when the level is empty.
    /// </summary>
    public CompactionPick? PickManual(Version version, int level, int outputLevel)
    {
        ArgumentNullException.ThrowIfNull(version);
        Debug.Assert(outputLevel == level || outputLevel == level + 1);
        var files = version.Levels[level];
        return files.Length == 0 ? null : Build(version, CompactionReason.Manual, 0, level, outputLevel, [.. files]);
    }

    /// <summary>Share of a table's entries that are tombstones (0 for an empty table).</summary>
    public static double TombstoneShare(FileMeta file) => file.EntryCount == 0 ? 0 : file.TombstoneCount / (double)file.EntryCount;

    private CompactionPick Build(Version version, CompactionReason reason, double score, int level, int outputLevel, FileMeta[] inputs)
    {
        var (smallest, largest) = Range(inputs, []);
        FileMeta[] next = outputLevel == level ? [] : [.. version.Overlapping(outputLevel, InternalKey.Ordered(smallest), InternalKey.Ordered(largest))];
        FileMeta[] grandparents = [];
        if (outputLevel > level && outputLevel + 1 < Version.LevelCount)
        {
            var (first, last) = Range(inputs, next);
            grandparents = [.. version.Overlapping(outputLevel + 1, InternalKey.Ordered(first), InternalKey.Ordered(last))];
        }

        long grandparentBytes = 0;
        foreach (var file in grandparents)
        {
            grandparentBytes += file.Size;
        }

        var trivialMove = reason != CompactionReason.Manual && level > 0 && inputs.Length == 1 && next.Length == 0
            && grandparentBytes <= MaxGrandparentOverlapBytes;
        return new CompactionPick(version, reason, score, level, outputLevel, inputs, next, grandparents, trivialMove, MaxGrandparentOverlapBytes);
    }

    /// <summary>Rule 5: the most tombstone-heavy table that still has older data below it.</summary>
    private CompactionPick? PickTombstones(Version version)
    {
        FileMeta? best = null;
        var bestLevel = -1;
        var bestShare = 0.0;
        for (var level = 1; level < Version.LevelCount - 1; level++)
        {
            foreach (var file in version.Levels[level])
            {
                var share = TombstoneShare(file);
                if (share >= MinTombstoneShare && share > bestShare && HasDeeperOverlap(version, level, file))
                {
                    best = file;
                    bestLevel = level;
                    bestShare = share;
                }
            }
        }

        return best is null ? null : Build(version, CompactionReason.Tombstones, bestShare, bestLevel, bestLevel + 1, [best]);
    }

    private static bool HasDeeperOverlap(Version version, int level, FileMeta file)
    {
        var first = InternalKey.Ordered(file.Smallest);
        var last = InternalKey.Ordered(file.Largest);
        for (var deeper = level + 1; deeper < Version.LevelCount; deeper++)
        {
            foreach (var other in version.Levels[deeper])
            {
                if (other.Overlaps(first, last))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>The first table whose largest key is past <paramref name="pointer"/>; the first table after wrapping around.</summary>
    private static FileMeta NextInTurn(FileMeta[] files, byte[]? pointer)
    {
        if (pointer is not null)
        {
            foreach (var file in files)
            {
                if (InternalKey.Compare(file.Largest, pointer) > 0)
                {
                    return file;
                }
            }
        }

        return files[0];
    }

    /// <summary>The smallest and largest internal keys of the tables of <paramref name="a"/> and <paramref name="b"/>. Requires: one is not empty.</summary>
    private static (byte[] Smallest, byte[] Largest) Range(FileMeta[] a, FileMeta[] b)
    {
        var first = a.Length > 0 ? a[0] : b[0];
        var smallest = first.Smallest;
        var largest = first.Largest;
        Widen(a, ref smallest, ref largest);
        Widen(b, ref smallest, ref largest);
        return (smallest, largest);

        static void Widen(FileMeta[] files, ref byte[] smallest, ref byte[] largest)
        {
            foreach (var file in files)
            {
                if (InternalKey.Compare(file.Smallest, smallest) < 0)
                {
                    smallest = file.Smallest;
                }

                if (InternalKey.Compare(file.Largest, largest) > 0)
                {
                    largest = file.Largest;
                }
            }
        }
    }
}
