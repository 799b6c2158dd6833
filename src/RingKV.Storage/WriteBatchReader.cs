using System;
using System.Buffers.Binary;
using RingKV.Core.Encoding;
using RingKV.Core.Errors;

namespace RingKV.Storage;

/// <summary>Reads the operations of an encoded <see cref="WriteBatch"/>, or of a write group read back from the commit log.</summary>
/// <remarks>
/// The one decoder of the batch encoding (see <see cref="WriteBatch"/>). Bytes from the log may be damaged: an
/// operation cut short, or an unknown op code, throws <see cref="CorruptionException"/> naming <c>source</c>; it never
/// reads past the end.
/// </remarks>
internal ref struct WriteBatchReader
{
    private readonly ReadOnlySpan<byte> _ops;
    private readonly string _source;
    private int _at;

    /// <summary>Reads <paramref name="ops"/>; damage is reported as coming from <paramref name="source"/>.</summary>
    public WriteBatchReader(ReadOnlySpan<byte> ops, string source = "write batch")
    {
        _ops = ops;
        _source = source;
        _at = 0;
    }

    /// <summary>Where the next operation starts.</summary>
    public readonly int Offset => _at;

    /// <summary>
    /// Moves to the next operation: its op code, key, and value as stored (for <see cref="WriteBatch.OpPutWithExpiry"/>
    /// the 8-byte expiry first; empty for a delete). False at the end.
    /// </summary>
    public bool TryRead(out byte op, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        key = default;
        value = default;
        op = 0;
        if (_at >= _ops.Length)
        {
            return false;
        }

        op = _ops[_at++];
        if (op > WriteBatch.OpMerge)
        {
            throw new CorruptionException(_source, _at - 1, $"unknown write operation {op}");
        }

        if (!Varint.TryRead32(_ops[_at..], out var keyLength, out var n) || keyLength > _ops.Length - _at - n)
        {
            throw new CorruptionException(_source, _at, "write operation cut short");
        }

        _at += n;
        key = _ops.Slice(_at, (int)keyLength);
        _at += (int)keyLength;
        if (op == WriteBatch.OpDelete)
        {
            return true;
        }

        if (!Varint.TryRead32(_ops[_at..], out var valueLength, out n) || valueLength > _ops.Length - _at - n
            || (op == WriteBatch.OpPutWithExpiry && valueLength < 8))
        {
            throw new CorruptionException(_source, _at, "write value cut short");
        }

        _at += n;
        value = _ops.Slice(_at, (int)valueLength);
        _at += (int)valueLength;
        return true;
    }

    /// <summary>The expiry of a <see cref="WriteBatch.OpPutWithExpiry"/> value as stored, in Unix milliseconds.</summary>
    public static long ExpiryOf(ReadOnlySpan<byte> storedValue) => BinaryPrimitives.ReadInt64LittleEndian(storedValue);
}
