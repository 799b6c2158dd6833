using System;
using RingKV.Core.Encoding;

namespace RingKV.Storage.Tables;

/// <summary>Where a block is stored in a table file: offset and size of its stored payload, without the trailer.</summary>
/// <remarks>Encoded as <c>| offset varint64 | size varint64 |</c> in index entries.</remarks>
internal readonly record struct BlockHandle(long Offset, int Size)
{
    /// <summary>Most bytes <see cref="Encode"/> writes.</summary>
    public const int MaxEncodedLength = Varint.MaxLength64 * 2;

    /// <summary>Writes the handle; returns bytes written. Requires: room for <see cref="MaxEncodedLength"/> bytes.</summary>
    public int Encode(Span<byte> destination)
    {
        var n = Varint.Write(destination, (ulong)Offset);
        return n + Varint.Write(destination[n..], (ulong)(uint)Size);
    }

    /// <summary>Reads a handle; false on truncated or out-of-range fields, never throws.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> source, out BlockHandle handle, out int length)
    {
        handle = default;
        length = 0;
        if (!Varint.TryRead(source, out var offset, out var n1) || offset > long.MaxValue)
        {
            return false;
        }

        if (!Varint.TryRead(source[n1..], out var size, out var n2) || size > int.MaxValue)
        {
            return false;
        }

        handle = new BlockHandle((long)offset, (int)size);
        length = n1 + n2;
        return true;
    }
}
