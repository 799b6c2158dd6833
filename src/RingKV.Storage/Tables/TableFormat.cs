using System;
using System.Buffers.Binary;
using RingKV.Core.Errors;
using RingKV.Core.Hashing;

namespace RingKV.Storage.Tables;

/// <summary>Constants and fixed-width pieces of the table file format (docs/formats/sstable.md is the spec).</summary>
/// <remarks>
/// <code>
/// file:    | data block | ... | filter block | index block | properties block | footer (52) |
/// block:   | payload (handle.Size bytes) | kind (1) | CRC32C(payload + kind) u32 LE |
/// payload: kind None: the block bytes; otherwise | uncompressed length varint32 | compressed bytes |
/// footer:  | filter offset u64 | filter size u32 | index offset u64 | index size u32 | properties offset u64 |
///          | properties size u32 | format version u32 | CRC32C of the preceding 40 bytes u32 | magic u64 |   (all LE)
/// </code>
/// Version rule: <see cref="FormatVersion"/> is bumped on any change a reader of the old version would misread;
/// readers reject versions they do not know.
/// </remarks>
internal static class TableFormat
{
    /// <summary>Bytes after each block's payload: kind + CRC32C.</summary>
    public const int BlockTrailerSize = 5;

    /// <summary>Bytes of the footer.</summary>
    public const int FooterSize = 52;

    /// <summary>The format version written and the only one read.</summary>
    public const uint FormatVersion = 1;

    /// <summary>Last 8 bytes of every table ("RingKVT1" as a little-endian u64).</summary>
    public const ulong Magic = 0x3154564B676E6952UL;

    /// <summary>Largest uncompressed block accepted on read (guards allocation on damaged lengths).</summary>
    public const int MaxBlockBytes = 1 << 30;

    /// <summary>CRC32C stored in a block trailer: over the payload, then the kind byte.</summary>
    public static uint BlockChecksum(ReadOnlySpan<byte> payload, byte kind)
    {
        ReadOnlySpan<byte> kindSpan = [kind];
        return Checksum.Crc32C(payload, kindSpan);
    }

    /// <summary>Writes a block trailer.</summary>
    public static void WriteTrailer(Span<byte> destination, ReadOnlySpan<byte> payload, CompressionKind kind)
    {
        destination[0] = (byte)kind;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[1..], BlockChecksum(payload, (byte)kind));
    }

    /// <summary>Encodes a footer.</summary>
    public static void WriteFooter(Span<byte> destination, BlockHandle filter, BlockHandle index, BlockHandle properties)
    {
        WriteHandle(destination, filter);
        WriteHandle(destination[12..], index);
        WriteHandle(destination[24..], properties);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[36..], FormatVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[40..], Checksum.Crc32C(destination[..40]));
        BinaryPrimitives.WriteUInt64LittleEndian(destination[44..], Magic);
    }

    /// <summary>Decodes and validates a footer read at <paramref name="footerOffset"/>; throws <see cref="CorruptionException"/>.</summary>
    public static void ReadFooter(ReadOnlySpan<byte> footer, string path, long footerOffset, out BlockHandle filter, out BlockHandle index, out BlockHandle properties)
    {
        if (footer.Length != FooterSize)
        {
            ThrowHelper.Corruption(path, footerOffset, "truncated table footer");
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(footer[44..]) != Magic)
        {
            ThrowHelper.Corruption(path, footerOffset + 44, "bad table magic number (not a table or truncated)");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(footer[40..]) != Checksum.Crc32C(footer[..40]))
        {
            ThrowHelper.Corruption(path, footerOffset, "table footer checksum mismatch");
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(footer[36..]);
        if (version != FormatVersion)
        {
            ThrowHelper.Corruption(path, footerOffset + 36, $"unsupported table format version {version}");
        }

        filter = ReadHandle(footer);
        index = ReadHandle(footer[12..]);
        properties = ReadHandle(footer[24..]);
    }

    private static void WriteHandle(Span<byte> destination, BlockHandle handle)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, (ulong)handle.Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], (uint)handle.Size);
    }

    private static BlockHandle ReadHandle(ReadOnlySpan<byte> source) =>
        new((long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(source), long.MaxValue), (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(source[8..]), int.MaxValue));
}
