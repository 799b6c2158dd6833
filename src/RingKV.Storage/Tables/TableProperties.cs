using System;
using RingKV.Core.Encoding;
using RingKV.Core.Errors;

namespace RingKV.Storage.Tables;

/// <summary>Summary of one table, stored in its properties block.</summary>
/// <remarks>
/// Immutable. Encoded as varints in this order, then the two keys length-prefixed:
/// <code>
/// | entries | raw data bytes | data blocks | min sequence | max sequence | tombstones | expiring |
/// | smallest key length | smallest key | largest key length | largest key |
/// </code>
/// <see cref="FileBytes"/> is not stored: it is the file's length.
/// </remarks>
internal sealed record TableProperties
{
    /// <summary>Records (every version and tombstone).</summary>
    public long EntryCount { get; init; }

    /// <summary>Uncompressed bytes of all data blocks.</summary>
    public long RawDataBytes { get; init; }

    /// <summary>Data blocks.</summary>
    public long DataBlockCount { get; init; }

    /// <summary>The first internal key; empty when the table is empty.</summary>
    public byte[] SmallestKey { get; init; } = [];

    /// <summary>The last internal key; empty when the table is empty.</summary>
    public byte[] LargestKey { get; init; } = [];

    /// <summary>Smallest sequence number of any record (0 when empty).</summary>
    public ulong MinSequence { get; init; }

    /// <summary>Largest sequence number of any record (0 when empty).</summary>
    public ulong MaxSequence { get; init; }

    /// <summary>Records of kind Delete.</summary>
    public long TombstoneCount { get; init; }

    /// <summary>Records of kind PutWithExpiry.</summary>
    public long ExpiringCount { get; init; }

    /// <summary>Size of the whole table file.</summary>
    public long FileBytes { get; init; }

    /// <summary>Bytes <see cref="Encode"/> writes.</summary>
    public int EncodedLength =>
        Varint.Length((ulong)EntryCount) + Varint.Length((ulong)RawDataBytes) + Varint.Length((ulong)DataBlockCount) +
        Varint.Length(MinSequence) + Varint.Length(MaxSequence) + Varint.Length((ulong)TombstoneCount) +
        Varint.Length((ulong)ExpiringCount) + Varint.Length((ulong)SmallestKey.Length) + SmallestKey.Length +
        Varint.Length((ulong)LargestKey.Length) + LargestKey.Length;

    /// <summary>Encodes the stored fields; returns bytes written. Requires: room for <see cref="EncodedLength"/>.</summary>
    public int Encode(Span<byte> destination)
    {
        var p = 0;
        p += Varint.Write(destination[p..], (ulong)EntryCount);
        p += Varint.Write(destination[p..], (ulong)RawDataBytes);
        p += Varint.Write(destination[p..], (ulong)DataBlockCount);
        p += Varint.Write(destination[p..], MinSequence);
        p += Varint.Write(destination[p..], MaxSequence);
        p += Varint.Write(destination[p..], (ulong)TombstoneCount);
        p += Varint.Write(destination[p..], (ulong)ExpiringCount);
        p += Varint.Write(destination[p..], (ulong)SmallestKey.Length);
        SmallestKey.CopyTo(destination[p..]);
        p += SmallestKey.Length;
        p += Varint.Write(destination[p..], (ulong)LargestKey.Length);
        LargestKey.CopyTo(destination[p..]);
        return p + LargestKey.Length;
    }

    /// <summary>Decodes properties stored at <paramref name="offset"/> of <paramref name="path"/>; throws <see cref="CorruptionException"/>.</summary>
    public static TableProperties Decode(ReadOnlySpan<byte> source, long fileBytes, string path, long offset)
    {
        var p = 0;
        var entries = ReadLong(source, ref p, path, offset);
        var rawBytes = ReadLong(source, ref p, path, offset);
        var blocks = ReadLong(source, ref p, path, offset);
        var minSeq = ReadULong(source, ref p, path, offset);
        var maxSeq = ReadULong(source, ref p, path, offset);
        var tombstones = ReadLong(source, ref p, path, offset);
        var expiring = ReadLong(source, ref p, path, offset);
        var smallest = ReadBytes(source, ref p, path, offset);
        var largest = ReadBytes(source, ref p, path, offset);
        return new TableProperties
        {
            EntryCount = entries,
            RawDataBytes = rawBytes,
            DataBlockCount = blocks,
            MinSequence = minSeq,
            MaxSequence = maxSeq,
            TombstoneCount = tombstones,
            ExpiringCount = expiring,
            SmallestKey = smallest,
            LargestKey = largest,
            FileBytes = fileBytes,
        };
    }

    private static ulong ReadULong(ReadOnlySpan<byte> source, ref int p, string path, long offset)
    {
        if (!Varint.TryRead(source[p..], out var value, out var n))
        {
            ThrowHelper.Corruption(path, offset, "bad table properties");
        }

        p += n;
        return value;
    }

    private static long ReadLong(ReadOnlySpan<byte> source, ref int p, string path, long offset)
    {
        var value = ReadULong(source, ref p, path, offset);
        if (value > long.MaxValue)
        {
            ThrowHelper.Corruption(path, offset, "table property out of range");
        }

        return (long)value;
    }

    private static byte[] ReadBytes(ReadOnlySpan<byte> source, ref int p, string path, long offset)
    {
        var length = ReadULong(source, ref p, path, offset);
        if (length > (ulong)(source.Length - p))
        {
            ThrowHelper.Corruption(path, offset, "table property key overruns the block");
        }

        var bytes = source.Slice(p, (int)length).ToArray();
        p += (int)length;
        return bytes;
    }
}
