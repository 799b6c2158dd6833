using System;
using System.Buffers;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using RingKV.Core.Errors;

namespace RingKV.Core.Versioning;

/// <summary>A key's stored record: concurrent values (siblings, tombstones included) and the causal context that has seen them.</summary>
/// <remarks>
/// Thread-safe (immutable); every operation returns a new set. Pure: time is passed in. This is a dotted version
/// vector set (DVV): a write names what it has seen (its context), supersedes exactly the siblings that context
/// covers, and adds one sibling with a fresh dot.
/// Invariants: (1) siblings are sorted by dot with no duplicate dots; (2) the context covers every sibling's dot;
/// (3) a tombstone sibling has an empty value.
/// <para>
/// Value bytes are not copied by <see cref="Put"/>: the caller must not change or return to a pool a buffer it
/// passed while the set (or a set derived from it) lives. <see cref="TryDecode"/> copies the input once and its
/// siblings' values share that copy.
/// </para>
/// </remarks>
public sealed class SiblingSet : IEquatable<SiblingSet>
{
    private readonly Sibling[] _siblings;

    private SiblingSet(VersionVector context, Sibling[] siblings)
    {
        Context = context;
        _siblings = siblings;
    }

    /// <summary>The set of a key never written: no siblings, empty context.</summary>
    public static SiblingSet Empty { get; } = new(VersionVector.Empty, []);

    /// <summary>Everything this set has seen; hand it to a client as the context of its next write.</summary>
    public VersionVector Context { get; }

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

    /// <summary>Writes <paramref name="value"/> by <paramref name="actor"/>, superseding the siblings <paramref name="context"/> covers.</summary>
    /// <param name="context">What the writer has seen: <see cref="VersionVector.Empty"/> for a write concurrent with everything
    /// (siblings grow), this set's <see cref="Context"/> to supersede everything (a plain SET: always one sibling after).</param>
    /// <param name="value">The value; not copied (see the type remarks).</param>
    /// <param name="actor">The coordinating actor; it mints the new dot.</param>
    /// <param name="nowUnixMs">Hybrid-logical time of the write.</param>
    /// <param name="maxVectorEntries">Bound on context entries; see <see cref="VersionVector.Truncate(int)"/>.</param>
    /// <param name="minCounter">Lowest counter the new dot may get (0 for no floor); see <see cref="VersionVector.Increment"/>.</param>
    /// <remarks>
    /// New dot = (actor, max(Context[actor], context[actor], truncated counter) + 1, at least <paramref name="minCounter"/>); new context = Context merged with
    /// <paramref name="context"/> and the new dot, then truncated, keeping the entries of every remaining sibling's actor
    /// (so with more sibling actors than <paramref name="maxVectorEntries"/> the bound is exceeded rather than invariant 2 broken).
    /// Requires: <paramref name="actor"/> writes this key only through its own replica's set (see <see cref="VersionVector.Increment"/>);
    /// <paramref name="maxVectorEntries"/> at least 1.
    /// </remarks>
    public SiblingSet Put(VersionVector context, ReadOnlyMemory<byte> value, ulong actor, long nowUnixMs, int maxVectorEntries, ulong minCounter = 0) =>
        Write(context, value, isTombstone: false, actor, nowUnixMs, maxVectorEntries, minCounter);

    /// <summary>As <see cref="Put"/> with a tombstone: a delete concurrent with a put leaves both as siblings until resolved.</summary>
    public SiblingSet Delete(VersionVector context, ulong actor, long nowUnixMs, int maxVectorEntries, ulong minCounter = 0) =>
        Write(context, ReadOnlyMemory<byte>.Empty, isTombstone: true, actor, nowUnixMs, maxVectorEntries, minCounter);

    /// <summary>Joins two replicas' sets (replication, read repair, anti-entropy): commutative, associative and idempotent.</summary>
    /// <remarks>
    /// A sibling survives if both sides have its dot or the other side's context has not seen it; contexts merge
    /// pointwise. Does not truncate (that would break associativity); the next write does. If the two sides hold
    /// different siblings under one dot (only a bug or a reused dot can do that), the one that wins by
    /// (timestamp, tombstone, value bytes) is kept so the result stays deterministic.
    /// </remarks>
    public SiblingSet Merge(SiblingSet other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (ReferenceEquals(this, other))
        {
            return this;
        }

        var a = _siblings;
        var b = other._siblings;
        var merged = new List<Sibling>(a.Length + b.Length);
        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            if (j == b.Length || i < a.Length && a[i].Dot < b[j].Dot)
            {
                if (!other.Context.Covers(a[i].Dot))
                {
                    merged.Add(a[i]);
                }

                i++;
            }
            else if (i == a.Length || b[j].Dot < a[i].Dot)
            {
                if (!Context.Covers(b[j].Dot))
                {
                    merged.Add(b[j]);
                }

                j++;
            }
            else
            {
                merged.Add(PickSameDot(a[i], b[j]));
                i++;
                j++;
            }
        }

        return new SiblingSet(Context.Merge(other.Context), merged.ToArray());
    }

    /// <summary>Writes the set: format version 1 (see docs/formats/sibling-set.md).</summary>
    public void Encode(IBufferWriter<byte> writer) => SiblingSetCodec.Encode(this, writer);

    /// <summary>Reads a set written by <see cref="Encode"/>; never throws on hostile bytes, returns false with a reason instead.</summary>
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
    internal static bool TryCreate(VersionVector context, Sibling[] siblings, [NotNullWhen(true)] out SiblingSet? set, [NotNullWhen(false)] out string? error)
    {
        set = null;
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
        }

        set = siblings.Length == 0 && context.Count == 0 && context.TruncatedCounter == 0 ? Empty : new SiblingSet(context, siblings);
        error = null;
        return true;
    }

    /// <inheritdoc/>
    public bool Equals(SiblingSet? other) =>
        other is not null && Context.Equals(other.Context) && _siblings.AsSpan().SequenceEqual(other._siblings);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as SiblingSet);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Context, _siblings.Length);

    /// <summary>Debug form: context and sibling dots.</summary>
    public override string ToString()
    {
        var parts = new string[_siblings.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            var s = _siblings[i];
            parts[i] = FormattableString.Invariant($"({s.Dot.Actor},{s.Dot.Counter})@{s.TimestampUnixMs}{(s.IsTombstone ? " tombstone" : $" {s.Value.Length}B")}");
        }

        return Context + " [" + string.Join(", ", parts) + "]";
    }

    private SiblingSet Write(VersionVector context, ReadOnlyMemory<byte> value, bool isTombstone, ulong actor, long nowUnixMs, int maxVectorEntries, ulong minCounter)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (maxVectorEntries < 1)
        {
            ThrowHelper.InvalidArgument("maxVectorEntries must be at least 1");
        }

        var (merged, dot) = Context.Merge(context).Increment(actor, nowUnixMs, minCounter);
        var sibling = new Sibling(dot, nowUnixMs, isTombstone, value);

        var kept = new List<Sibling>(_siblings.Length + 1);
        var inserted = false;
        foreach (var existing in _siblings)
        {
            if (context.Covers(existing.Dot))
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

        var result = new SiblingSet(merged.Truncate(maxVectorEntries, keepActors.AsSpan(0, actorCount)), kept.ToArray());
        Debug.Assert(TryCreate(result.Context, result._siblings, out _, out _));
        return result;
    }

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

        // Same dot and time: prefer the tombstone, then the greater value bytes.
        if (a.IsTombstone != b.IsTombstone)
        {
            return a.IsTombstone ? a : b;
        }

        return a.Value.Span.SequenceCompareTo(b.Value.Span) >= 0 ? a : b;
    }
}
