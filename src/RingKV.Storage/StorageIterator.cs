using System;
using System.Buffers.Binary;
using RingKV.Core.Hashing;
using RingKV.Storage.Keys;

namespace RingKV.Storage;

/// <summary>A forward cursor over live records of a token range, pinned to a snapshot.</summary>
/// <remarks>
/// Not thread-safe. Spans are valid until the next <see cref="MoveNext"/>. Dispose to release the pinned
/// tables and snapshot. Hides versions newer than the snapshot, older versions of each key, tombstones
/// and expired records.
/// </remarks>
public sealed class StorageIterator : IDisposable
{
    private readonly IInternalIterator _inner;
    private readonly TokenRange _range;
    private readonly ulong _sequence;
    private readonly TimeProvider _time;
    private readonly Action _release;
    private byte[] _lastKey = new byte[256];
    private int _lastKeyLength = -1;
    private bool _started;
    private bool _positioned;
    private bool _disposed;
    private long _expiry;

    internal StorageIterator(IInternalIterator inner, TokenRange range, ulong sequence, TimeProvider time, Action release)
    {
        _inner = inner;
        _range = range;
        _sequence = sequence;
        _time = time;
        _release = release;
    }

    /// <summary>Advances to the next live record; false at the end of the range.</summary>
    public bool MoveNext()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_started)
        {
            _started = true;
            Span<byte> seek = stackalloc byte[Token.Size + InternalKey.TrailerSize];
            _range.First.Encode(seek);
            InternalKey.Write(seek, seek[..Token.Size], InternalKey.MaxSequence, ValueKind.Seek);
            _inner.Seek(seek);
        }
        else if (_positioned)
        {
            _inner.Next();
        }

        _positioned = false;
        var nowMs = long.MinValue;
        while (_inner.Valid)
        {
            var key = _inner.Key;
            var ordered = InternalKey.Ordered(key);
            if (InternalKey.TokenOf(ordered) > _range.Last)
            {
                return false;
            }

            if (InternalKey.Sequence(key) > _sequence
                || (_lastKeyLength >= 0 && ordered.SequenceEqual(_lastKey.AsSpan(0, _lastKeyLength))))
            {
                _inner.Next(); // newer than the snapshot, or an older version of a key already decided
                continue;
            }

            RememberKey(ordered);
            var kind = InternalKey.Kind(key);
            if (kind == ValueKind.Put)
            {
                _expiry = 0;
                _positioned = true;
                return true;
            }

            if (kind == ValueKind.PutWithExpiry)
            {
                _expiry = BinaryPrimitives.ReadInt64LittleEndian(_inner.Value);
                if (nowMs == long.MinValue)
                {
                    nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
                }

                if (_expiry > nowMs)
                {
                    _positioned = true;
                    return true;
                }
            }

            _inner.Next(); // tombstone or expired
        }

        return false;
    }

    /// <summary>The current record's token.</summary>
    public Token Token => InternalKey.TokenOf(_inner.Key);

    /// <summary>The current record's key.</summary>
    public ReadOnlySpan<byte> Key => InternalKey.UserOfOrdered(InternalKey.Ordered(_inner.Key));

    /// <summary>The current record's value.</summary>
    public ReadOnlySpan<byte> Value => _expiry == 0 ? _inner.Value : _inner.Value[8..];

    /// <summary>The current record's expiry, if it has one.</summary>
    public DateTimeOffset? ExpiresAt => _expiry == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(_expiry);

    /// <summary>Releases what the iterator pins.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _inner.Dispose();
            _release();
        }
    }

    private void RememberKey(ReadOnlySpan<byte> ordered)
    {
        if (_lastKey.Length < ordered.Length)
        {
            _lastKey = new byte[Math.Max(ordered.Length, _lastKey.Length * 2)];
        }

        ordered.CopyTo(_lastKey);
        _lastKeyLength = ordered.Length;
    }
}
