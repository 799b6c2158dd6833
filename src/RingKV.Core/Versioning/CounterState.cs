using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace RingKV.Core.Versioning;

/// <summary>One actor's part of a counter: its running sum after its <paramref name="Version"/>-th increment.</summary>
/// <param name="Actor">The incrementing actor (a coordinating replica's incarnation).</param>
/// <param name="Version">How many increments the actor applied; replicas keep the entry with the higher version.</param>
/// <param name="Sum">The sum of the actor's increments so far (negative after decrements).</param>
public readonly record struct CounterEntry(ulong Actor, ulong Version, long Sum);

/// <summary>
/// The increments applied to a key's value since its last plain write: a state-based counter CRDT (Riak's and Akka's
/// PN-counter, with one (version, sum) register per actor rather than two grow-only sums: the same join, half the entries).
/// </summary>
/// <remarks>
/// Thread-safe (immutable). The count is <see cref="BaseValue"/> (the integer the plain write at <see cref="Base"/> set; 0
/// for a delete or a key never written) plus every entry's sum. Entries merge per actor by version (an actor applies its
/// increments one at a time to its own replica's record, so a higher version includes every lower one): commutative,
/// associative and idempotent, so replicas that exchange states in any order, any number of times, count each increment
/// exactly once. A counter belongs to one base: <see cref="SiblingSet"/> keeps it only while its floor is that base, so
/// a later plain SET or DEL resets it, as in Redis.
/// <para>
/// Invariants: entries sorted by actor, no duplicates, every version at least 1.
/// </para>
/// </remarks>
public sealed class CounterState : IEquatable<CounterState>
{
    private readonly CounterEntry[] _entries;

    private CounterState(WriteStamp @base, long baseValue, CounterEntry[] entries)
    {
        Base = @base;
        BaseValue = baseValue;
        _entries = entries;
    }

    /// <summary>The stamp of the plain write (or of <see cref="Genesis"/>) the increments are added to.</summary>
    public WriteStamp Base { get; }

    /// <summary>The integer the base write set.</summary>
    public long BaseValue { get; }

    /// <summary>The actors' entries, sorted by actor.</summary>
    public ReadOnlySpan<CounterEntry> Entries => _entries;

    /// <summary>The count: the base value plus every actor's sum (wider than a long: concurrent increments may together leave its range).</summary>
    public Int128 Total
    {
        get
        {
            Int128 total = BaseValue;
            foreach (var entry in _entries)
            {
                total += entry.Sum;
            }

            return total;
        }
    }

    /// <summary>
    /// The stamp every replica gives the base of a key that was never written: a fixed dot (actor 0, counter 1) at time 0,
    /// below any real write, so increments that different coordinators start on an absent key share one base and add up.
    /// </summary>
    public static WriteStamp Genesis { get; } = new(new HybridTimestamp(0), new Dot(0, 1));

    /// <summary>
    /// The base of a counter restarted on a key whose write at <paramref name="expired"/> has expired: one logical tick
    /// above it, with a fixed actor-0 dot whose counter is that stamp's packed value (SiblingSet's rule), so it supersedes
    /// the expired write and every counter over it, stays below any later write, and is the same on every coordinator
    /// that finds the write expired (their increments after the expiry add up, as on <see cref="Genesis"/>).
    /// </summary>
    /// <remarks>
    /// Rejected alternative: restarting over the expired write itself (what increments did first): the restarted
    /// counter joined the other replicas' entries of the expired count, whose versions are higher, so the expired count
    /// came back and the increment was lost.
    /// </remarks>
    public static WriteStamp AfterExpiry(WriteStamp expired)
    {
        var timestamp = new HybridTimestamp(expired.Timestamp.Value + 1);
        return new WriteStamp(timestamp, new Dot(0, (ulong)timestamp.Value));
    }

    /// <summary>A counter with no increments yet over the base write at <paramref name="base"/>, whose integer is <paramref name="baseValue"/>.</summary>
    public static CounterState Start(WriteStamp @base, long baseValue) => new(@base, baseValue, []);

    /// <summary>Builds a counter from decoded parts; false with a reason when they break the invariants.</summary>
    internal static bool TryCreate(WriteStamp @base, long baseValue, CounterEntry[] entries, [NotNullWhen(true)] out CounterState? counter, [NotNullWhen(false)] out string? error)
    {
        counter = null;
        for (var i = 0; i < entries.Length; i++)
        {
            if (entries[i].Version == 0)
            {
                error = "a counter entry has version 0";
                return false;
            }

            if (i > 0 && entries[i].Actor <= entries[i - 1].Actor)
            {
                error = "counter entries are not sorted by actor without duplicates";
                return false;
            }
        }

        counter = new CounterState(@base, baseValue, entries);
        error = null;
        return true;
    }

    /// <summary>
    /// This counter with <paramref name="actor"/>'s next increment of <paramref name="delta"/>; false (unchanged) when the
    /// resulting count or the actor's sum would leave the 64-bit range (Redis's "increment or decrement would overflow").
    /// </summary>
    /// <remarks>Requires: this is the actor's own replica's latest state (the actor's entry is its last increment), as for any actor of a CRDT.</remarks>
    public bool TryIncrement(ulong actor, long delta, out CounterState result)
    {
        result = this;
        var total = Total + delta;
        if (total > long.MaxValue || total < long.MinValue)
        {
            return false;
        }

        var index = IndexOf(actor);
        var current = index >= 0 ? _entries[index] : new CounterEntry(actor, 0, 0);
        var sum = (Int128)current.Sum + delta;
        if (sum > long.MaxValue || sum < long.MinValue || current.Version == ulong.MaxValue)
        {
            return false;
        }

        var entry = new CounterEntry(actor, current.Version + 1, (long)sum);
        CounterEntry[] entries;
        if (index >= 0)
        {
            entries = (CounterEntry[])_entries.Clone();
            entries[index] = entry;
        }
        else
        {
            var insertAt = ~index;
            entries = new CounterEntry[_entries.Length + 1];
            _entries.AsSpan(0, insertAt).CopyTo(entries);
            entries[insertAt] = entry;
            _entries.AsSpan(insertAt).CopyTo(entries.AsSpan(insertAt + 1));
        }

        result = new CounterState(Base, BaseValue, entries);
        return true;
    }

    /// <summary>The join of two counters over the same base: per actor, the entry with the higher version.</summary>
    /// <remarks>
    /// Two entries of one actor with the same version and different sums cannot come from a correct actor; the larger sum
    /// is kept so the join stays deterministic. Requires: <paramref name="other"/>'s base is this one's.
    /// </remarks>
    public CounterState Merge(CounterState other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (ReferenceEquals(this, other))
        {
            return this;
        }

        var merged = new List<CounterEntry>(_entries.Length + other._entries.Length);
        int i = 0, j = 0;
        while (i < _entries.Length || j < other._entries.Length)
        {
            if (j == other._entries.Length || (i < _entries.Length && _entries[i].Actor < other._entries[j].Actor))
            {
                merged.Add(_entries[i++]);
            }
            else if (i == _entries.Length || other._entries[j].Actor < _entries[i].Actor)
            {
                merged.Add(other._entries[j++]);
            }
            else
            {
                var a = _entries[i++];
                var b = other._entries[j++];
                merged.Add(a.Version != b.Version ? (a.Version > b.Version ? a : b) : (a.Sum >= b.Sum ? a : b));
            }
        }

        return new CounterState(Base, Math.Max(BaseValue, other.BaseValue), merged.ToArray());
    }

    /// <summary>The count as plain GET shows it: its decimal digits.</summary>
    public byte[] Render() => System.Text.Encoding.ASCII.GetBytes(Total.ToString(CultureInfo.InvariantCulture));

    /// <inheritdoc/>
    public bool Equals(CounterState? other) =>
        other is not null && Base == other.Base && BaseValue == other.BaseValue && _entries.AsSpan().SequenceEqual(other._entries);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as CounterState);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Base, BaseValue, _entries.Length);

    /// <summary>Debug form: base, base value and entries.</summary>
    public override string ToString()
    {
        var parts = new string[_entries.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = FormattableString.Invariant($"{_entries[i].Actor}:v{_entries[i].Version}={_entries[i].Sum}");
        }

        return FormattableString.Invariant($"counter {Base}+{BaseValue} [{string.Join(", ", parts)}]");
    }

    private int IndexOf(ulong actor)
    {
        int lo = 0, hi = _entries.Length - 1;
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) >> 1);
            if (_entries[mid].Actor == actor)
            {
                return mid;
            }

            if (_entries[mid].Actor < actor)
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
}
