using System;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using RingKV.Core.Encoding;
using RingKV.Core.Errors;
using RingKV.Storage.Keys;

namespace RingKV.Storage.Tables;

/// <summary>A cursor over one <see cref="Block"/>; reconstructs prefix-compressed keys into a reusable buffer.</summary>
/// <remarks>
/// Not thread-safe. Reusable over other blocks through <see cref="Reset"/>, so hot paths keep one per thread.
/// Every varint and length is checked against the entry area; damage throws <see cref="CorruptionException"/>, never
/// <see cref="IndexOutOfRangeException"/>.
/// </remarks>
internal sealed class BlockIterator : IInternalIterator
{
    private Block? _block;
    private byte[] _key = new byte[128];
    private int _keyLength;
    private int _next;
    private int _valueOffset;
    private int _valueLength;
    private bool _valid;

    /// <summary>Creates an iterator over <paramref name="block"/>, or a detached one.</summary>
    public BlockIterator(Block? block = null) => _block = block;

    /// <inheritdoc/>
    public bool Valid => _valid;

    /// <inheritdoc/>
    public ReadOnlySpan<byte> Key
    {
        get
        {
            Debug.Assert(_valid);
            return _key.AsSpan(0, _keyLength);
        }
    }

    /// <inheritdoc/>
    public ReadOnlySpan<byte> Value
    {
        get
        {
            Debug.Assert(_valid);
            return _block!.Data.AsSpan(_valueOffset, _valueLength);
        }
    }

    /// <summary>The block positioned in, if any.</summary>
    public Block? Block => _block;

    /// <summary>Offset of the current value in <see cref="Block"/>.Data. Requires: <see cref="Valid"/>.</summary>
    public int ValueOffset => _valueOffset;

    /// <summary>Length of the current value. Requires: <see cref="Valid"/>.</summary>
    public int ValueLength => _valueLength;

    /// <summary>Moves to another block (or none), unpositioned.</summary>
    public void Reset(Block? block)
    {
        _block = block;
        _valid = false;
        _keyLength = 0;
    }

    /// <inheritdoc/>
    public void SeekToFirst()
    {
        var block = RequireBlock();
        _keyLength = 0;
        ParseAt(block, 0);
    }

    /// <inheritdoc/>
    public void Seek(ReadOnlySpan<byte> internalKey)
    {
        var block = RequireBlock();
        if (block.RestartCount == 0)
        {
            _valid = false;
            return;
        }

        // Binary search for the last restart point whose key is < target; keys at restart points are stored whole.
        int left = 0, right = block.RestartCount - 1;
        while (left < right)
        {
            var mid = (left + right + 1) >>> 1;
            var keyAtRestart = RestartKey(block, mid);
            if (InternalKey.Compare(keyAtRestart, internalKey) < 0)
            {
                left = mid;
            }
            else
            {
                right = mid - 1;
            }
        }

        _keyLength = 0;
        ParseAt(block, block.RestartAt(left));
        while (_valid && InternalKey.Compare(Key, internalKey) < 0)
        {
            ParseAt(block, _next);
        }
    }

    /// <inheritdoc/>
    public void Next()
    {
        Debug.Assert(_valid);
        ParseAt(_block!, _next);
    }

    /// <inheritdoc/>
    public void Dispose() => Reset(null);

    private Block RequireBlock()
    {
        if (_block is null)
        {
            throw new InvalidOperationException("the iterator has no block");
        }

        return _block;
    }

    /// <summary>Decodes the entry at <paramref name="offset"/> on top of the current key; invalid at the end of entries.</summary>
    private void ParseAt(Block block, int offset)
    {
        if (offset >= block.RestartsOffset)
        {
            _valid = false;
            return;
        }

        var entries = block.Data.AsSpan(0, block.RestartsOffset);
        var p = offset;
        if (!Varint.TryRead32(entries[p..], out var shared, out var n))
        {
            Corrupt(block, offset, "bad shared length");
        }

        p += n;
        if (!Varint.TryRead32(entries[p..], out var unshared, out n))
        {
            Corrupt(block, offset, "bad unshared length");
        }

        p += n;
        if (!Varint.TryRead32(entries[p..], out var valueLength, out n))
        {
            Corrupt(block, offset, "bad value length");
        }

        p += n;
        if (shared > (uint)_keyLength)
        {
            Corrupt(block, offset, $"shared prefix {shared} longer than previous key {_keyLength}");
        }

        if ((ulong)unshared + valueLength > (ulong)(entries.Length - p))
        {
            Corrupt(block, offset, "entry overruns block");
        }

        var keyLength = (int)(shared + unshared);
        if (keyLength < InternalKey.TrailerSize)
        {
            Corrupt(block, offset, $"key of {keyLength} bytes is shorter than a trailer");
        }

        if (_key.Length < keyLength)
        {
            var grown = new byte[Math.Max(keyLength, _key.Length * 2)];
            _key.AsSpan(0, (int)shared).CopyTo(grown);
            _key = grown;
        }

        entries.Slice(p, (int)unshared).CopyTo(_key.AsSpan((int)shared));
        _keyLength = keyLength;
        _valueOffset = p + (int)unshared;
        _valueLength = (int)valueLength;
        _next = _valueOffset + _valueLength;
        _valid = true;
    }

    private static ReadOnlySpan<byte> RestartKey(Block block, int index)
    {
        var offset = block.RestartAt(index);
        var entries = block.Data.AsSpan(0, block.RestartsOffset);
        var p = offset;
        if (!Varint.TryRead32(entries[p..], out var shared, out var n) || shared != 0)
        {
            Corrupt(block, offset, "restart entry has a shared prefix or a bad length");
        }

        p += n;
        if (!Varint.TryRead32(entries[p..], out var unshared, out n))
        {
            Corrupt(block, offset, "bad unshared length");
        }

        p += n;
        if (!Varint.TryRead32(entries[p..], out _, out n))
        {
            Corrupt(block, offset, "bad value length");
        }

        p += n;
        if (unshared > (uint)(entries.Length - p) || unshared < InternalKey.TrailerSize)
        {
            Corrupt(block, offset, "restart key overruns block");
        }

        return entries.Slice(p, (int)unshared);
    }

    [DoesNotReturn]
    private static void Corrupt(Block block, int offsetInBlock, string what) =>
        ThrowHelper.Corruption(block.Path, block.Offset, $"{what} (entry at byte {offsetInBlock} of the block)");
}
