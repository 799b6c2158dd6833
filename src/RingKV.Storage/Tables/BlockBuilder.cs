using System;
using System.Buffers.Binary;
using System.Diagnostics;
using RingKV.Core.Encoding;
using RingKV.Storage.Keys;

namespace RingKV.Storage.Tables;

/// <summary>Builds one data or index block with prefix-compressed keys and restart points.</summary>
/// <remarks>
/// Not thread-safe. Reusable through <see cref="Reset"/>; no allocation per entry once the buffers have grown.
/// <code>
/// entry:   | shared varint32 | unshared varint32 | value length varint32 | key delta (unshared) | value |
/// block:   | entry ... | restart offset u32 LE ... | restart count u32 LE |
/// </code>
/// Invariants: (1) keys strictly increase in <see cref="InternalKey.Compare"/> order; (2) every
/// <see cref="RestartInterval"/>-th entry, starting with the first, has shared = 0 and its offset in the restart array.
/// </remarks>
internal sealed class BlockBuilder
{
    private byte[] _buffer = new byte[4096];
    private int _length;
    private int[] _restarts = new int[64];
    private int _restartCount;
    private int _sinceRestart;
    private byte[] _lastKey = new byte[256];
    private int _lastKeyLength;
    private bool _finished;

    /// <summary>Creates a builder. Requires: <paramref name="restartInterval"/> ≥ 1.</summary>
    public BlockBuilder(int restartInterval)
    {
        if (restartInterval < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(restartInterval), restartInterval, "restart interval must be at least 1");
        }

        RestartInterval = restartInterval;
        Reset();
    }

    /// <summary>Entries between restart points.</summary>
    public int RestartInterval { get; }

    /// <summary>Entries added since the last reset.</summary>
    public int Count { get; private set; }

    /// <summary>True when no entry was added since the last reset.</summary>
    public bool IsEmpty => Count == 0;

    /// <summary>Size of the block if finished now.</summary>
    public int EstimatedSize => _length + (_restartCount * 4) + 4;

    /// <summary>The last key added. Requires: not <see cref="IsEmpty"/>.</summary>
    public ReadOnlySpan<byte> LastKey => _lastKey.AsSpan(0, _lastKeyLength);

    /// <summary>Forgets all entries.</summary>
    public void Reset()
    {
        _length = 0;
        _restarts[0] = 0;
        _restartCount = 1;
        _sinceRestart = 0;
        _lastKeyLength = 0;
        Count = 0;
        _finished = false;
    }

    /// <summary>Appends an entry. Requires: <paramref name="key"/> sorts after <see cref="LastKey"/>; not finished.</summary>
    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        Debug.Assert(!_finished);
        Debug.Assert(key.Length >= InternalKey.TrailerSize);
        Debug.Assert(Count == 0 || InternalKey.Compare(LastKey, key) < 0, "keys must strictly increase");

        var shared = 0;
        if (_sinceRestart < RestartInterval)
        {
            shared = key.CommonPrefixLength(LastKey);
        }
        else
        {
            if (_restartCount == _restarts.Length)
            {
                Array.Resize(ref _restarts, _restarts.Length * 2);
            }

            _restarts[_restartCount++] = _length;
            _sinceRestart = 0;
        }

        var unshared = key.Length - shared;
        EnsureCapacity((Varint.MaxLength32 * 3) + unshared + value.Length);
        var span = _buffer.AsSpan();
        _length += Varint.Write(span[_length..], (uint)shared);
        _length += Varint.Write(span[_length..], (uint)unshared);
        _length += Varint.Write(span[_length..], (uint)value.Length);
        key[shared..].CopyTo(span[_length..]);
        _length += unshared;
        value.CopyTo(span[_length..]);
        _length += value.Length;

        if (_lastKey.Length < key.Length)
        {
            _lastKey = new byte[Math.Max(key.Length, _lastKey.Length * 2)];
        }

        key.CopyTo(_lastKey);
        _lastKeyLength = key.Length;
        _sinceRestart++;
        Count++;
    }

    /// <summary>Appends the restart array; the returned bytes are valid until <see cref="Reset"/>.</summary>
    public ReadOnlySpan<byte> Finish()
    {
        if (!_finished)
        {
            EnsureCapacity((_restartCount * 4) + 4);
            for (var i = 0; i < _restartCount; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_length), (uint)_restarts[i]);
                _length += 4;
            }

            BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_length), (uint)_restartCount);
            _length += 4;
            _finished = true;
        }

        return _buffer.AsSpan(0, _length);
    }

    private void EnsureCapacity(int extra)
    {
        var needed = (long)_length + extra;
        if (needed > _buffer.Length)
        {
            Array.Resize(ref _buffer, (int)Math.Min(Array.MaxLength, Math.Max(needed, _buffer.Length * 2L)));
        }
    }
}
