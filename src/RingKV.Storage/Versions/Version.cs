using System;
using System.Collections.Generic;
using RingKV.Storage.Keys;

namespace RingKV.Storage.Versions;

/// <summary>An immutable set of live tables, by level.</summary>
/// <remarks>
/// Thread-safe. Level 0 holds flushed tables that may overlap, newest first. Each deeper level holds
/// tables sorted by key with disjoint ranges, and (invariant) all versions of one key in one table, so a
/// point read visits at most one table per level. Readers pin a version with <see cref="TryRef"/>; the
/// engine holds one reference to the current version.
/// </remarks>
internal sealed class Version
{
    public const int LevelCount = 7;

    private RefCount _refs = new();

    public Version(FileMeta[][] levels)
    {
        Levels = levels;
        foreach (var level in levels)
        {
            foreach (var file in level)
            {
                file.Ref();
            }
        }
    }

    /// <summary>Files per level: level 0 newest first, deeper levels by smallest key.</summary>
    public FileMeta[][] Levels { get; }

    public static Version Empty()
    {
        var levels = new FileMeta[LevelCount][];
        for (var i = 0; i < LevelCount; i++)
        {
            levels[i] = [];
        }

        return new Version(levels);
    }

    /// <summary>Takes a reference unless the version is already retired.</summary>
    public bool TryRef() => _refs.TryRef();

    public void Unref()
    {
        if (_refs.Unref())
        {
            foreach (var level in Levels)
            {
                foreach (var file in level)
                {
                    file.Unref();
                }
            }
        }
    }

    public long LevelBytes(int level)
    {
        long total = 0;
        foreach (var file in Levels[level])
        {
            total += file.Size;
        }

        return total;
    }

    /// <summary>Index of the file of a sorted level (≥ 1) that may hold <paramref name="orderedKey"/>, or -1.</summary>
    public int FindFile(int level, ReadOnlySpan<byte> orderedKey)
    {
        var files = Levels[level];
        int lo = 0, hi = files.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (InternalKey.Ordered(files[mid].Largest).SequenceCompareTo(orderedKey) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo < files.Length && InternalKey.Ordered(files[lo].Smallest).SequenceCompareTo(orderedKey) <= 0 ? lo : -1;
    }

    /// <summary>Files of <paramref name="level"/> that may hold ordered keys in [first, last].</summary>
    public List<FileMeta> Overlapping(int level, ReadOnlySpan<byte> firstOrdered, ReadOnlySpan<byte> lastOrdered)
    {
        var result = new List<FileMeta>();
        foreach (var file in Levels[level])
        {
            if (file.Overlaps(firstOrdered, lastOrdered))
            {
                result.Add(file);
            }
        }

        return result;
    }

    /// <summary>A new version with <paramref name="removed"/> gone and <paramref name="added"/> (level, file) in.</summary>
    public Version Apply(IReadOnlyCollection<FileMeta> removed, IReadOnlyList<(int Level, FileMeta File)> added)
    {
        var levels = new FileMeta[LevelCount][];
        var removedNumbers = new HashSet<long>();
        foreach (var file in removed)
        {
            removedNumbers.Add(file.Number);
        }

        for (var level = 0; level < LevelCount; level++)
        {
            var list = new List<FileMeta>();
            foreach (var file in Levels[level])
            {
                if (!removedNumbers.Contains(file.Number))
                {
                    list.Add(file);
                }
            }

            foreach (var (addLevel, file) in added)
            {
                if (addLevel == level)
                {
                    list.Add(file);
                }
            }

            if (level == 0)
            {
                list.Sort(static (a, b) => b.Number.CompareTo(a.Number));
            }
            else
            {
                list.Sort(static (a, b) => InternalKey.Compare(a.Smallest, b.Smallest));
            }

            levels[level] = [.. list];
        }

        return new Version(levels);
    }
}
