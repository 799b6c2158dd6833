using System;
using RingKV.Core.Errors;

namespace RingKV.Core.Versioning;

/// <summary>A hybrid-logical time: Unix milliseconds in the high 48 bits of one <see cref="long"/>, a logical counter in the low 16.</summary>
/// <remarks>
/// Ordering the packed value orders by (milliseconds, logical counter), so a timestamp compares and encodes as one
/// number. 2^47 ms either side of 1970 is about 4,400 years; 65,536 logical ticks per millisecond is more writes than a
/// node coordinates, and a clock that issues more carries into the milliseconds (it runs a little ahead; the order
/// stays strict). Rejected alternative: milliseconds in the sibling with the dot as the tie-break, which cannot order
/// a write after one it observed from a clock that is ahead without pushing the milliseconds forward on every such write.
/// </remarks>
/// <param name="Value">The packed value: <c>unixMs &lt;&lt; 16 | logical</c>.</param>
public readonly record struct HybridTimestamp(long Value) : IComparable<HybridTimestamp>
{
    /// <summary>Bits of the logical counter.</summary>
    public const int LogicalBits = 16;

    /// <summary>Latest Unix millisecond a timestamp can hold.</summary>
    public const long MaxUnixMs = long.MaxValue >> LogicalBits;

    /// <summary>Earliest Unix millisecond a timestamp can hold.</summary>
    public const long MinUnixMs = long.MinValue >> LogicalBits;

    /// <summary>The lowest timestamp; below every timestamp a write carries.</summary>
    public static HybridTimestamp MinValue => new(long.MinValue);

    /// <summary>The physical part: Unix milliseconds.</summary>
    public long UnixMs => Value >> LogicalBits;

    /// <summary>The logical part: ticks within <see cref="UnixMs"/>.</summary>
    public int Logical => (int)(Value & ((1L << LogicalBits) - 1));

    /// <summary>The timestamp of a physical time with logical counter 0; throws <see cref="RingKVException"/> (InvalidArgument) out of range.</summary>
    public static HybridTimestamp FromUnixMs(long unixMs)
    {
        if (!TryFromUnixMs(unixMs, out var timestamp))
        {
            ThrowHelper.InvalidArgument(FormattableString.Invariant($"Unix time {unixMs} ms is outside what a hybrid timestamp holds"));
        }

        return timestamp;
    }

    /// <summary>As <see cref="FromUnixMs"/>; false when <paramref name="unixMs"/> is outside [<see cref="MinUnixMs"/>, <see cref="MaxUnixMs"/>].</summary>
    public static bool TryFromUnixMs(long unixMs, out HybridTimestamp timestamp)
    {
        if (unixMs is < MinUnixMs or > MaxUnixMs)
        {
            timestamp = default;
            return false;
        }

        timestamp = new HybridTimestamp(unixMs << LogicalBits);
        return true;
    }

    /// <summary>The next timestamp after this one; throws <see cref="RingKVException"/> (InvalidArgument) at the end of time.</summary>
    public HybridTimestamp Successor()
    {
        if (Value == long.MaxValue)
        {
            ThrowHelper.InvalidArgument("hybrid timestamp overflow");
        }

        return new HybridTimestamp(Value + 1);
    }

    /// <inheritdoc/>
    public int CompareTo(HybridTimestamp other) => Value.CompareTo(other.Value);

    /// <summary>True when <paramref name="left"/> is earlier than <paramref name="right"/>.</summary>
    public static bool operator <(HybridTimestamp left, HybridTimestamp right) => left.Value < right.Value;

    /// <summary>True when <paramref name="left"/> is later than <paramref name="right"/>.</summary>
    public static bool operator >(HybridTimestamp left, HybridTimestamp right) => left.Value > right.Value;

    /// <summary>True when <paramref name="left"/> is earlier than or equals <paramref name="right"/>.</summary>
    public static bool operator <=(HybridTimestamp left, HybridTimestamp right) => left.Value <= right.Value;

    /// <summary>True when <paramref name="left"/> is later than or equals <paramref name="right"/>.</summary>
    public static bool operator >=(HybridTimestamp left, HybridTimestamp right) => left.Value >= right.Value;

    /// <summary>The later of two timestamps.</summary>
    public static HybridTimestamp Max(HybridTimestamp left, HybridTimestamp right) => left >= right ? left : right;

    /// <summary>Debug form: <c>unixMs.logical</c>.</summary>
    public override string ToString() => FormattableString.Invariant($"{UnixMs}.{Logical}");
}
