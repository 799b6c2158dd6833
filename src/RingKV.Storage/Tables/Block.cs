using System;
using System.Buffers.Binary;
using RingKV.Core.Errors;
using RingKV.Storage.Cache;

namespace RingKV.Storage.Tables;

/// <summary>An immutable parsed block (see <see cref="BlockBuilder"/> for the layout) over a byte array.</summary>
/// <remarks>
/// Thread-safe (immutable); many iterators may read one block. The restart array is validated here, entries while
/// iterating; damage throws <see cref="CorruptionException"/> naming <see cref="Path"/> and <see cref="Offset"/>.
/// </remarks>
internal sealed class Block : ICacheable
{
    /// <summary>Parses the first <paramref name="length"/> bytes of <paramref name="data"/>, read from <paramref name="path"/> at <paramref name="offset"/>.</summary>
    public Block(byte[] data, int length, string path, long offset)
    {
        Data = data;
        Length = length;
        Path = path;
        Offset = offset;
        if (length < 4 || length > data.Length)
        {
            ThrowHelper.Corruption(path, offset, $"block of {length} bytes is too short");
        }

        var count = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(length - 4));
        if (count > (uint)(length - 4) / 4)
        {
            ThrowHelper.Corruption(path, offset, $"block restart count {count} does not fit in {length} bytes");
        }

        RestartCount = (int)count;
        RestartsOffset = length - 4 - (RestartCount * 4);
        if (RestartCount == 0 && RestartsOffset != 0)
        {
            ThrowHelper.Corruption(path, offset, "block has entries but no restart point");
        }

        // NOTE: an empty block (no entries) still has restart point 0, as BlockBuilder writes it; it points at the end.

        var previous = -1;
        for (var i = 0; i < RestartCount; i++)
        {
            var restart = RestartAt(i);
            if ((i == 0 && restart != 0) || restart <= previous || (restart >= RestartsOffset && RestartsOffset != 0))
            {
                ThrowHelper.Corruption(path, offset, $"block restart point {i} = {restart} is out of order or range");
            }

            previous = restart;
        }
    }

    /// <summary>The bytes; only the first <see cref="Length"/> belong to the block.</summary>
    public byte[] Data { get; }

    /// <summary>Bytes of the block.</summary>
    public int Length { get; }

    /// <summary>The file the block came from (for errors).</summary>
    public string Path { get; }

    /// <summary>The block's offset in <see cref="Path"/> (for errors and the cache key).</summary>
    public long Offset { get; }

    /// <summary>Restart points.</summary>
    public int RestartCount { get; }

    /// <summary>Where the restart array starts: the end of the entries.</summary>
    public int RestartsOffset { get; }

    /// <summary>Memory charged to the block cache for this block.</summary>
    public int ChargeBytes => Data.Length + 96;

    /// <summary>Offset of restart point <paramref name="index"/>. Requires: 0 ≤ index &lt; <see cref="RestartCount"/>.</summary>
    public int RestartAt(int index) => (int)BinaryPrimitives.ReadUInt32LittleEndian(Data.AsSpan(RestartsOffset + (index * 4)));

    /// <summary>A new iterator over the block.</summary>
    public BlockIterator NewIterator() => new(this);
}
