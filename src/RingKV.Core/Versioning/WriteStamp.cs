using System;

namespace RingKV.Core.Versioning;

/// <summary>A write's place in last-writer-wins order: its timestamp, then its dot (actor, then counter) to break ties.</summary>
/// <remarks>A total order over writes, since dots are unique: plain GET shows the highest, and a last-writer-wins write supersedes every lower one.</remarks>
/// <param name="Timestamp">The write's hybrid-logical time.</param>
/// <param name="Dot">The write's dot.</param>
public readonly record struct WriteStamp(HybridTimestamp Timestamp, Dot Dot) : IComparable<WriteStamp>
{
    /// <inheritdoc/>
    public int CompareTo(WriteStamp other)
    {
        var byTime = Timestamp.CompareTo(other.Timestamp);
        return byTime != 0 ? byTime : Dot.CompareTo(other.Dot);
    }

    /// <summary>True when <paramref name="left"/> orders before <paramref name="right"/>.</summary>
    public static bool operator <(WriteStamp left, WriteStamp right) => left.CompareTo(right) < 0;

    /// <summary>True when <paramref name="left"/> orders after <paramref name="right"/>.</summary>
    public static bool operator >(WriteStamp left, WriteStamp right) => left.CompareTo(right) > 0;

    /// <summary>True when <paramref name="left"/> orders before or equals <paramref name="right"/>.</summary>
    public static bool operator <=(WriteStamp left, WriteStamp right) => left.CompareTo(right) <= 0;

    /// <summary>True when <paramref name="left"/> orders after or equals <paramref name="right"/>.</summary>
    public static bool operator >=(WriteStamp left, WriteStamp right) => left.CompareTo(right) >= 0;

    /// <summary>Debug form: <c>time(actor,counter)</c>.</summary>
    public override string ToString() => FormattableString.Invariant($"{Timestamp}({Dot.Actor},{Dot.Counter})");
}
