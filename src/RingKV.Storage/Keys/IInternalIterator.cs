using System;

namespace RingKV.Storage.Keys;

/// <summary>A forward cursor over internal keys in <see cref="InternalKey.Compare"/> order, with every version and tombstone.</summary>
/// <remarks>
/// Not thread-safe. <see cref="Key"/> and <see cref="Value"/> are valid only while positioned and until the next move.
/// Implemented by memtables, blocks, tables, level concatenations and the merging iterator.
/// </remarks>
internal interface IInternalIterator : IDisposable
{
    /// <summary>True while positioned on an entry.</summary>
    bool Valid { get; }

    /// <summary>The current internal key. Requires: <see cref="Valid"/>.</summary>
    ReadOnlySpan<byte> Key { get; }

    /// <summary>The current value. Requires: <see cref="Valid"/>.</summary>
    ReadOnlySpan<byte> Value { get; }

    /// <summary>Positions at the first entry.</summary>
    void SeekToFirst();

    /// <summary>Positions at the first entry whose internal key is at or after <paramref name="internalKey"/>.</summary>
    void Seek(ReadOnlySpan<byte> internalKey);

    /// <summary>Moves to the next entry. Requires: <see cref="Valid"/>.</summary>
    void Next();
}
