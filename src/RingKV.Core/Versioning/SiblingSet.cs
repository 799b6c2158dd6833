using System;
using System.Buffers;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using RingKV.Core.Encoding;
using RingKV.Core.Errors;

namespace RingKV.Core.Versioning;

/// <summary>A key's stored record: concurrent values (siblings, tombstones included) and the causal context that has seen them.</summary>
/// <remarks>
/// Thread-safe (immutable); every operation returns a new set. Pure: time is passed in. This is a dotted version
/// vector set (DVV): a versioned write (KV.PUT, KV.DEL) names what it has seen (its context), supersedes exactly the
/// siblings that context covers, and adds one sibling with a fresh dot. A last-writer-wins write (plain SET, DEL:
/// <see cref="PutLww"/>, <see cref="DeleteLww"/>) supersedes everything the set holds and, wherever the sets meet,
/// every sibling whose <see cref="WriteStamp"/> is lower, whatever the contexts; so two coordinators' plain writes
/// to a key never make siblings, and every replica keeps the same winner.
/// <para>
/// Invariants: (1) siblings are sorted by dot with no duplicate dots; (2) the context covers every sibling's dot;
/// (3) a tombstone sibling has an empty value; (4) no sibling's stamp is below <see cref="LwwFloor"/>, the highest stamp
/// of any last-writer-wins write the set has seen, so at most one last-writer-wins sibling survives and its stamp
/// is the floor; (5) a write is stamped above <see cref="MaxTimestamp"/> of the set it is applied to, so it is never
/// born superseded.
/// </para>
/// <para>
/// Why a floor and not just the highest last-writer-wins sibling present: that sibling can itself be superseded by a
/// KV.PUT whose context saw it, and with it would go what it had superseded on the replicas that had not met it yet.
/// Merging {s} with ({m} merged with {p}) would keep s while ({s} merged with {m}) merged with {p} would not (s a plain
/// SET older than the plain SET m, p a KV.PUT that saw m): not associative, so replicas could diverge. The floor is a
/// max register that outlives the sibling, so the merge (the DVV join, then dropping what is below the joined floor)
/// stays commutative, associative and idempotent.
/// </para>
/// <para>
/// Dots: the overloads taking a <see cref="HybridTimestamp"/> mint the dot's counter at least at the timestamp's value.
/// A coordinator stamping from its <see cref="HybridClock"/> (restarted above a durable floor) and observing every
/// sibling it writes (<see cref="HybridClock.Observe(Sibling)"/>) therefore mints strictly increasing counters over
/// its lifetime, for every key: its dots never repeat, after a restart or when it holds no copy of the key.
/// </para>
/// <para>
/// Value bytes are not copied by <see cref="Put(VersionVector, ReadOnlyMemory{byte}, ulong, HybridTimestamp, int, ulong)"/>
/// and the other writes: the caller must not change or return to a pool a buffer it passed while the set (or a set
/// derived from it) lives. <see cref="TryDecode"/> copies the input once and its siblings' values share that copy.
/// </para>
/// </remarks>
public sealed class SiblingSet : IEquatable<SiblingSet>
{
    private readonly Sibling[] _siblings;

    private SiblingSet(VersionVector context, Sibling[] siblings, WriteStamp? lwwFloor, CounterState? counter = null)
    {
        Context = context;
        _siblings = siblings;
        LwwFloor = lwwFloor;
        Counter = counter;
    }

    /// <summary>The set of a key never written: no siblings, empty context.</summary>
    public static SiblingSet Empty { get; } = new(VersionVector.Empty, [], null);

    /// <summary>Everything this set has seen; hand it to a client as the context of its next write.</summary>
    public VersionVector Context { get; }

    /// <summary>The highest stamp of any last-writer-wins write this set has seen (null if none): nothing below it survives.</summary>
    /// <remarks>Equals the stamp of the set's last-writer-wins sibling when it has one; outlives it when a KV.PUT that saw it superseded it.</remarks>
    public WriteStamp? LwwFloor { get; }

    /// <summary>The increments (INCR, DECR) added to the plain write at the floor since it was made; null when none.</summary>
    /// <remarks>
    /// Its base is always <see cref="LwwFloor"/>: a plain write above it resets the count (a merge drops a counter whose base
    /// is below the joined floor). The last-writer-wins sibling at the floor, when the set holds it, carries the count's
    /// decimal digits as its value (rendered again after every merge), so GET reads a counter as it reads any value.
    /// </remarks>
    public CounterState? Counter { get; }

    /// <summary>The latest timestamp the set holds (siblings and <see cref="LwwFloor"/>); <see cref="HybridTimestamp.MinValue"/> if none.</summary>
    /// <remarks>A coordinator's clock observes it before stamping a write to this set.</remarks>
    public HybridTimestamp MaxTimestamp
    {
        get
        {
            var max = LwwFloor?.Timestamp ?? HybridTimestamp.MinValue;
            foreach (var sibling in _siblings)
            {
                max = HybridTimestamp.Max(max, sibling.Timestamp);
            }

            return max;
        }
    }

    /// <summary>The siblings, sorted by dot.</summary>
    public ReadOnlySpan<Sibling> Siblings => _siblings;

    /// <summary>Number of siblings, tombstones included.</summary>
    public int Count => _siblings.Length;

    /// <summary>The sibling at <paramref name="index"/> in dot order.</summary>
    public Sibling this[int index] => _siblings[index];

    /// <summary>True when there is at least one sibling and every sibling is a tombstone.</summary>
    public bool IsDeleted
    {
        get
        {
            foreach (var sibling in _siblings)
            {
                if (!sibling.IsTombstone)
                {
                    return false;
                }
            }

            return _siblings.Length > 0;
        }
    }

    /// <summary>The sibling with the highest (timestamp, actor, counter): what plain GET shows. Null when there are no siblings.</summary>
    /// <remarks>It may be a tombstone; see <see cref="TryGetWinnerValue"/>.</remarks>
    public Sibling? Winner
    {
        get
        {
            if (_siblings.Length == 0)
            {
                return null;
            }

            var best = _siblings[0];
            for (var i = 1; i < _siblings.Length; i++)
            {
                if (_siblings[i].WinsOver(best))
                {
                    best = _siblings[i];
                }
            }

            return best;
        }
    }

    /// <summary>True when the floor is not the stamp of a sibling the set holds, so the encoding must carry it.</summary>
    internal bool HasDetachedFloor
    {
        get
        {
            if (LwwFloor is null)
            {
                return false;
            }

            foreach (var sibling in _siblings)
            {
                if (sibling.IsLww)
                {
                    return false; // invariant 4: its stamp is the floor
                }
            }

            return true;
        }
    }

    /// <summary>The winner's value for plain GET; false when the set is empty or the winner is a tombstone.</summary>
    public bool TryGetWinnerValue(out ReadOnlyMemory<byte> value)
    {
        if (Winner is { IsTombstone: false } winner)
        {
            value = winner.Value;
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>Enumerates the siblings in dot order without allocating.</summary>
    public ReadOnlySpan<Sibling>.Enumerator GetEnumerator() => Siblings.GetEnumerator();

    /// <summary>A versioned write (KV.PUT) of <paramref name="value"/> by <paramref name="actor"/>, superseding the siblings <paramref name="context"/> covers.</summary>
    /// <param name="context">What the writer has seen: <see cref="VersionVector.Empty"/> for a write concurrent with everything
    /// (siblings grow), this set's <see cref="Context"/> to supersede everything it holds.</param>
    /// <param name="value">The value; not copied (see the type remarks).</param>
    /// <param name="actor">The coordinating actor; it mints the new dot.</param>
    /// <param name="timestamp">Hybrid-logical time of the write, from the coordinator's <see cref="HybridClock"/>; raised above
    /// <see cref="MaxTimestamp"/> if it is not already (invariant 5).</param>
    /// <param name="maxVectorEntries">Bound on context entries; see <see cref="VersionVector.Truncate(int)"/>.</param>
    /// <param name="minCounter">Lowest counter the new dot may get besides the timestamp's value (0 for no further floor).</param>
    /// <remarks>
    /// New dot = (actor, max(Context[actor], context[actor], truncated counter, minCounter - 1, timestamp - 1) + 1); new context =
    /// Context merged with <paramref name="context"/> and the new dot, then truncated, keeping the entries of every remaining
    /// sibling's actor (so with more sibling actors than <paramref name="maxVectorEntries"/> the bound is exceeded rather than
    /// invariant 2 broken).
    /// Requires: this set holds every dot <paramref name="actor"/> minted for this key before, or a set it was superseded in:
    /// the new context claims all of the actor's counters up to the new one, so a merge drops an earlier sibling of the actor
    /// this set lacks (see <see cref="VersionVector.Increment"/>); <paramref name="maxVectorEntries"/> at least 1.
    /// </remarks>
    public SiblingSet Put(VersionVector context, ReadOnlyMemory<byte> value, ulong actor, HybridTimestamp timestamp, int maxVectorEntries, ulong minCounter = 0) =>
        Write(context, value, isTombstone: false, isLww: false, actor, timestamp, maxVectorEntries, Math.Max(minCounter, CounterOf(timestamp)));

    /// <summary>As <see cref="Put(VersionVector, ReadOnlyMemory{byte}, ulong, HybridTimestamp, int, ulong)"/> with a physical time
    /// (logical counter 0) and no counter floor from it: the single node's form, whose counters come from <paramref name="minCounter"/>.</summary>
    public SiblingSet Put(VersionVector context, ReadOnlyMemory<byte> value, ulong actor, long nowUnixMs, int maxVectorEntries, ulong minCounter = 0) =>
        Write(context, value, isTombstone: false, isLww: false, actor, HybridTimestamp.FromUnixMs(nowUnixMs), maxVectorEntries, minCounter);

    /// <summary>A versioned delete (KV.DEL): as <see cref="Put(VersionVector, ReadOnlyMemory{byte}, ulong, HybridTimestamp, int, ulong)"/>
    /// with a tombstone; a delete concurrent with a put leaves both as siblings until resolved.</summary>
    public SiblingSet Delete(VersionVector context, ulong actor, HybridTimestamp timestamp, int maxVectorEntries, ulong minCounter = 0) =>
        Write(context, ReadOnlyMemory<byte>.Empty, isTombstone: true, isLww: false, actor, timestamp, maxVectorEntries, Math.Max(minCounter, CounterOf(timestamp)));

    /// <summary>As <see cref="Delete(VersionVector, ulong, HybridTimestamp, int, ulong)"/> with a physical time and no counter floor from it.</summary>
    public SiblingSet Delete(VersionVector context, ulong actor, long nowUnixMs, int maxVectorEntries, ulong minCounter = 0) =>
        Write(context, ReadOnlyMemory<byte>.Empty, isTombstone: true, isLww: false, actor, HybridTimestamp.FromUnixMs(nowUnixMs), maxVectorEntries, minCounter);

    /// <summary>A plain write (Redis SET): one last-writer-wins sibling that supersedes everything this set holds and every lower-stamped sibling it meets.</summary>
    /// <remarks>
    /// Its context is this set's <see cref="Context"/>, so the result has exactly one sibling, and the floor rises to its
    /// stamp. Replicas that hold siblings this set has not seen keep those whose stamp is higher (a concurrent later write)
    /// and drop the rest when they merge it. The parameters and the dot are as for
    /// <see cref="Put(VersionVector, ReadOnlyMemory{byte}, ulong, HybridTimestamp, int, ulong)"/>; the Requires there is
    /// relaxed: an earlier dot of the actor this set lacks orders below the new one when the actor's clock observed it,
    /// so dropping it is what last-writer-wins does anyway.
    /// </remarks>
    public SiblingSet PutLww(ReadOnlyMemory<byte> value, ulong actor, HybridTimestamp timestamp, int maxVectorEntries, ulong minCounter = 0) =>
        Write(Context, value, isTombstone: false, isLww: true, actor, timestamp, maxVectorEntries, Math.Max(minCounter, CounterOf(timestamp)));

    /// <summary>A plain delete (Redis DEL): as <see cref="PutLww"/> with a tombstone, a last-writer-wins tombstone.</summary>
    public SiblingSet DeleteLww(ulong actor, HybridTimestamp timestamp, int maxVectorEntries, ulong minCounter = 0) =>
        Write(Context, ReadOnlyMemory<byte>.Empty, isTombstone: true, isLww: true, actor, timestamp, maxVectorEntries, Math.Max(minCounter, CounterOf(timestamp)));

    /// <summary>Joins two replicas' sets (replication, read repair, anti-entropy): commutative, associative and idempotent.</summary>
    /// <remarks>
    /// A sibling survives if both sides have its dot or the other side's context has not seen it, and it is not below the
    /// higher of the two floors; contexts merge pointwise, floors by maximum. Does not truncate (that would break
    /// associativity); the next write does. If the two sides hold different siblings under one dot (only a bug or a
    /// reused dot can do that), the one that wins by (timestamp, tombstone, last-writer-wins, value bytes) is kept so
    /// the result stays deterministic.
    /// </remarks>
    public SiblingSet Merge(SiblingSet other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (ReferenceEquals(this, other))
        {
            return this;
        }

        var floor = MaxFloor(LwwFloor, other.LwwFloor);
        var a = _siblings;
        var b = other._siblings;
        var merged = new List<Sibling>(a.Length + b.Length);
        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            Sibling? kept = null;
            if (j == b.Length || i < a.Length && a[i].Dot < b[j].Dot)
            {
                if (!other.Context.Covers(a[i].Dot))
                {
                    kept = a[i];
                }

                i++;
            }
            else if (i == a.Length || b[j].Dot < a[i].Dot)
            {
                if (!Context.Covers(b[j].Dot))
                {
                    kept = b[j];
                }

                j++;
            }
            else
            {
                kept = PickSameDot(a[i], b[j]);
                i++;
                j++;
            }

            if (kept is { } sibling && IsAtOrAbove(sibling, floor))
            {
                merged.Add(sibling);
            }
        }

        var counter = Counter is { } mine && mine.Base == floor ? mine : null;
        if (other.Counter is { } theirs && theirs.Base == floor)
        {
            counter = counter is null ? theirs : counter.Merge(theirs);
        }

        return new SiblingSet(Context.Merge(other.Context), Render(merged.ToArray(), counter), floor, counter);
    }

    /// <summary>
    /// This set with <paramref name="delta"/> added to its count by <paramref name="actor"/> (INCR, DECR, INCRBY, DECRBY),
    /// or false with Redis's error text. The value must be a plain one: absent, deleted, expired, or one last-writer-wins
    /// value that is a 64-bit integer (or already a counter).
    /// </summary>
    /// <param name="actor">The incrementing actor: a coordinating replica's incarnation, which applies its increments to its own replica's set.</param>
    /// <param name="delta">What to add (negative to subtract).</param>
    /// <param name="expired">The record's expiry has passed: the value counts as absent and the count starts again from 0, on the base <see cref="CounterState.AfterExpiry"/> gives.</param>
    /// <param name="result">The new set; its <see cref="Counter"/> holds the count.</param>
    /// <param name="error">Why not: not an integer, an overflow, or versioned siblings.</param>
    /// <remarks>
    /// Adds no sibling and mints no dot: the count lives in <see cref="Counter"/> over the floor's write, so increments from
    /// any number of coordinators join without siblings, and a concurrent plain SET with a higher stamp resets them all
    /// (last writer wins, as for any plain write). An absent key's base is <see cref="CounterState.Genesis"/>, the same on
    /// every replica, so increments started on it through different coordinators add up; an expired key's is the fixed
    /// stamp just above its expired write (<see cref="CounterState.AfterExpiry"/>), for the same reason.
    /// Requires: this is the actor's own replica's set, read and written in one step (the actor's entry is its last increment).
    /// </remarks>
    public bool TryIncrement(ulong actor, long delta, bool expired, [NotNullWhen(true)] out SiblingSet? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        var context = Context;
        var siblings = _siblings;
        CounterState state;
        if (_siblings.Length == 0 && LwwFloor is null)
        {
            var genesis = CounterState.Genesis;
            context = Context.Merge(VersionVector.FromEntries([new VersionVectorEntry(genesis.Dot.Actor, genesis.Dot.Counter, 0)]));
            siblings = [new Sibling(genesis.Dot, genesis.Timestamp, false, ReadOnlyMemory<byte>.Empty, IsLww: true)];
            state = CounterState.Start(genesis, 0);
        }
        else if (_siblings.Length == 1 && _siblings[0].IsLww)
        {
            var only = _siblings[0];
            if (expired)
            {
                // A fresh counter over a base just above the expired write, not over the expired write itself: a
                // counter over the same base would join, per actor, the entries other replicas still hold of the
                // expired count (the higher version wins), bringing the expired count back and dropping this increment.
                // Every coordinator that finds the same write expired picks the same base, so their increments add up.
                var reset = CounterState.AfterExpiry(only.Stamp);
                context = Context.Merge(VersionVector.FromEntries([new VersionVectorEntry(reset.Dot.Actor, reset.Dot.Counter, 0)]));
                siblings = [new Sibling(reset.Dot, reset.Timestamp, false, ReadOnlyMemory<byte>.Empty, IsLww: true)];
                state = CounterState.Start(reset, 0);
            }
            else if (Counter is { } counter && counter.Base == only.Stamp)
            {
                state = counter;
            }
            else if (only.IsTombstone)
            {
                state = CounterState.Start(only.Stamp, 0);
            }
            else if (DecimalInt64.TryParse(only.Value.Span, out var value))
            {
                state = CounterState.Start(only.Stamp, value);
            }
            else
            {
                error = "ERR value is not an integer or out of range";
                return false;
            }
        }
        else
        {
            error = "ERR the key holds versioned values (KV.PUT siblings), not a plain value a counter can add to: resolve them with KV.PUT, or SET the key";
            return false;
        }

        if (!state.TryIncrement(actor, delta, out var next))
        {
            error = "ERR increment or decrement would overflow";
            return false;
        }

        result = new SiblingSet(context, Render((Sibling[])siblings.Clone(), next), next.Base, next);
        error = null;
        return true;
    }

    /// <summary>Writes the count into the last-writer-wins sibling at the counter's base, if the set holds it (in place: <paramref name="siblings"/> is the new set's own array).</summary>
    private static Sibling[] Render(Sibling[] siblings, CounterState? counter)
    {
        if (counter is null)
        {
            return siblings;
        }

        for (var i = 0; i < siblings.Length; i++)
        {
            if (siblings[i].IsLww && siblings[i].Stamp == counter.Base)
            {
                siblings[i] = siblings[i] with { IsTombstone = false, Value = counter.Render() };
            }
        }

        return siblings;
    }

    /// <summary>Writes the set: format version 2, or 3 when it has a <see cref="Counter"/> (see docs/formats/sibling-set.md).</summary>
    public void Encode(IBufferWriter<byte> writer) => SiblingSetCodec.Encode(this, writer);

    /// <summary>Reads a set written by <see cref="Encode"/> (format version 2 or 3, or 1 from earlier releases); never throws on hostile bytes, returns false with a reason instead.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> source, [NotNullWhen(true)] out SiblingSet? set, [NotNullWhen(false)] out string? error) =>
        SiblingSetCodec.TryDecode(source, out set, out error);

    /// <summary>
    /// Writes a context for a client to hand back opaquely, naming the key it was read from by
    /// <see cref="ContextKeyTag"/>: context format version 2 (see docs/formats/sibling-set.md).
    /// </summary>
    public static void EncodeContext(VersionVector context, ReadOnlySpan<byte> key, IBufferWriter<byte> writer) =>
        SiblingSetCodec.EncodeContext(context, ContextKeyTag(key), writer);

    /// <summary>
    /// Reads a context written by <see cref="EncodeContext"/>; never throws on hostile bytes, returns false with a reason
    /// instead. <paramref name="keyTag"/> is the tag of the key it was read from, null for a version-1 context, which
    /// names no key.
    /// </summary>
    public static bool TryDecodeContext(ReadOnlySpan<byte> source, [NotNullWhen(true)] out VersionVector? context, out uint? keyTag, [NotNullWhen(false)] out string? error) =>
        SiblingSetCodec.TryDecodeContext(source, out context, out keyTag, out error);

    /// <summary>The four bytes of a key a context carries to name it: the low 32 bits of the key's token.</summary>
    /// <remarks>
    /// Enough to catch a context handed to the wrong key (one chance in 2^32 to miss), not a proof of origin: a client
    /// can forge any context. Rejected alternative: the whole key, which would make contexts as long as keys.
    /// </remarks>
    public static uint ContextKeyTag(ReadOnlySpan<byte> key) => (uint)Hashing.Token.Of(key).Value;

    /// <summary>Builds a set from decoded parts; false with a reason when they break the invariants.</summary>
    /// <param name="context">The context.</param>
    /// <param name="siblings">The siblings, handed over (not copied).</param>
    /// <param name="detachedFloor">The floor when no last-writer-wins sibling carries it (see <see cref="HasDetachedFloor"/>), else null.</param>
    /// <param name="set">The set.</param>
    /// <param name="error">Which invariant the parts break.</param>
    /// <param name="counter">The counter, when the set has one: its base must be the floor.</param>
    internal static bool TryCreate(VersionVector context, Sibling[] siblings, WriteStamp? detachedFloor, [NotNullWhen(true)] out SiblingSet? set, [NotNullWhen(false)] out string? error, CounterState? counter = null)
    {
        set = null;
        var floor = detachedFloor;
        for (var i = 0; i < siblings.Length; i++)
        {
            if (i > 0 && siblings[i].Dot <= siblings[i - 1].Dot)
            {
                error = "siblings are not sorted by dot without duplicates";
                return false;
            }

            if (siblings[i].Dot.Counter == 0 || !context.Covers(siblings[i].Dot))
            {
                error = "a sibling's dot is not covered by the context";
                return false;
            }

            if (siblings[i].IsTombstone && !siblings[i].Value.IsEmpty)
            {
                error = "a tombstone has a value";
                return false;
            }

            if (siblings[i].IsLww)
            {
                if (floor is not null)
                {
                    error = detachedFloor is not null ? "a last-writer-wins sibling beside a detached floor" : "more than one last-writer-wins sibling";
                    return false;
                }

                floor = siblings[i].Stamp;
            }
        }

        if (detachedFloor is { Dot.Counter: 0 })
        {
            error = "the floor's dot has counter 0";
            return false;
        }

        foreach (var sibling in siblings)
        {
            if (!IsAtOrAbove(sibling, floor))
            {
                error = "a sibling orders below the last-writer-wins floor";
                return false;
            }
        }

        if (counter is not null && counter.Base != floor)
        {
            error = "the counter's base is not the last-writer-wins floor";
            return false;
        }

        set = siblings.Length == 0 && floor is null && context.Count == 0 && context.TruncatedCounter == 0 ? Empty : new SiblingSet(context, siblings, floor, counter);
        error = null;
        return true;
    }

    /// <inheritdoc/>
    public bool Equals(SiblingSet? other) =>
        other is not null && Context.Equals(other.Context) && LwwFloor == other.LwwFloor && _siblings.AsSpan().SequenceEqual(other._siblings)
        && Equals(Counter, other.Counter);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as SiblingSet);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Context, LwwFloor, _siblings.Length);

    /// <summary>Debug form: context, floor and sibling dots.</summary>
    public override string ToString()
    {
        var parts = new string[_siblings.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            var s = _siblings[i];
            parts[i] = FormattableString.Invariant($"({s.Dot.Actor},{s.Dot.Counter})@{s.Timestamp}{(s.IsLww ? " lww" : string.Empty)}{(s.IsTombstone ? " tombstone" : $" {s.Value.Length}B")}");
        }

        var floor = LwwFloor is { } f ? " floor " + f : string.Empty;
        return Context + floor + " [" + string.Join(", ", parts) + "]" + (Counter is { } counter ? " " + counter : string.Empty);
    }

    private SiblingSet Write(VersionVector context, ReadOnlyMemory<byte> value, bool isTombstone, bool isLww, ulong actor, HybridTimestamp timestamp, int maxVectorEntries, ulong minCounter)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (maxVectorEntries < 1)
        {
            ThrowHelper.InvalidArgument("maxVectorEntries must be at least 1");
        }

        // Invariant 5: what a clock that observed this set would stamp. Without it a write from a lagging clock could be
        // born below the floor and vanish, or lose plain GET to the value it replaced.
        var latest = MaxTimestamp;
        if (timestamp <= latest)
        {
            timestamp = latest.Successor();
        }

        var (merged, dot) = Context.Merge(context).Increment(actor, timestamp.UnixMs, minCounter);
        var sibling = new Sibling(dot, timestamp, isTombstone, value, isLww);
        var floor = isLww ? sibling.Stamp : LwwFloor;

        var kept = new List<Sibling>(_siblings.Length + 1);
        var inserted = false;
        foreach (var existing in _siblings)
        {
            if (context.Covers(existing.Dot) || !IsAtOrAbove(existing, floor))
            {
                continue;
            }

            if (!inserted && dot < existing.Dot)
            {
                kept.Add(sibling);
                inserted = true;
            }

            kept.Add(existing);
        }

        if (!inserted)
        {
            kept.Add(sibling);
        }

        // Siblings are in dot order, so their actors are already ascending; drop repeats for the binary search.
        var keepActors = new ulong[kept.Count];
        var actorCount = 0;
        foreach (var s in kept)
        {
            if (actorCount == 0 || keepActors[actorCount - 1] != s.Dot.Actor)
            {
                keepActors[actorCount++] = s.Dot.Actor;
            }
        }

        // A plain write raises the floor above the counter's base (a reset, as Redis's SET); a versioned one keeps it.
        var counter = Counter is { } c && c.Base == floor ? c : null;
        var result = new SiblingSet(merged.Truncate(maxVectorEntries, keepActors.AsSpan(0, actorCount)), kept.ToArray(), floor, counter);
        Debug.Assert(TryCreate(result.Context, result._siblings, result.HasDetachedFloor ? floor : null, out _, out _, counter));
        return result;
    }

    /// <summary>The counter floor a hybrid timestamp gives a dot: its value (0, no floor, for a time before 1970).</summary>
    private static ulong CounterOf(HybridTimestamp timestamp) => timestamp.Value > 0 ? (ulong)timestamp.Value : 0;

    private static bool IsAtOrAbove(Sibling sibling, WriteStamp? floor) => floor is not { } f || sibling.Stamp >= f;

    private static WriteStamp? MaxFloor(WriteStamp? a, WriteStamp? b) =>
        a is not { } x ? b : b is not { } y ? a : (x >= y ? x : y);

    private static Sibling PickSameDot(Sibling a, Sibling b)
    {
        if (a.Equals(b) || a.WinsOver(b))
        {
            return a;
        }

        if (b.WinsOver(a))
        {
            return b;
        }

        // Same dot and time: prefer the tombstone, then the last-writer-wins sibling, then the greater value bytes.
        if (a.IsTombstone != b.IsTombstone)
        {
            return a.IsTombstone ? a : b;
        }

        if (a.IsLww != b.IsLww)
        {
            return a.IsLww ? a : b;
        }

        return a.Value.Span.SequenceCompareTo(b.Value.Span) >= 0 ? a : b;
    }
}
