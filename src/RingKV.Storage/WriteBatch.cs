using System;
using System.Buffers.Binary;
using RingKV.Core.Encoding;
using RingKV.Core.Errors;

namespace RingKV.Storage;

/// <summary>Writes applied atomically and in order: all of them survive a crash, or none.</summary>
/// <remarks>
/// Not thread-safe. Reusable after <see cref="Clear"/>. Encoding of each operation:
/// <code>| op (1) | key length (varint) | key | [value length (varint) | value] |</code>
/// where op is 1 put, 2 put with expiry (value starts with 8 bytes LE expiry Unix ms), 0 delete (no value), 3 merge.
/// </remarks>
public sealed class WriteBatch
{
    internal const byte OpDelete = 0;
    internal const byte OpPut = 1;
    internal const byte OpPutWithExpiry = 2;
    internal const byte OpMerge = 3;

    private byte[] _buffer;
    private int _length;

    /// <summary>Creates an empty batch.</summary>
    public WriteBatch(int initialCapacity = 256)
    {
        _buffer = new byte[Math.Max(16, initialCapacity)];
    }

    /// <summary>Operations in the batch.</summary>
    public int Count { get; private set; }

    /// <summary>Encoded size in bytes.</summary>
    public int ByteSize => _length;

    /// <summary>Bytes the batch can hold before it grows.</summary>
    public int Capacity => _buffer.Length;

    /// <summary>True when any operation is a merge.</summary>
    internal bool HasMerges { get; private set; }

    internal ReadOnlySpan<byte> Encoded => _buffer.AsSpan(0, _length);

    /// <summary>Adds a put.</summary>
    public WriteBatch Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        Add(OpPut, key, value, hasValue: true, expiryUnixMs: 0);
        return this;
    }

    /// <summary>Adds a put that expires at <paramref name="expiresAt"/>.</summary>
    public WriteBatch Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, DateTimeOffset expiresAt)
    {
        Add(OpPutWithExpiry, key, value, hasValue: true, expiryUnixMs: expiresAt.ToUnixTimeMilliseconds());
        return this;
    }

    /// <summary>Adds a delete.</summary>
    public WriteBatch Delete(ReadOnlySpan<byte> key)
    {
        Add(OpDelete, key, default, hasValue: false, expiryUnixMs: 0);
        return this;
    }

    /// <summary>Adds a merge of <paramref name="operand"/> into the stored value through the engine's merge hook.</summary>
    public WriteBatch Merge(ReadOnlySpan<byte> key, ReadOnlySpan<byte> operand)
    {
        Add(OpMerge, key, operand, hasValue: true, expiryUnixMs: 0);
        HasMerges = true;
        return this;
    }

    /// <summary>Empties the batch for reuse.</summary>
    public void Clear()
    {
        _length = 0;
        Count = 0;
        HasMerges = false;
    }

    private void Add(byte op, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool hasValue, long expiryUnixMs)
    {
        if (key.IsEmpty)
        {
            ThrowHelper.InvalidArgument("keys must not be empty");
        }

        var valueLength = value.Length + (op == OpPutWithExpiry ? 8 : 0);
        var need = 1 + Varint.MaxLength32 + key.Length + (hasValue ? Varint.MaxLength32 + valueLength : 0);
        Ensure(need);
        var span = _buffer.AsSpan(_length);
        var n = 0;
        span[n++] = op;
        n += Varint.Write(span[n..], (uint)key.Length);
        key.CopyTo(span[n..]);
        n += key.Length;
        if (hasValue)
        {
            n += Varint.Write(span[n..], (uint)valueLength);
            if (op == OpPutWithExpiry)
            {
                BinaryPrimitives.WriteInt64LittleEndian(span[n..], expiryUnixMs);
                n += 8;
            }

            value.CopyTo(span[n..]);
            n += value.Length;
        }

        _length += n;
        Count++;
    }

    private void Ensure(int extra)
    {
        if (_length + extra <= _buffer.Length)
        {
            return;
        }

        var size = Math.Max(_buffer.Length * 2, _length + extra);
        Array.Resize(ref _buffer, size);
    }
}
