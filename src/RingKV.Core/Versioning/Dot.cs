using System;

namespace RingKV.Core.Versioning;

/// <summary>One write event: the <paramref name="Counter"/>-th write to a key coordinated by <paramref name="Actor"/>.</summary>
/// <remarks>Counters start at 1; a dot with counter 0 names no write. Dots order by actor, then counter.</remarks>
public readonly record struct Dot(ulong Actor, ulong Counter) : IComparable<Dot>
{
    /// <inheritdoc/>
    public int CompareTo(Dot other)
    {
        var byActor = Actor.CompareTo(other.Actor);
        return byActor != 0 ? byActor : Counter.CompareTo(other.Counter);
    }

    /// <summary>True when <paramref name="left"/> orders before <paramref name="right"/>.</summary>
    public static bool operator <(Dot left, Dot right) => left.CompareTo(right) < 0;

    /// <summary>True when <paramref name="left"/> orders after <paramref name="right"/>.</summary>
    public static bool operator >(Dot left, Dot right) => left.CompareTo(right) > 0;

    /// <summary>True when <paramref name="left"/> orders before or equals <paramref name="right"/>.</summary>
    public static bool operator <=(Dot left, Dot right) => left.CompareTo(right) <= 0;

    /// <summary>True when <paramref name="left"/> orders after or equals <paramref name="right"/>.</summary>
    public static bool operator >=(Dot left, Dot right) => left.CompareTo(right) >= 0;
}
