using System;
using System.Buffers;
using System.Buffers.Binary;
using RingKV.Core.Encoding;

namespace RingKV.Core.Versioning;

/// <summary>Allocation-free reads and rewrites of encoded sibling sets for plain GET and SET.</summary>
/// <remarks>
/// These work on the bytes of <c>docs/formats/sibling-set.md</c> directly (format version 2, and versions 1 and 3 as input),
/// without building a <see cref="SiblingSet"/>. Each returns false when its input is outside what it handles (damaged
/// bytes, or a blind put that would need truncation); callers then take the object path, which gives the same result
/// (pinned by property tests).
/// </remarks>
public static class SiblingSetFastPath
{
    private const int MaxEntryBytes = 8 + Varint.MaxLength64 + Varint.MaxLength64;
    private const int MaxFloorBytes = 1 + Varint.MaxLength64 + 8 + Varint.MaxLength64;

    /// <summary>Finds the winning sibling's value (highest timestamp, actor, counter) without decoding the set.</summary>
    /// <param name="encoded">An encoded sibling set.</param>
    /// <param name="value">The winner's value; empty when there is none or it is a tombstone.</param>
    /// <param name="live">True when the winner exists and is not a tombstone.</param>
    /// <returns>False when the bytes cannot be parsed (use <see cref="SiblingSet.TryDecode"/> for the reason).</returns>
    public static bool TryGetWinner(ReadOnlySpan<byte> encoded, out ReadOnlySpan<byte> value, out bool live)
    {
        value = default;
        live = false;
        if (!TrySkipHeader(encoded, out var version, out var at, out _, out var entryCount, out _)
            || (version == SiblingSetCodec.FormatVersion && !TrySkipFloor(encoded, ref at))
            || !TryVarint(encoded, ref at, out var siblingCount))
        {
            return false;
        }

        var found = false;
        long bestTime = 0;
        ulong bestIndex = 0, bestCounter = 0;
        for (ulong i = 0; i < siblingCount; i++)
        {
            if (!TryReadSibling(encoded, version, entryCount, ref at, out var index, out var counter, out var flags, out var time, out var sibling))
            {
                return false;
            }

            // Entries are sorted by actor, so comparing actor indexes compares actors. Every sibling of a set has the
            // same version, so version-1 milliseconds compare as their hybrid timestamps would.
            if (!found || time > bestTime || (time == bestTime && (index > bestIndex || (index == bestIndex && counter > bestCounter))))
            {
                found = true;
                bestTime = time;
                bestIndex = index;
                bestCounter = counter;
                value = sibling;
                live = (flags & SiblingSetCodec.TombstoneFlag) == 0;
            }
        }

        if (!live)
        {
            value = default;
        }

        return AtEnd(encoded, at);
    }

    /// <summary>
    /// Reads the latest timestamp an encoded set holds (<see cref="SiblingSet.MaxTimestamp"/>) and whether it is purely
    /// last-writer-wins: format version 2, no detached floor, every sibling flagged last-writer-wins (what plain SETs and
    /// DELs, and merges of them only, produce).
    /// </summary>
    /// <returns>False when the bytes cannot be parsed.</returns>
    public static bool TryReadStamps(ReadOnlySpan<byte> encoded, out HybridTimestamp latest, out bool lastWriterWinsOnly)
    {
        latest = HybridTimestamp.MinValue;
        lastWriterWinsOnly = false;
        return TrySkipHeader(encoded, out var version, out var at, out var entriesStart, out var entryCount, out _)
            && TryReadFloorAndLatest(encoded, version, entriesStart, entryCount, ref at, out _, out latest, out lastWriterWinsOnly);
    }

    /// <summary>
    /// Writes the encoding of <c>existing.Put(existing.Context, value, actor, nowUnixMs, maxVectorEntries, minCounter)</c>: a
    /// write that supersedes every sibling, not flagged last-writer-wins (the single node's plain SET). <paramref name="existing"/>
    /// empty means the key has no set.
    /// </summary>
    /// <returns>False (nothing written) when the bytes cannot be parsed or the context would need truncation.</returns>
    public static bool TryEncodeBlindPut(ReadOnlySpan<byte> existing, ReadOnlySpan<byte> value, ulong actor, long nowUnixMs, int maxVectorEntries, IBufferWriter<byte> writer, ulong minCounter = 0)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return HybridTimestamp.TryFromUnixMs(nowUnixMs, out var timestamp)
            && TryEncodeBlind(existing, value, actor, timestamp, isLww: false, maxVectorEntries, writer, minCounter);
    }

    /// <summary>
    /// Writes the encoding of <c>existing.PutLww(value, actor, timestamp, maxVectorEntries, minCounter)</c>: a plain SET.
    /// <paramref name="existing"/> empty means the key has no set (or the caller overwrites it without reading it).
    /// </summary>
    /// <returns>False (nothing written) when the bytes cannot be parsed or the context would need truncation.</returns>
    public static bool TryEncodeBlindPutLww(ReadOnlySpan<byte> existing, ReadOnlySpan<byte> value, ulong actor, HybridTimestamp timestamp, int maxVectorEntries, IBufferWriter<byte> writer, ulong minCounter = 0)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var counterFloor = timestamp.Value > 0 ? Math.Max(minCounter, (ulong)timestamp.Value) : minCounter;
        return TryEncodeBlind(existing, value, actor, timestamp, isLww: true, maxVectorEntries, writer, counterFloor);
    }

    private static bool TryEncodeBlind(ReadOnlySpan<byte> existing, ReadOnlySpan<byte> value, ulong actor, HybridTimestamp timestamp, bool isLww, int maxVectorEntries, IBufferWriter<byte> writer, ulong minCounter)
    {
        ulong entryCount = 0, truncated = 0;
        var at = 1;
        var entriesStart = 1;
        var version = SiblingSetCodec.FormatVersion;
        if (!existing.IsEmpty && (existing[0] == SiblingSetCodec.CounterFormatVersion || !TrySkipHeader(existing, out version, out at, out entriesStart, out entryCount, out truncated)))
        {
            return false; // a counter (version 3): the object path keeps or resets it
        }

        if (entryCount > (ulong)maxVectorEntries)
        {
            return false;
        }

        // Locate the actor's entry (entries are sorted by actor) and where the entries end.
        at = entriesStart;
        var actorIndex = -1;
        var insertAt = (int)entryCount;
        ulong actorCounter = 0;
        long actorTime = 0;
        for (var i = 0; i < (int)entryCount; i++)
        {
            var entryActor = BinaryPrimitives.ReadUInt64LittleEndian(existing[at..]);
            at += 8;
            TryVarint(existing, ref at, out var counter);
            TryVarint(existing, ref at, out var time);
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

        // The old floor and latest timestamp: the new write is stamped above it, and a versioned write keeps the floor.
        WriteStamp? floor = null;
        var latest = HybridTimestamp.MinValue;
        if (!existing.IsEmpty && !TryReadFloorAndLatest(existing, version, entriesStart, entryCount, ref at, out floor, out latest, out _))
        {
            return false;
        }

        var newCount = entryCount + (actorIndex < 0 ? 1UL : 0UL);
        if (newCount > (ulong)maxVectorEntries)
        {
            return false; // truncation: the object path decides what to drop
        }

        if (timestamp <= latest)
        {
            if (latest.Value == long.MaxValue)
            {
                return false;
            }

            timestamp = latest.Successor();
        }

        var counterNew = VersionVector.CounterBeforeNext(actorCounter, truncated, minCounter);
        if (counterNew == ulong.MaxValue)
        {
            return false;
        }

        counterNew++;
        var timeNew = Math.Max(actorIndex >= 0 ? actorTime : timestamp.UnixMs, timestamp.UnixMs);
        var index = actorIndex >= 0 ? actorIndex : insertAt;
        var detached = isLww ? null : floor;

        var size = 1 + (2 * Varint.MaxLength64) + (entriesEnd - entriesStart) + MaxEntryBytes + MaxFloorBytes + Varint.MaxLength64
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
                    SkipEntry(existing, ref at);
                    continue;
                }
            }

            if (i == (int)entryCount)
            {
                break;
            }

            var start = at;
            SkipEntry(existing, ref at);
            existing[start..at].CopyTo(span[w..]);
            w += at - start;
        }

        if (detached is { } kept)
        {
            span[w++] = SiblingSetCodec.DetachedFloor;
            w += Varint.Write(span[w..], ZigZag(kept.Timestamp.Value));
            BinaryPrimitives.WriteUInt64LittleEndian(span[w..], kept.Dot.Actor);
            w += 8;
            w += Varint.Write(span[w..], kept.Dot.Counter);
        }
        else
        {
            span[w++] = SiblingSetCodec.NoDetachedFloor;
        }

        w += Varint.Write(span[w..], 1); // one sibling
        w += Varint.Write(span[w..], (ulong)index);
        w += Varint.Write(span[w..], counterNew);
        span[w++] = isLww ? SiblingSetCodec.LwwFlag : (byte)0; // a value
        w += Varint.Write(span[w..], ZigZag(SiblingSetCodec.TimestampDelta(timestamp, counterNew)));
        w += Varint.Write(span[w..], (ulong)value.Length);
        value.CopyTo(span[w..]);
        w += value.Length;
        writer.Advance(w);
        return true;
    }

    /// <summary>Reads the version, the context counts and walks past the entries, checking each is complete.</summary>
    private static bool TrySkipHeader(ReadOnlySpan<byte> encoded, out byte version, out int at, out int entriesStart, out ulong entryCount, out ulong truncated)
    {
        version = 0;
        at = 1;
        entriesStart = 1;
        entryCount = 0;
        truncated = 0;
        if (encoded.IsEmpty || encoded[0] is not (SiblingSetCodec.FormatVersion or SiblingSetCodec.FormatVersion1 or SiblingSetCodec.CounterFormatVersion))
        {
            return false;
        }

        // Version 3 is version 2 with a counter after the siblings (see AtEnd): read as version 2 here.
        version = encoded[0] == SiblingSetCodec.FormatVersion1 ? SiblingSetCodec.FormatVersion1 : SiblingSetCodec.FormatVersion;
        if (!TryVarint(encoded, ref at, out entryCount) || !TryVarint(encoded, ref at, out truncated) || entryCount > (ulong)(encoded.Length - at))
        {
            return false;
        }

        entriesStart = at;
        for (ulong i = 0; i < entryCount; i++)
        {
            at += 8;
            if (at > encoded.Length || !TryVarint(encoded, ref at, out _) || !TryVarint(encoded, ref at, out _))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="at"/>, just past the last sibling, ends the set: the input's end, or (version 3) the end of a well-formed counter after it.</summary>
    /// <remarks>Version 3 must have its counter: a set cut off right after its siblings is damaged, as the full decode says.</remarks>
    private static bool AtEnd(ReadOnlySpan<byte> encoded, int at) =>
        encoded[0] == SiblingSetCodec.CounterFormatVersion
            ? SiblingSetCodec.TryReadCounter(encoded, ref at, out _, out _) && at == encoded.Length
            : at == encoded.Length;

    private static void SkipEntry(ReadOnlySpan<byte> encoded, ref int at)
    {
        at += 8;
        TryVarint(encoded, ref at, out _);
        TryVarint(encoded, ref at, out _);
    }

    private static bool TrySkipFloor(ReadOnlySpan<byte> encoded, ref int at) => TryReadFloor(encoded, ref at, out _);

    /// <summary>Reads a version-2 floor field; <paramref name="floor"/> is null when none is detached.</summary>
    private static bool TryReadFloor(ReadOnlySpan<byte> encoded, ref int at, out WriteStamp? floor)
    {
        floor = null;
        if (at >= encoded.Length)
        {
            return false;
        }

        var kind = encoded[at++];
        if (kind == SiblingSetCodec.NoDetachedFloor)
        {
            return true;
        }

        if (kind != SiblingSetCodec.DetachedFloor || !TryVarint(encoded, ref at, out var time) || encoded.Length - at < 8)
        {
            return false;
        }

        var actor = BinaryPrimitives.ReadUInt64LittleEndian(encoded[at..]);
        at += 8;
        if (!TryVarint(encoded, ref at, out var counter))
        {
            return false;
        }

        floor = new WriteStamp(new HybridTimestamp(UnZigZag(time)), new Dot(actor, counter));
        return true;
    }

    /// <summary>
    /// Reads the floor (detached or the last-writer-wins sibling's stamp) and the latest timestamp of a whole set, and
    /// whether the set is purely last-writer-wins (see <see cref="TryReadStamps"/>).
    /// </summary>
    private static bool TryReadFloorAndLatest(ReadOnlySpan<byte> encoded, byte version, int entriesStart, ulong entryCount, ref int at, out WriteStamp? floor, out HybridTimestamp latest, out bool lastWriterWinsOnly)
    {
        floor = null;
        latest = HybridTimestamp.MinValue;
        lastWriterWinsOnly = false;
        if (version == SiblingSetCodec.FormatVersion && !TryReadFloor(encoded, ref at, out floor))
        {
            return false;
        }

        var onlyLww = version == SiblingSetCodec.FormatVersion && floor is null; // a floor read here is a detached one

        if (!TryVarint(encoded, ref at, out var siblingCount))
        {
            return false;
        }

        for (ulong i = 0; i < siblingCount; i++)
        {
            if (!TryReadSibling(encoded, version, entryCount, ref at, out var index, out var counter, out var flags, out var time, out _))
            {
                return false;
            }

            HybridTimestamp timestamp;
            if (version == SiblingSetCodec.FormatVersion)
            {
                timestamp = new HybridTimestamp(time);
            }
            else if (!HybridTimestamp.TryFromUnixMs(time, out timestamp))
            {
                return false;
            }

            latest = HybridTimestamp.Max(latest, timestamp);
            if ((flags & SiblingSetCodec.LwwFlag) != 0)
            {
                floor = new WriteStamp(timestamp, new Dot(ActorAt(encoded, entriesStart, (int)index), counter));
            }
            else
            {
                onlyLww = false;
            }
        }

        if (floor is { } f)
        {
            latest = HybridTimestamp.Max(latest, f.Timestamp);
        }

        lastWriterWinsOnly = onlyLww;
        return AtEnd(encoded, at);
    }

    /// <summary>Reads one sibling; <paramref name="time"/> is its timestamp (version 2) or its Unix ms (version 1).</summary>
    private static bool TryReadSibling(ReadOnlySpan<byte> encoded, byte version, ulong entryCount, scoped ref int at, out ulong index, out ulong counter, out byte flags, out long time, out ReadOnlySpan<byte> value)
    {
        counter = 0;
        flags = 0;
        time = 0;
        value = default;
        if (!TryVarint(encoded, ref at, out index) || !TryVarint(encoded, ref at, out counter) || at >= encoded.Length)
        {
            return false;
        }

        flags = encoded[at++];
        var known = version == SiblingSetCodec.FormatVersion ? SiblingSetCodec.TombstoneFlag | SiblingSetCodec.LwwFlag : SiblingSetCodec.TombstoneFlag;
        if ((flags & ~known) != 0 || !TryVarint(encoded, ref at, out var zigzag) || index >= entryCount)
        {
            return false;
        }

        time = version == SiblingSetCodec.FormatVersion ? SiblingSetCodec.TimestampFromDelta(UnZigZag(zigzag), counter) : UnZigZag(zigzag);
        if ((flags & SiblingSetCodec.TombstoneFlag) == 0)
        {
            if (!TryVarint(encoded, ref at, out var length) || length > (ulong)(encoded.Length - at))
            {
                return false;
            }

            value = encoded.Slice(at, (int)length);
            at += (int)length;
        }

        return true;
    }

    private static ulong ActorAt(ReadOnlySpan<byte> encoded, int entriesStart, int index)
    {
        var at = entriesStart;
        for (var i = 0; i < index; i++)
        {
            SkipEntry(encoded, ref at);
        }

        return BinaryPrimitives.ReadUInt64LittleEndian(encoded[at..]);
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
