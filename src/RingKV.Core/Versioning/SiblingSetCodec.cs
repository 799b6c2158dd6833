using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using RingKV.Core.Encoding;
using RingKV.Core.Errors;

namespace RingKV.Core.Versioning;

/// <summary>Bytes of sibling sets (format version 2, 3 with a counter, version 1 read) and contexts (version 2, version 1 read); docs/formats/sibling-set.md is the spec.</summary>
/// <remarks>
/// <code>
/// sibling set:  | version (1) = 2 | context body | floor | sibling count (varint) | sibling × count |
/// context:      | version (1) = 2 | key tag (4, LE) | context body |     (version 1: | 1 | context body |, no key tag)
/// context body: | entry count (varint) | truncated counter (varint) | entry × count |
/// entry:        | actor (8, LE) | counter (varint) | last update, Unix ms (zigzag varint) |
/// floor:        | 0 | (none, or the last-writer-wins sibling's stamp)   or   | 1 | timestamp (zigzag varint) | actor (8, LE) | counter (varint) |
/// sibling:      | actor index (varint) | counter (varint) | flags (1) | timestamp − counter (zigzag varint) | [value length (varint) | value] |
/// version 1:    | 1 | context body | sibling count | sibling × count |, sibling: | index | counter | flags | Unix ms (zigzag varint) | [value] |
/// </code>
/// A sibling's timestamp is stored as its distance from the dot's counter because a coordinator mints the counter from
/// the same hybrid clock value (one byte instead of nine). The decoder checks every count against a hard limit and
/// against the bytes left before allocating, and checks the invariants of <see cref="VersionVector"/> and
/// <see cref="SiblingSet"/>; it never throws on hostile bytes.
/// </remarks>
internal static class SiblingSetCodec
{
    /// <summary>The sibling-set format version written.</summary>
    public const byte FormatVersion = 2;

    /// <summary>The sibling-set format written for a set with a counter: version 2 followed by the counter.</summary>
    public const byte CounterFormatVersion = 3;

    /// <summary>Most counter entries a decoder accepts.</summary>
    public const int MaxCounterEntries = 1 << 16;

    /// <summary>The sibling-set format of releases before hybrid timestamps and last-writer-wins siblings; still read.</summary>
    public const byte FormatVersion1 = 1;

    /// <summary>The context format version written: it names the key the context was read from.</summary>
    public const byte ContextFormatVersion = 2;

    /// <summary>The first context format, without a key tag; still read.</summary>
    public const byte UntaggedContextFormatVersion = 1;

    /// <summary>Most context entries a decoder accepts.</summary>
    public const int MaxEntries = 1 << 16;

    /// <summary>Most siblings a decoder accepts.</summary>
    public const int MaxSiblings = 1 << 16;

    /// <summary>Sibling flag: the sibling is a tombstone and has no value field.</summary>
    public const byte TombstoneFlag = 0x01;

    /// <summary>Sibling flag (version 2): the sibling is a last-writer-wins write.</summary>
    public const byte LwwFlag = 0x02;

    /// <summary>Floor byte (version 2): none, or carried by the last-writer-wins sibling.</summary>
    public const byte NoDetachedFloor = 0;

    /// <summary>Floor byte (version 2): a detached floor follows.</summary>
    public const byte DetachedFloor = 1;

    // Smallest encodings, to bound counts by the bytes left: actor 8 + counter 1 + time 1; index 1 + counter 1 + flags 1 + time 1.
    private const int MinEntryBytes = 10;
    private const int MinSiblingBytes = 4;
    private const int MinCounterEntryBytes = 10;

    public static void Encode(SiblingSet set, IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        WriteByte(writer, set.Counter is null ? FormatVersion : CounterFormatVersion);
        WriteContextBody(set.Context, writer);
        if (set.HasDetachedFloor && set.LwwFloor is { } floor)
        {
            WriteByte(writer, DetachedFloor);
            WriteVarint(writer, ZigZag(floor.Timestamp.Value));
            var span = writer.GetSpan(sizeof(ulong));
            BinaryPrimitives.WriteUInt64LittleEndian(span, floor.Dot.Actor);
            writer.Advance(sizeof(ulong));
            WriteVarint(writer, floor.Dot.Counter);
        }
        else
        {
            WriteByte(writer, NoDetachedFloor);
        }

        WriteVarint(writer, (ulong)set.Count);
        var entries = set.Context.Entries;
        foreach (var sibling in set)
        {
            WriteVarint(writer, (ulong)IndexOfActor(entries, sibling.Dot.Actor));
            WriteVarint(writer, sibling.Dot.Counter);
            WriteByte(writer, (byte)((sibling.IsTombstone ? TombstoneFlag : 0) | (sibling.IsLww ? LwwFlag : 0)));
            WriteVarint(writer, ZigZag(TimestampDelta(sibling.Timestamp, sibling.Dot.Counter)));
            if (!sibling.IsTombstone)
            {
                WriteVarint(writer, (ulong)sibling.Value.Length);
                writer.Write(sibling.Value.Span);
            }
        }

        if (set.Counter is { } counter)
        {
            WriteCounter(counter, writer);
        }
    }

    /// <summary>Version 3's trailer: | base timestamp (zigzag) | base actor (8, LE) | base counter | base value (zigzag) | entry count | entry × count |, entry: | actor (8, LE) | version | sum (zigzag) |.</summary>
    private static void WriteCounter(CounterState counter, IBufferWriter<byte> writer)
    {
        WriteVarint(writer, ZigZag(counter.Base.Timestamp.Value));
        WriteActor(writer, counter.Base.Dot.Actor);
        WriteVarint(writer, counter.Base.Dot.Counter);
        WriteVarint(writer, ZigZag(counter.BaseValue));
        WriteVarint(writer, (ulong)counter.Entries.Length);
        foreach (var entry in counter.Entries)
        {
            WriteActor(writer, entry.Actor);
            WriteVarint(writer, entry.Version);
            WriteVarint(writer, ZigZag(entry.Sum));
        }
    }

    /// <summary>Reads version 3's counter trailer (see <see cref="WriteCounter"/>).</summary>
    internal static bool TryReadCounter(ReadOnlySpan<byte> source, ref int offset, out CounterState? counter, [NotNullWhen(false)] out string? error)
    {
        counter = null;
        if (!TryReadVarint(source, ref offset, out var time) || source.Length - offset < sizeof(ulong))
        {
            error = "counter base is truncated";
            return false;
        }

        var actor = BinaryPrimitives.ReadUInt64LittleEndian(source.Slice(offset, sizeof(ulong)));
        offset += sizeof(ulong);
        if (!TryReadVarint(source, ref offset, out var baseCounter) || !TryReadVarint(source, ref offset, out var baseValue))
        {
            error = "counter base is truncated";
            return false;
        }

        if (!TryReadCount(source, ref offset, MaxCounterEntries, MinCounterEntryBytes, "counter entry", out var count, out error))
        {
            return false;
        }

        var entries = new CounterEntry[count];
        for (var i = 0; i < count; i++)
        {
            if (source.Length - offset < sizeof(ulong))
            {
                error = "counter entry is truncated";
                return false;
            }

            var entryActor = BinaryPrimitives.ReadUInt64LittleEndian(source.Slice(offset, sizeof(ulong)));
            offset += sizeof(ulong);
            if (!TryReadVarint(source, ref offset, out var version) || !TryReadVarint(source, ref offset, out var sum))
            {
                error = "counter entry is truncated";
                return false;
            }

            entries[i] = new CounterEntry(entryActor, version, UnZigZag(sum));
        }

        var @base = new WriteStamp(new HybridTimestamp(UnZigZag(time)), new Dot(actor, baseCounter));
        return CounterState.TryCreate(@base, UnZigZag(baseValue), entries, out counter, out error);
    }

    private static void WriteActor(IBufferWriter<byte> writer, ulong actor)
    {
        var span = writer.GetSpan(sizeof(ulong));
        BinaryPrimitives.WriteUInt64LittleEndian(span, actor);
        writer.Advance(sizeof(ulong));
    }

    /// <summary>What version 2 stores for a sibling's timestamp: its distance from the dot's counter, wrapping.</summary>
    public static long TimestampDelta(HybridTimestamp timestamp, ulong counter) => unchecked(timestamp.Value - (long)counter);

    /// <summary>The timestamp a version-2 sibling stores as <paramref name="delta"/> from <paramref name="counter"/>.</summary>
    public static long TimestampFromDelta(long delta, ulong counter) => unchecked((long)counter + delta);

    public static void EncodeContext(VersionVector context, uint keyTag, IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(writer);
        WriteByte(writer, ContextFormatVersion);
        var span = writer.GetSpan(sizeof(uint));
        BinaryPrimitives.WriteUInt32LittleEndian(span, keyTag);
        writer.Advance(sizeof(uint));
        WriteContextBody(context, writer);
    }

    public static bool TryDecode(ReadOnlySpan<byte> source, [NotNullWhen(true)] out SiblingSet? set, [NotNullWhen(false)] out string? error)
    {
        set = null;
        if (source.IsEmpty)
        {
            error = "empty input";
            return false;
        }

        var version = source[0];
        if (version is not (FormatVersion or FormatVersion1 or CounterFormatVersion))
        {
            error = FormattableString.Invariant($"unknown format version {version}");
            return false;
        }

        // Version 3 is version 2 with a counter after the siblings.
        var hasCounter = version == CounterFormatVersion;
        if (hasCounter)
        {
            version = FormatVersion;
        }

        if (!TryReadContextBody(source, 1, out var context, out var offset, out error))
        {
            return false;
        }

        WriteStamp? floor = null;
        if (version == FormatVersion && !TryReadFloor(source, ref offset, out floor, out error))
        {
            return false;
        }

        if (!TryReadCount(source, ref offset, MaxSiblings, MinSiblingBytes, "sibling", out var count, out error))
        {
            return false;
        }

        // Values share one copy of the input rather than one array each.
        var backing = count > 0 ? source.ToArray() : [];
        var entries = context.Entries;
        var siblings = new Sibling[count];
        var knownFlags = version == FormatVersion ? TombstoneFlag | LwwFlag : TombstoneFlag;
        for (var i = 0; i < count; i++)
        {
            if (!TryReadVarint(source, ref offset, out var index) || !TryReadVarint(source, ref offset, out var counter))
            {
                error = "sibling dot is truncated";
                return false;
            }

            if (index >= (ulong)entries.Length)
            {
                error = "sibling actor index is outside the context";
                return false;
            }

            if (offset >= source.Length)
            {
                error = "sibling flags are missing";
                return false;
            }

            var flags = source[offset++];
            if ((flags & ~knownFlags) != 0)
            {
                error = "sibling has unknown flags";
                return false;
            }

            if (!TryReadVarint(source, ref offset, out var time))
            {
                error = "sibling timestamp is truncated";
                return false;
            }

            HybridTimestamp timestamp;
            if (version == FormatVersion)
            {
                timestamp = new HybridTimestamp(TimestampFromDelta(UnZigZag(time), counter));
            }
            else if (!HybridTimestamp.TryFromUnixMs(UnZigZag(time), out timestamp))
            {
                error = "sibling timestamp is outside what a hybrid timestamp holds";
                return false;
            }

            var value = ReadOnlyMemory<byte>.Empty;
            var isTombstone = (flags & TombstoneFlag) != 0;
            if (!isTombstone)
            {
                if (!TryReadVarint(source, ref offset, out var length) || length > (ulong)(source.Length - offset))
                {
                    error = "sibling value is truncated";
                    return false;
                }

                value = backing.AsMemory(offset, (int)length);
                offset += (int)length;
            }

            siblings[i] = new Sibling(new Dot(entries[(int)index].Actor, counter), timestamp, isTombstone, value, (flags & LwwFlag) != 0);
        }

        CounterState? counted = null;
        if (hasCounter && !TryReadCounter(source, ref offset, out counted, out error))
        {
            return false;
        }

        if (offset != source.Length)
        {
            error = "trailing bytes after the sibling set";
            return false;
        }

        return SiblingSet.TryCreate(context, siblings, floor, out set, out error, counted);
    }

    public static bool TryDecodeContext(ReadOnlySpan<byte> source, [NotNullWhen(true)] out VersionVector? context, out uint? keyTag, [NotNullWhen(false)] out string? error)
    {
        context = null;
        keyTag = null;
        if (source.IsEmpty)
        {
            error = "empty input";
            return false;
        }

        var start = 1;
        if (source[0] == ContextFormatVersion)
        {
            if (source.Length < 1 + sizeof(uint))
            {
                error = "context key tag is truncated";
                return false;
            }

            keyTag = BinaryPrimitives.ReadUInt32LittleEndian(source[1..]);
            start += sizeof(uint);
        }
        else if (source[0] != UntaggedContextFormatVersion)
        {
            error = FormattableString.Invariant($"unknown context format version {source[0]}");
            return false;
        }

        if (!TryReadContextBody(source, start, out var decoded, out var offset, out error))
        {
            keyTag = null;
            return false;
        }

        if (offset != source.Length)
        {
            keyTag = null;
            error = "trailing bytes after the context";
            return false;
        }

        context = decoded;
        return true;
    }

    private static bool TryReadFloor(ReadOnlySpan<byte> source, ref int offset, out WriteStamp? floor, [NotNullWhen(false)] out string? error)
    {
        floor = null;
        if (offset >= source.Length)
        {
            error = "floor is missing";
            return false;
        }

        var kind = source[offset++];
        if (kind == NoDetachedFloor)
        {
            error = null;
            return true;
        }

        if (kind != DetachedFloor)
        {
            error = "floor has an unknown kind";
            return false;
        }

        if (!TryReadVarint(source, ref offset, out var time) || source.Length - offset < sizeof(ulong))
        {
            error = "floor is truncated";
            return false;
        }

        var actor = BinaryPrimitives.ReadUInt64LittleEndian(source.Slice(offset, sizeof(ulong)));
        offset += sizeof(ulong);
        if (!TryReadVarint(source, ref offset, out var counter))
        {
            error = "floor is truncated";
            return false;
        }

        floor = new WriteStamp(new HybridTimestamp(UnZigZag(time)), new Dot(actor, counter));
        error = null;
        return true;
    }

    private static bool TryReadContextBody(ReadOnlySpan<byte> source, int start, [NotNullWhen(true)] out VersionVector? context, out int offset, [NotNullWhen(false)] out string? error)
    {
        context = null;
        offset = start;
        if (!TryReadCount(source, ref offset, MaxEntries, MinEntryBytes, "context entry", out var count, out error))
        {
            return false;
        }

        if (!TryReadVarint(source, ref offset, out var truncated))
        {
            error = "truncated counter is cut short";
            return false;
        }

        var entries = new VersionVectorEntry[count];
        for (var i = 0; i < count; i++)
        {
            if (source.Length - offset < sizeof(ulong))
            {
                error = "context entry actor is truncated";
                return false;
            }

            var actor = BinaryPrimitives.ReadUInt64LittleEndian(source.Slice(offset, sizeof(ulong)));
            offset += sizeof(ulong);
            if (!TryReadVarint(source, ref offset, out var counter) || !TryReadVarint(source, ref offset, out var time))
            {
                error = "context entry is truncated";
                return false;
            }

            entries[i] = new VersionVectorEntry(actor, counter, UnZigZag(time));
        }

        if (!VersionVector.TryValidate(entries, out var invalid))
        {
            error = invalid;
            return false;
        }

        context = VersionVector.FromOwnedArray(entries, truncated);
        error = null;
        return true;
    }

    private static bool TryReadCount(ReadOnlySpan<byte> source, ref int offset, int max, int minBytesEach, string what, out int count, [NotNullWhen(false)] out string? error)
    {
        count = 0;
        if (!TryReadVarint(source, ref offset, out var raw))
        {
            error = what + " count is truncated";
            return false;
        }

        if (raw > (ulong)max)
        {
            error = FormattableString.Invariant($"{what} count {raw} exceeds the limit {max}");
            return false;
        }

        if (raw > (ulong)((source.Length - offset) / minBytesEach))
        {
            error = FormattableString.Invariant($"{what} count {raw} exceeds what the remaining {source.Length - offset} bytes can hold");
            return false;
        }

        count = (int)raw;
        error = null;
        return true;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> source, ref int offset, out ulong value)
    {
        if (!Varint.TryRead(source[offset..], out value, out var length))
        {
            return false;
        }

        offset += length;
        return true;
    }

    private static void WriteContextBody(VersionVector context, IBufferWriter<byte> writer)
    {
        WriteVarint(writer, (ulong)context.Count);
        WriteVarint(writer, context.TruncatedCounter);
        foreach (var entry in context.Entries)
        {
            var span = writer.GetSpan(sizeof(ulong));
            BinaryPrimitives.WriteUInt64LittleEndian(span, entry.Actor);
            writer.Advance(sizeof(ulong));
            WriteVarint(writer, entry.Counter);
            WriteVarint(writer, ZigZag(entry.LastUpdateUnixMs));
        }
    }

    private static int IndexOfActor(ReadOnlySpan<VersionVectorEntry> entries, ulong actor)
    {
        int lo = 0, hi = entries.Length - 1;
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) >> 1);
            if (entries[mid].Actor == actor)
            {
                return mid;
            }

            if (entries[mid].Actor < actor)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        // Invariant 2 of SiblingSet: every sibling's actor has a context entry.
        ThrowHelper.Fail(ErrorCode.Internal, "sibling actor missing from the context");
        return -1;
    }

    private static void WriteByte(IBufferWriter<byte> writer, byte value)
    {
        writer.GetSpan(1)[0] = value;
        writer.Advance(1);
    }

    private static void WriteVarint(IBufferWriter<byte> writer, ulong value)
    {
        var span = writer.GetSpan(Varint.MaxLength64);
        writer.Advance(Varint.Write(span, value));
    }

    private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    private static long UnZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);
}
