using System;
using System.Buffers;
using System.Buffers.Binary;
using RingKV.Core.Encoding;

namespace RingKV.Core.Versioning;

/// <summary>Allocation-free reads and rewrites of encoded sibling sets for plain GET and SET.</summary>
/// <remarks>
/// These work on the bytes of <c>docs/formats/sibling-set.md</c> directly, without building a
/// <see cref="SiblingSet"/>. Each returns false when its input is outside what it handles (damaged bytes, or a
/// blind put that would need truncation); callers then take the object path, which gives the same result
/// (pinned by a property test).
/// </remarks>
public static class SiblingSetFastPath
{
    private const int MaxEntryBytes = 8 + Varint.MaxLength64 + Varint.MaxLength64;

    /// <summary>Finds the winning sibling's value (highest timestamp, actor, counter) without decoding the set.</summary>
    /// <param name="encoded">An encoded sibling set.</param>
    /// <param name="value">The winner's value; empty when there is none or it is a tombstone.</param>
    /// <param name="live">True when the winner exists and is not a tombstone.</param>
    /// <returns>False when the bytes cannot be parsed (use <see cref="SiblingSet.TryDecode"/> for the reason).</returns>
    public static bool TryGetWinner(ReadOnlySpan<byte> encoded, out ReadOnlySpan<byte> value, out bool live)
    {
        value = default;
        live = false;
        if (encoded.IsEmpty || encoded[0] != SiblingSetCodec.FormatVersion)
        {
            return false;
        }

        var at = 1;
        if (!TryVarint(encoded, ref at, out var entryCount) || !TryVarint(encoded, ref at, out _) || entryCount > (ulong)(encoded.Length - at))
        {
            return false;
        }

        for (ulong i = 0; i < entryCount; i++)
        {
            at += 8;
            if (at > encoded.Length || !TryVarint(encoded, ref at, out _) || !TryVarint(encoded, ref at, out _))
            {
                return false;
            }
        }

        if (!TryVarint(encoded, ref at, out var siblingCount))
        {
            return false;
        }

        var found = false;
        long bestTime = 0;
        ulong bestIndex = 0, bestCounter = 0;
        for (ulong i = 0; i < siblingCount; i++)
        {
            if (!TryVarint(encoded, ref at, out var index) || !TryVarint(encoded, ref at, out var counter) || at >= encoded.Length)
            {
                return false;
            }

            var flags = encoded[at++];
            if (!TryVarint(encoded, ref at, out var zigzag) || index >= entryCount)
            {
                return false;
            }

            var time = UnZigZag(zigzag);
            var tombstone = (flags & SiblingSetCodec.TombstoneFlag) != 0;
            ReadOnlySpan<byte> sibling = default;
            if (!tombstone)
            {
                if (!TryVarint(encoded, ref at, out var length) || length > (ulong)(encoded.Length - at))
                {
                    return false;
                }

                sibling = encoded.Slice(at, (int)length);
                at += (int)length;
            }

            // Entries are sorted by actor, so comparing actor indexes compares actors.
            if (!found || time > bestTime || (time == bestTime && (index > bestIndex || (index == bestIndex && counter > bestCounter))))
            {
                found = true;
                bestTime = time;
                bestIndex = index;
                bestCounter = counter;
                value = sibling;
                live = !tombstone;
            }
        }

        if (!live)
        {
            value = default;
        }

        return at == encoded.Length;
    }

    /// <summary>
    /// Writes the encoding of <c>existing.Put(existing.Context, value, actor, now, maxVectorEntries, minCounter)</c>: a
    /// plain SET that supersedes every sibling. <paramref name="existing"/> empty means the key has no set.
    /// </summary>
    /// <returns>False (nothing written) when the bytes cannot be parsed or the context would need truncation.</returns>
    public static bool TryEncodeBlindPut(ReadOnlySpan<byte> existing, ReadOnlySpan<byte> value, ulong actor, long nowUnixMs, int maxVectorEntries, IBufferWriter<byte> writer, ulong minCounter = 0)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ulong entryCount = 0, truncated = 0;
        var at = 1;
        var entriesStart = 0;
        if (!existing.IsEmpty)
        {
            if (existing[0] != SiblingSetCodec.FormatVersion
                || !TryVarint(existing, ref at, out entryCount)
                || !TryVarint(existing, ref at, out truncated)
                || entryCount > (ulong)maxVectorEntries)
            {
                return false;
            }

            entriesStart = at;
        }

        // Locate the actor's entry (entries are sorted by actor) and where the entries end.
        var actorIndex = -1;
        var insertAt = (int)entryCount;
        ulong actorCounter = 0;
        long actorTime = 0;
        for (var i = 0; i < (int)entryCount; i++)
        {
            if (at + 8 > existing.Length)
            {
                return false;
            }

            var entryActor = BinaryPrimitives.ReadUInt64LittleEndian(existing[at..]);
            at += 8;
            if (!TryVarint(existing, ref at, out var counter) || !TryVarint(existing, ref at, out var time))
            {
                return false;
            }

            if (entryActor == actor)
            {
                actorIndex = i;
                actorCounter = counter;
                actorTime = UnZigZag(time);
            }
            else if (entryActor > actor && insertAt == (int)entryCount && actorIndex < 0)
            {
                insertAt = i;
            }
        }

        var entriesEnd = at;
        var newCount = entryCount + (actorIndex < 0 ? 1UL : 0UL);
        if (newCount > (ulong)maxVectorEntries)
        {
            return false; // truncation: the object path decides what to drop
        }

        var counterNew = VersionVector.CounterBeforeNext(actorCounter, truncated, minCounter);
        if (counterNew == ulong.MaxValue)
        {
            return false;
        }

        counterNew++;
        var timeNew = Math.Max(actorIndex >= 0 ? actorTime : nowUnixMs, nowUnixMs);
        var index = actorIndex >= 0 ? actorIndex : insertAt;

        var size = 1 + (2 * Varint.MaxLength64) + (entriesEnd - entriesStart) + MaxEntryBytes + Varint.MaxLength64
            + (4 * Varint.MaxLength64) + 1 + value.Length;
        var span = writer.GetSpan(size);
        var w = 0;
        span[w++] = SiblingSetCodec.FormatVersion;
        w += Varint.Write(span[w..], newCount);
        w += Varint.Write(span[w..], truncated);

        // Copy entries, replacing or inserting the actor's.
        at = entriesStart;
        for (var i = 0; i <= (int)entryCount; i++)
        {
            if (i == index)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(span[w..], actor);
                w += 8;
                w += Varint.Write(span[w..], counterNew);
                w += Varint.Write(span[w..], ZigZag(timeNew));
                if (actorIndex >= 0)
                {
                    // Skip the old entry of the actor.
                    at += 8;
                    TryVarint(existing, ref at, out _);
                    TryVarint(existing, ref at, out _);
                    continue;
                }
            }

            if (i == (int)entryCount)
            {
                break;
            }

            var start = at;
            at += 8;
            TryVarint(existing, ref at, out _);
            TryVarint(existing, ref at, out _);
            existing[start..at].CopyTo(span[w..]);
            w += at - start;
        }

        w += Varint.Write(span[w..], 1); // one sibling
        w += Varint.Write(span[w..], (ulong)index);
        w += Varint.Write(span[w..], counterNew);
        span[w++] = 0; // flags: a value
        w += Varint.Write(span[w..], ZigZag(nowUnixMs));
        w += Varint.Write(span[w..], (ulong)value.Length);
        value.CopyTo(span[w..]);
        w += value.Length;
        writer.Advance(w);
        return true;
    }

    private static bool TryVarint(ReadOnlySpan<byte> source, ref int offset, out ulong value)
    {
        if (offset >= source.Length || !Varint.TryRead(source[offset..], out value, out var length))
        {
            value = 0;
            return false;
        }

        offset += length;
        return true;
    }

    private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    private static long UnZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);
}
