using System;
using System.Threading;
using RingKV.Storage.Keys;
using RingKV.Storage.Tables;

namespace RingKV.Storage.Versions;

/// <summary>A live table: its number, size, key range, entry counts and open reader.</summary>
/// <remarks>
/// Thread-safe. Each <see cref="Version"/> that lists the file holds one reference; when the last one goes,
/// the reader is closed and, if the file was replaced by compaction, deleted.
/// </remarks>
internal sealed class FileMeta
{
    private int _refs;

    public FileMeta(long number, long size, byte[] smallest, byte[] largest, ulong minSequence, ulong maxSequence, long entryCount = 0, long tombstoneCount = 0)
    {
        EntryCount = entryCount;
        TombstoneCount = tombstoneCount;
        Number = number;
        Size = size;
        Smallest = smallest;
        Largest = largest;
        MinSequence = minSequence;
        MaxSequence = maxSequence;
    }

    public long Number { get; }

    public long Size { get; }

    /// <summary>Smallest internal key.</summary>
    public byte[] Smallest { get; }

    /// <summary>Largest internal key.</summary>
    public byte[] Largest { get; }

    public ulong MinSequence { get; }

    public ulong MaxSequence { get; }

    /// <summary>Records in the table (every version and tombstone), from its properties; 0 when not known.</summary>
    public long EntryCount { get; }

    /// <summary>Tombstones in the table, from its properties; 0 when not known.</summary>
    public long TombstoneCount { get; }

    /// <summary>The open reader; set once at open or creation.</summary>
    public TableReader? Reader { get; set; }

    /// <summary>Set when compaction replaced the file: delete it once unreferenced.</summary>
    public bool Obsolete { get; set; }

    /// <summary>Called when the last reference goes.</summary>
    public Action<FileMeta>? OnUnreferenced { get; set; }

    /// <summary>True when the ordered key lies within this file's range.</summary>
    public bool Covers(ReadOnlySpan<byte> orderedKey) =>
        orderedKey.SequenceCompareTo(InternalKey.Ordered(Smallest)) >= 0
        && orderedKey.SequenceCompareTo(InternalKey.Ordered(Largest)) <= 0;

    /// <summary>True when the file may hold ordered keys in [first, last].</summary>
    public bool Overlaps(ReadOnlySpan<byte> firstOrdered, ReadOnlySpan<byte> lastOrdered) =>
        InternalKey.Ordered(Smallest).SequenceCompareTo(lastOrdered) <= 0
        && InternalKey.Ordered(Largest).SequenceCompareTo(firstOrdered) >= 0;

    public void Ref() => Interlocked.Increment(ref _refs);

    public void Unref()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            OnUnreferenced?.Invoke(this);
        }
    }
}
