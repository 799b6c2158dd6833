using System;
using System.Diagnostics;
using RingKV.Core.Errors;

namespace RingKV.Core.Versioning;

/// <summary>An immutable version vector: for each actor, the highest counter of its writes seen, with the time the entry last changed.</summary>
/// <remarks>
/// Thread-safe (immutable). Pure: no clock reads; callers pass time in.
/// Invariants: (1) entries are sorted by actor, strictly increasing; (2) every counter is at least 1 (an absent
/// actor has counter 0); (3) <see cref="TruncatedCounter"/> is at least every counter ever dropped by
/// <see cref="Truncate(int)"/> from this vector or a vector merged into it.
/// <para>
/// Truncation (as Riak prunes vclocks) bounds the size of a vector at a cost: a dropped entry makes the vector
/// cover fewer dots, so a later write that in truth descends from the dropped writes can look concurrent with
/// them and surface as an extra sibling. It never makes a vector cover more, so it never hides a write.
/// The one way truncation could lose a write is dot reuse: an actor whose entry was dropped restarting its
/// counter and minting a dot another replica already covers. <see cref="TruncatedCounter"/> prevents that:
/// <see cref="Increment"/> always mints a counter above it. Rejected alternative: never truncate an actor's
/// own entry, which cannot be enforced here (any actor may write next) and leaves vectors unbounded.
/// </para>
/// </remarks>
public sealed class VersionVector : IEquatable<VersionVector>
{
    private readonly VersionVectorEntry[] _entries;

    private VersionVector(VersionVectorEntry[] entries, ulong truncatedCounter)
    {
        _entries = entries;
        TruncatedCounter = truncatedCounter;
    }

    /// <summary>The vector that has seen no writes.</summary>
    public static VersionVector Empty { get; } = new([], 0);

    /// <summary>Entries sorted by actor.</summary>
    public ReadOnlySpan<VersionVectorEntry> Entries => _entries;

    /// <summary>Number of actors with an entry.</summary>
    public int Count => _entries.Length;

    /// <summary>Highest counter dropped by truncation (0 if none); <see cref="Increment"/> mints counters above it.</summary>
    /// <remarks>Not part of causality: <see cref="Covers"/>, <see cref="Descends"/> and <see cref="Compare"/> ignore it.</remarks>
    public ulong TruncatedCounter { get; }

    /// <summary>Builds a vector from entries; throws <see cref="RingKVException"/> (InvalidArgument) if they break the invariants.</summary>
    /// <remarks>Requires: entries sorted by actor without duplicates, every counter at least 1.</remarks>
    public static VersionVector FromEntries(ReadOnlySpan<VersionVectorEntry> entries, ulong truncatedCounter = 0)
    {
        if (!TryValidate(entries, out var error))
        {
            ThrowHelper.InvalidArgument(error);
        }

        return entries.IsEmpty && truncatedCounter == 0 ? Empty : new(entries.ToArray(), truncatedCounter);
    }

    /// <summary>Wraps an array the caller hands over (not copied). Requires: the invariants hold.</summary>
    internal static VersionVector FromOwnedArray(VersionVectorEntry[] entries, ulong truncatedCounter)
    {
        Debug.Assert(TryValidate(entries, out _));
        return entries.Length == 0 && truncatedCounter == 0 ? Empty : new(entries, truncatedCounter);
    }

    /// <summary>Checks invariants (1) and (2); on failure names the broken one.</summary>
    internal static bool TryValidate(ReadOnlySpan<VersionVectorEntry> entries, out string error)
    {
        for (var i = 0; i < entries.Length; i++)
        {
            if (entries[i].Counter == 0)
            {
                error = "version vector entry has counter 0";
                return false;
            }

            if (i > 0 && entries[i].Actor <= entries[i - 1].Actor)
            {
                error = "version vector entries are not sorted by actor without duplicates";
                return false;
            }
        }

        error = string.Empty;
        return true;
    }

    /// <summary>Highest counter seen for <paramref name="actor"/>; 0 if none.</summary>
    public ulong Counter(ulong actor)
    {
        var index = IndexOf(actor);
        return index >= 0 ? _entries[index].Counter : 0;
    }

    /// <summary>True when this vector has seen the write <paramref name="dot"/> (its counter for the actor is at least the dot's).</summary>
    public bool Covers(Dot dot) => Counter(dot.Actor) >= dot.Counter;

    /// <summary>True when this vector has seen every write <paramref name="other"/> has (non-strict: a vector descends itself).</summary>
    public bool Descends(VersionVector other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return !Ahead(other).OtherAhead;
    }

    /// <summary>How this vector relates causally to <paramref name="other"/>.</summary>
    public VersionOrder Compare(VersionVector other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Ahead(other) switch
        {
            (false, false) => VersionOrder.Equal,
            (true, false) => VersionOrder.Descends,
            (false, true) => VersionOrder.Precedes,
            _ => VersionOrder.Concurrent,
        };
    }

    /// <summary>The least vector that descends both: pointwise maximum counter, keeping the later timestamp.</summary>
    /// <remarks>Commutative, associative and idempotent. Allocates one array unless one side is empty or the same.</remarks>
    public VersionVector Merge(VersionVector other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (ReferenceEquals(this, other) || other._entries.Length == 0 && other.TruncatedCounter <= TruncatedCounter)
        {
            return this;
        }

        if (_entries.Length == 0 && TruncatedCounter <= other.TruncatedCounter)
        {
            return other;
        }

        var merged = new VersionVectorEntry[CountUnion(_entries, other._entries)];
        int i = 0, j = 0, k = 0;
        while (i < _entries.Length || j < other._entries.Length)
        {
            if (j == other._entries.Length || i < _entries.Length && _entries[i].Actor < other._entries[j].Actor)
            {
                merged[k++] = _entries[i++];
            }
            else if (i == _entries.Length || other._entries[j].Actor < _entries[i].Actor)
            {
                merged[k++] = other._entries[j++];
            }
            else
            {
                var a = _entries[i++];
                var b = other._entries[j++];
                merged[k++] = new VersionVectorEntry(a.Actor, Math.Max(a.Counter, b.Counter), Math.Max(a.LastUpdateUnixMs, b.LastUpdateUnixMs));
            }
        }

        return new VersionVector(merged, Math.Max(TruncatedCounter, other.TruncatedCounter));
    }

    /// <summary>
    /// The counter a new dot of an actor follows (the dot gets one more): above the actor's counter and the truncated
    /// counter, and at least <paramref name="minCounter"/> - 1 (0: no floor). <see cref="Increment"/> and the encoded fast
    /// path (<see cref="SiblingSetFastPath.TryEncodeBlindPut"/>) both mint with it, so they cannot disagree.
    /// </summary>
    internal static ulong CounterBeforeNext(ulong actorCounter, ulong truncatedCounter, ulong minCounter) =>
        Math.Max(Math.Max(actorCounter, truncatedCounter), minCounter == 0 ? 0 : minCounter - 1);

    /// <summary>Records a new write by <paramref name="actor"/> at <paramref name="nowUnixMs"/>; returns the new vector and the write's dot.</summary>
    /// <remarks>
    /// The new counter is one above both the actor's counter and <see cref="TruncatedCounter"/>, so a dot is never
    /// reused after truncation, and at least <paramref name="minCounter"/> (a floor the caller keeps above
    /// every counter it minted before, so a dot stays unique even after the key's state was deleted). The
    /// entry's time never moves backwards (a skewed clock keeps the later time).
    /// Requires: the caller's state holds every dot <paramref name="actor"/> minted for this key before (the actor
    /// coordinates on its own replica), or a dot may be reused and a write lost.
    /// </remarks>
    public (VersionVector Vector, Dot Dot) Increment(ulong actor, long nowUnixMs, ulong minCounter = 0)
    {
        var index = IndexOf(actor);
        var current = index >= 0 ? _entries[index] : new VersionVectorEntry(actor, 0, nowUnixMs);
        var counter = CounterBeforeNext(current.Counter, TruncatedCounter, minCounter);
        if (counter == ulong.MaxValue)
        {
            ThrowHelper.InvalidArgument("version vector counter overflow");
        }

        var entry = new VersionVectorEntry(actor, counter + 1, Math.Max(current.LastUpdateUnixMs, nowUnixMs));
        VersionVectorEntry[] entries;
        if (index >= 0)
        {
            entries = (VersionVectorEntry[])_entries.Clone();
            entries[index] = entry;
        }
        else
        {
            var insertAt = ~index;
            entries = new VersionVectorEntry[_entries.Length + 1];
            _entries.AsSpan(0, insertAt).CopyTo(entries);
            entries[insertAt] = entry;
            _entries.AsSpan(insertAt).CopyTo(entries.AsSpan(insertAt + 1));
        }

        return (new VersionVector(entries, TruncatedCounter), new Dot(actor, entry.Counter));
    }

    /// <summary>Keeps at most <paramref name="maxEntries"/> entries, dropping the least recently updated (ties: lower actor first).</summary>
    /// <remarks>See the type remarks for the trade-off. Requires: <paramref name="maxEntries"/> at least 1.</remarks>
    public VersionVector Truncate(int maxEntries) => Truncate(maxEntries, []);

    /// <summary>As <see cref="Truncate(int)"/>, but never drops the actors in <paramref name="keepActors"/> (sorted ascending), even past the bound.</summary>
    /// <remarks>A sibling set keeps the entries of its siblings' actors so its context always covers its own siblings.</remarks>
    internal VersionVector Truncate(int maxEntries, ReadOnlySpan<ulong> keepActors)
    {
        if (maxEntries < 1)
        {
            ThrowHelper.InvalidArgument("maxEntries must be at least 1");
        }

        if (_entries.Length <= maxEntries)
        {
            return this;
        }

        // Order candidates for dropping: oldest first, ties by actor so the result is deterministic.
        var order = new int[_entries.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var entries = _entries;
        Array.Sort(order, (x, y) =>
        {
            var byTime = entries[x].LastUpdateUnixMs.CompareTo(entries[y].LastUpdateUnixMs);
            return byTime != 0 ? byTime : entries[x].Actor.CompareTo(entries[y].Actor);
        });

        var drop = new bool[_entries.Length];
        var toDrop = _entries.Length - maxEntries;
        var truncated = TruncatedCounter;
        for (var n = 0; n < order.Length && toDrop > 0; n++)
        {
            var entry = _entries[order[n]];
            if (keepActors.BinarySearch(entry.Actor) >= 0)
            {
                continue;
            }

            drop[order[n]] = true;
            truncated = Math.Max(truncated, entry.Counter);
            toDrop--;
        }

        var kept = new VersionVectorEntry[_entries.Length - (_entries.Length - maxEntries - toDrop)];
        for (int i = 0, k = 0; i < _entries.Length; i++)
        {
            if (!drop[i])
            {
                kept[k++] = _entries[i];
            }
        }

        return new VersionVector(kept, truncated);
    }

    /// <inheritdoc/>
    public bool Equals(VersionVector? other) =>
        other is not null && TruncatedCounter == other.TruncatedCounter && _entries.AsSpan().SequenceEqual(other._entries);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as VersionVector);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(TruncatedCounter);
        foreach (var entry in _entries)
        {
            hash.Add(entry);
        }

        return hash.ToHashCode();
    }

    /// <summary>Debug form, e.g. <c>{1:3@1700000000000, 7:1@1700000000005}</c>.</summary>
    public override string ToString()
    {
        var parts = new string[_entries.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = FormattableString.Invariant($"{_entries[i].Actor}:{_entries[i].Counter}@{_entries[i].LastUpdateUnixMs}");
        }

        var floor = TruncatedCounter == 0 ? string.Empty : FormattableString.Invariant($" truncated<={TruncatedCounter}");
        return "{" + string.Join(", ", parts) + "}" + floor;
    }

    private int IndexOf(ulong actor)
    {
        int lo = 0, hi = _entries.Length - 1;
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) >> 1);
            var midActor = _entries[mid].Actor;
            if (midActor == actor)
            {
                return mid;
            }

            if (midActor < actor)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return ~lo;
    }

    /// <summary>Whether this has a counter above the other's for some actor, and whether the other does for some actor.</summary>
    private (bool ThisAhead, bool OtherAhead) Ahead(VersionVector other)
    {
        bool thisAhead = false, otherAhead = false;
        int i = 0, j = 0;
        var a = _entries;
        var b = other._entries;
        while (i < a.Length || j < b.Length)
        {
            if (j == b.Length || i < a.Length && a[i].Actor < b[j].Actor)
            {
                thisAhead = true;
                i++;
            }
            else if (i == a.Length || b[j].Actor < a[i].Actor)
            {
                otherAhead = true;
                j++;
            }
            else
            {
                thisAhead |= a[i].Counter > b[j].Counter;
                otherAhead |= b[j].Counter > a[i].Counter;
                i++;
                j++;
            }
        }

        return (thisAhead, otherAhead);
    }

    private static int CountUnion(VersionVectorEntry[] a, VersionVectorEntry[] b)
    {
        int i = 0, j = 0, count = 0;
        while (i < a.Length && j < b.Length)
        {
            if (a[i].Actor < b[j].Actor)
            {
                i++;
            }
            else if (b[j].Actor < a[i].Actor)
            {
                j++;
            }
            else
            {
                i++;
                j++;
            }

            count++;
        }

        return count + (a.Length - i) + (b.Length - j);
    }
}
