using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Threading;
using RingKV.Core.Errors;
using RingKV.Core.Hashing;
using RingKV.Storage.Keys;
using RingKV.Storage.Versions;
using Version = RingKV.Storage.Versions.Version;

namespace RingKV.Storage;

public sealed partial class StorageEngine
{
    /// <summary>Reads the live value of a key into <paramref name="value"/>; false when absent, deleted or expired.</summary>
    public bool TryGet(ReadOnlySpan<byte> key, IBufferWriter<byte> value) => TryGet(key, value, out _);

    /// <summary>Reads the live value and expiry of a key; false when absent, deleted or expired.</summary>
    public bool TryGet(ReadOnlySpan<byte> key, IBufferWriter<byte> value, out DateTimeOffset? expiresAt)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Lookup(key, value, null, out expiresAt);
    }

    /// <summary>Reads the live value of a key, or null.</summary>
    public byte[]? Get(ReadOnlySpan<byte> key)
    {
        var buffer = new ArrayBufferWriter<byte>();
        return Lookup(key, buffer, null, out _) ? buffer.WrittenSpan.ToArray() : null;
    }

    /// <summary>Reads the live value of a key as of <paramref name="snapshot"/>; false when absent.</summary>
    public bool TryGet(ReadOnlySpan<byte> key, IBufferWriter<byte> value, StorageSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(snapshot);
        return Lookup(key, value, snapshot.Sequence, out _);
    }

    /// <summary>Pins the current state for consistent reads; dispose it when done.</summary>
    public StorageSnapshot GetSnapshot()
    {
        lock (_mutex)
        {
            var sequence = Volatile.Read(ref _lastSequence);
            RegisterSnapshotLocked(sequence);
            return new StorageSnapshot(sequence, ReleaseSnapshot);
        }
    }

    /// <summary>Iterates live records whose token lies in <paramref name="range"/>, in (token, key) order, as of now or of <paramref name="snapshot"/>.</summary>
    public StorageIterator NewIterator(TokenRange range, StorageSnapshot? snapshot = null)
    {
        ThrowIfDisposed();
        var own = snapshot is null ? GetSnapshot() : null;
        var sv = AcquireSuper();
        var children = ChildIterators(sv, fillCache: true);
        var sequence = (snapshot ?? own)!.Sequence;
        return new StorageIterator(new MergingIterator(children), range, sequence, _options.Time, () =>
        {
            sv.Unref();
            own?.Dispose();
        });
    }

    /// <summary>An iterator over every version of every key for each part of <paramref name="sv"/>: the memtables, each level-0 table, each deeper level.</summary>
    private static List<IInternalIterator> ChildIterators(SuperVersion sv, bool fillCache)
    {
        var children = new List<IInternalIterator> { sv.Mem.NewIterator() };
        foreach (var imm in sv.Immutables)
        {
            children.Add(imm.NewIterator());
        }

        foreach (var file in sv.Version.Levels[0])
        {
            children.Add(file.Reader!.NewIterator(fillCache));
        }

        for (var level = 1; level < Version.LevelCount; level++)
        {
            if (sv.Version.Levels[level].Length > 0)
            {
                children.Add(new LevelIterator(sv.Version.Levels[level], fillCache));
            }
        }

        return children;
    }

    private void RegisterSnapshotLocked(ulong sequence)
    {
        _snapshots.TryGetValue(sequence, out var count);
        _snapshots[sequence] = count + 1;
    }

    private void ReleaseSnapshot(StorageSnapshot snapshot)
    {
        lock (_mutex)
        {
            if (_snapshots.TryGetValue(snapshot.Sequence, out var count))
            {
                if (count <= 1)
                {
                    _snapshots.Remove(snapshot.Sequence);
                }
                else
                {
                    _snapshots[snapshot.Sequence] = count - 1;
                }
            }
        }
    }

    /// <summary>The oldest sequence any reader may still need. Requires: _mutex.</summary>
    private ulong SmallestSnapshotLocked()
    {
        foreach (var (sequence, _) in _snapshots)
        {
            return sequence; // sorted: the first is the smallest
        }

        return Volatile.Read(ref _lastSequence);
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            ThrowHelper.Closed();
        }
    }

    /// <summary>The point-read path: memtable, frozen memtables, level 0 newest first, then one table per level.</summary>
    private bool Lookup(ReadOnlySpan<byte> key, IBufferWriter<byte> destination, ulong? atSequence, out DateTimeOffset? expiresAt)
    {
        ThrowIfDisposed();
        expiresAt = null;
        if (key.IsEmpty || key.Length > _options.MaxKeyBytes)
        {
            ThrowHelper.InvalidArgument(key.IsEmpty ? "keys must not be empty" : $"key of {key.Length} bytes exceeds the limit of {_options.MaxKeyBytes} bytes");
        }

        _stats._gets.Increment();
        var sequence = atSequence ?? Volatile.Read(ref _lastSequence);
        var size = key.Length + InternalKey.Overhead;
        byte[]? rented = null;
        var seekKey = size <= 512 ? stackalloc byte[size] : (rented = ArrayPool<byte>.Shared.Rent(size)).AsSpan(0, size);
        var sv = AcquireSuper();
        try
        {
            var orderedLength = InternalKey.WriteOrdered(seekKey, key);
            InternalKey.Write(seekKey, seekKey[..orderedLength], sequence, ValueKind.Seek);
            if (TryFindNewest(sv, seekKey, seekKey[..orderedLength], out var kind, out _, out var value))
            {
                return Deliver(kind, value, destination, out expiresAt);
            }

            return false;
        }
        finally
        {
            sv.Unref();
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// The newest entry of <paramref name="ordered"/>'s key at most the seek key's sequence, whatever its kind: memtable,
    /// frozen memtables, level 0 newest first, then one table per level. The value lives as long as <paramref name="sv"/>.
    /// </summary>
    private static bool TryFindNewest(SuperVersion sv, ReadOnlySpan<byte> seekKey, ReadOnlySpan<byte> ordered, out ValueKind kind, out ulong sequence, out ReadOnlySpan<byte> value)
    {
        if (sv.Mem.TryGet(seekKey, out kind, out sequence, out value))
        {
            return true;
        }

        foreach (var imm in sv.Immutables)
        {
            if (imm.TryGet(seekKey, out kind, out sequence, out value))
            {
                return true;
            }
        }

        var levels = sv.Version.Levels;
        foreach (var file in levels[0])
        {
            if (file.Covers(ordered) && file.Reader!.TryGet(seekKey, out kind, out sequence, out var memory))
            {
                value = memory.Span;
                return true;
            }
        }

        for (var level = 1; level < levels.Length; level++)
        {
            var index = sv.Version.FindFile(level, ordered);
            if (index >= 0 && levels[level][index].Reader!.TryGet(seekKey, out kind, out sequence, out var memory))
            {
                value = memory.Span;
                return true;
            }
        }

        value = default;
        return false;
    }

    private bool Deliver(ValueKind kind, ReadOnlySpan<byte> value, IBufferWriter<byte> destination, out DateTimeOffset? expiresAt)
    {
        expiresAt = null;
        switch (kind)
        {
            case ValueKind.Put:
                break;
            case ValueKind.PutWithExpiry:
                var expiry = BinaryPrimitives.ReadInt64LittleEndian(value);
                if (expiry <= _options.Time.GetUtcNow().ToUnixTimeMilliseconds())
                {
                    return false;
                }

                expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(expiry);
                value = value[8..];
                break;
            default:
                return false;
        }

        _stats._getHits.Increment();
        destination.Write(value);
        return true;
    }
}
