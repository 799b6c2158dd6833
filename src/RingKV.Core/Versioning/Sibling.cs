using System;

namespace RingKV.Core.Versioning;

/// <summary>One concurrent value of a key: the write's dot, its hybrid-logical time, and the value or a tombstone.</summary>
/// <param name="Dot">The write that produced this sibling.</param>
/// <param name="Timestamp">Hybrid-logical time of the write; with the dot it decides <see cref="SiblingSet.Winner"/>.</param>
/// <param name="IsTombstone">True for a delete; the value is then empty.</param>
/// <param name="Value">The value bytes; not copied, so the owner must not change them while the sibling lives.</param>
/// <param name="IsLww">True for a last-writer-wins write (a plain Redis SET or DEL): it supersedes every sibling whose
/// <see cref="Stamp"/> is lower, whatever the contexts (see <see cref="SiblingSet"/>). False for a versioned write
/// (KV.PUT, KV.DEL), which supersedes exactly what its context covers.</param>
/// <remarks>Equality compares the value by content, not by reference.</remarks>
public readonly record struct Sibling(Dot Dot, HybridTimestamp Timestamp, bool IsTombstone, ReadOnlyMemory<byte> Value, bool IsLww = false)
{
    /// <summary>The sibling's place in last-writer-wins order.</summary>
    public WriteStamp Stamp => new(Timestamp, Dot);

    /// <inheritdoc/>
    public bool Equals(Sibling other) =>
        Dot == other.Dot && Timestamp == other.Timestamp && IsTombstone == other.IsTombstone && IsLww == other.IsLww
        && Value.Span.SequenceEqual(other.Value.Span);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Dot, Timestamp, IsTombstone, IsLww, Value.Length);

    /// <summary>True when this sibling beats <paramref name="other"/> for <see cref="SiblingSet.Winner"/>: later time, then higher actor, then higher counter.</summary>
    public bool WinsOver(Sibling other) => Stamp > other.Stamp;
}
