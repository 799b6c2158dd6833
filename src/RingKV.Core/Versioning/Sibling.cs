using System;

namespace RingKV.Core.Versioning;

/// <summary>One concurrent value of a key: the write's dot, its hybrid-logical time, and the value or a tombstone.</summary>
/// <param name="Dot">The write that produced this sibling.</param>
/// <param name="TimestampUnixMs">Hybrid-logical time of the write (Unix ms) from the caller; decides <see cref="SiblingSet.Winner"/>.</param>
/// <param name="IsTombstone">True for a delete; the value is then empty.</param>
/// <param name="Value">The value bytes; not copied, so the owner must not change them while the sibling lives.</param>
/// <remarks>Equality compares the value by content, not by reference.</remarks>
public readonly record struct Sibling(Dot Dot, long TimestampUnixMs, bool IsTombstone, ReadOnlyMemory<byte> Value)
{
    /// <inheritdoc/>
    public bool Equals(Sibling other) =>
        Dot == other.Dot && TimestampUnixMs == other.TimestampUnixMs && IsTombstone == other.IsTombstone && Value.Span.SequenceEqual(other.Value.Span);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Dot, TimestampUnixMs, IsTombstone, Value.Length);

    /// <summary>True when this sibling beats <paramref name="other"/> for <see cref="SiblingSet.Winner"/>: later time, then higher actor, then higher counter.</summary>
    public bool WinsOver(Sibling other)
    {
        if (TimestampUnixMs != other.TimestampUnixMs)
        {
            return TimestampUnixMs > other.TimestampUnixMs;
        }

        return Dot > other.Dot;
    }
}
