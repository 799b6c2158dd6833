using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Core.Encoding;
using RingKV.Core.Errors;
using RingKV.Storage.Commit;
using RingKV.Storage.Engine;
using RingKV.Storage.Keys;
using RingKV.Storage.Log;
using RingKV.Storage.Memtables;
using RingKV.Storage.Stats;

namespace RingKV.Storage;

public sealed partial class StorageEngine : ICommitTarget
{
    /// <summary>Unsynced log bytes at which the periodic syncer runs before its period is up.</summary>
    internal const long EagerSyncBytes = CommitPipeline.EagerSyncBytes;

    [ThreadStatic]
    private static WriteBatch? s_batch;

    // Owned by the current write leader only (see CommitPipeline).
    private byte[] _record = new byte[64 * 1024];
    private byte[] _keyScratch = new byte[1024];
    private ulong[] _tokenScratch = new ulong[256];

    /// <summary>Stores a value.</summary>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var batch = RentBatch();
        batch.Put(key, value);
        Write(batch);
    }

    /// <summary>Stores a value that expires at <paramref name="expiresAt"/>.</summary>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, DateTimeOffset expiresAt)
    {
        var batch = RentBatch();
        batch.Put(key, value, expiresAt);
        Write(batch);
    }

    /// <summary>Deletes a key (writes a tombstone).</summary>
    public void Delete(ReadOnlySpan<byte> key)
    {
        var batch = RentBatch();
        batch.Delete(key);
        Write(batch);
    }

    /// <summary>Merges an operand into the stored value through <see cref="StorageOptions.MergeOperator"/>.</summary>
    public void Merge(ReadOnlySpan<byte> key, ReadOnlySpan<byte> operand)
    {
        var batch = RentBatch();
        batch.Merge(key, operand);
        Write(batch);
    }

    /// <summary>Applies a batch atomically; returns once it is durable as the sync policy says. Parks the calling thread meanwhile.</summary>
    public void Write(WriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }

        CheckLimits(batch);
        _commits.Commit(CommitKind.Write, batch);
    }

    /// <summary>
    /// Applies a batch atomically without parking the caller; the task completes once the batch is durable as the sync
    /// policy says (and visible to reads). Completes synchronously in the common case of a periodic or no sync policy.
    /// </summary>
    /// <remarks>
    /// Requires: <paramref name="batch"/> unchanged until the task completes. An asynchronous write never waits for an
    /// fsync or a write stall on the caller's thread: those groups are led by the engine's commit thread, and the
    /// continuation runs on the thread pool. Invalid batches throw here, before anything is queued.
    /// </remarks>
    public ValueTask WriteAsync(WriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return default;
        }

        CheckLimits(batch);
        return _commits.CommitAsync(batch);
    }

    /// <summary>Makes every acknowledged write durable now, whatever the sync policy.</summary>
    public void SyncLog() => _commits.Commit(CommitKind.Sync, null);

    /// <summary>Flushes the memtable to a table and waits for every frozen memtable to be on disk.</summary>
    public void Flush()
    {
        _commits.Commit(CommitKind.Flush, null);
        lock (_mutex)
        {
            while (_immutables.Count > 0 && _backgroundError is null)
            {
                Monitor.Wait(_mutex);
            }

            ThrowIfBackgroundErrorLocked();
        }
    }

    private static WriteBatch RentBatch()
    {
        var batch = s_batch ??= new WriteBatch(1024);
        batch.Clear();
        return batch;
    }

    private void CheckLimits(WriteBatch batch)
    {
        var reader = new WriteBatchReader(batch.Encoded);
        while (reader.TryRead(out var op, out var key, out var value))
        {
            if (key.Length > _options.MaxKeyBytes)
            {
                ThrowHelper.InvalidArgument($"key of {key.Length} bytes exceeds the limit of {_options.MaxKeyBytes} bytes");
            }

            var userLength = value.Length - (op == WriteBatch.OpPutWithExpiry ? 8 : 0);
            if (userLength > _options.MaxValueBytes)
            {
                ThrowHelper.InvalidArgument($"value of {userLength} bytes exceeds the limit of {_options.MaxValueBytes} bytes");
            }
        }

        if (batch.HasMerges && _options.MergeOperator is null)
        {
            ThrowHelper.InvalidArgument("Merge needs StorageOptions.MergeOperator");
        }
    }

    bool ICommitTarget.TryPrepare(bool force, bool canWait, out CommitSlot slot)
    {
        lock (_mutex)
        {
            ThrowIfBackgroundErrorLocked();
            if (!MakeRoomForWriteLocked(force, canWait))
            {
                slot = default;
                return false;
            }

            slot = new CommitSlot(_lastSequence + 1, _mem, _log);
            return true;
        }
    }

    Span<byte> ICommitTarget.Encode(in CommitSlot slot, List<CommitRequest> group, int operations) =>
        EncodeGroup(slot.FirstSequence, operations, group);

    void ICommitTarget.Apply(in CommitSlot slot, ReadOnlySpan<byte> payload, int operations)
    {
        ApplyToMemtable(slot.Memtable, payload);
        // Only the leader writes it; readers and snapshots read it without the lock, after the inserts it covers.
        Volatile.Write(ref _lastSequence, slot.FirstSequence + (ulong)operations - 1);
    }

    void ICommitTarget.Fail(Exception error)
    {
        lock (_mutex)
        {
            SetBackgroundErrorLocked(error);
        }
    }

    CommitLogWriter? ICommitTarget.LogToSync()
    {
        lock (_mutex)
        {
            return _closing || _backgroundError is not null || !_log.HasUnsynced ? null : _log;
        }
    }

    /// <summary>Encodes the group's operations into <see cref="_record"/> after the log header; resolves merges.</summary>
    private Span<byte> EncodeGroup(ulong firstSequence, int count, List<CommitRequest> group)
    {
        var size = LogFormat.HeaderSize + LogFormat.GroupHeaderSize;
        foreach (var w in group)
        {
            size += w.ByteSize;
        }

        EnsureRecord(size);
        var header = _record.AsSpan(LogFormat.HeaderSize);
        BinaryPrimitives.WriteUInt64LittleEndian(header, firstSequence);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], count);
        BinaryPrimitives.WriteInt64LittleEndian(header[12..], _options.Time.GetUtcNow().ToUnixTimeMilliseconds());
        var at = LogFormat.HeaderSize + LogFormat.GroupHeaderSize;
        var anyMerge = false;
        foreach (var w in group)
        {
            anyMerge |= w.Batch is { HasMerges: true };
        }

        // A merge must see the writes before it in this group, which are not in the memtable yet: when
        // any batch merges, every batch goes through the overlay. Plain groups never pay for it.
        var overlay = anyMerge ? new Dictionary<string, byte[]?>(StringComparer.Ordinal) : null;
        foreach (var w in group)
        {
            if (w.Batch is null)
            {
                continue;
            }

            if (overlay is null)
            {
                w.Batch.Encoded.CopyTo(_record.AsSpan(at));
                at += w.Batch.ByteSize;
            }
            else
            {
                at = EncodeWithMerges(w.Batch, at, overlay);
            }
        }

        return _record.AsSpan(0, at);
    }

    /// <summary>Re-encodes a batch with each merge replaced by a put of the merged value.</summary>
    private int EncodeWithMerges(WriteBatch batch, int at, Dictionary<string, byte[]?> overlay)
    {
        var reader = new WriteBatchReader(batch.Encoded);
        var merger = _options.MergeOperator!;
        var result = new ArrayBufferWriter<byte>();
        var start = 0;
        while (reader.TryRead(out var op, out var key, out var value))
        {
            var operation = batch.Encoded[start..reader.Offset];
            start = reader.Offset;
            var overlayKey = Convert.ToBase64String(key);
            if (op != WriteBatch.OpMerge)
            {
                overlay[overlayKey] = op == WriteBatch.OpDelete ? null : op == WriteBatch.OpPutWithExpiry ? value[8..].ToArray() : value.ToArray();
                at = Append(operation, at);
                continue;
            }

            // Merge: existing value from earlier in this group, else from the engine as of now.
            byte[]? existing;
            if (!overlay.TryGetValue(overlayKey, out existing))
            {
                existing = Get(key);
            }

            result.Clear();
            merger.Merge(key, existing is not null, existing, value, result);
            var merged = result.WrittenSpan;
            overlay[overlayKey] = merged.ToArray();
            StorageStatistics.Increment(ref _stats._merges);

            var need = 1 + Varint.MaxLength32 + key.Length + Varint.MaxLength32 + merged.Length;
            EnsureRecord(at + need + (batch.ByteSize - reader.Offset));
            var dest = _record.AsSpan(at);
            var w = 0;
            dest[w++] = WriteBatch.OpPut;
            w += Varint.Write(dest[w..], (uint)key.Length);
            key.CopyTo(dest[w..]);
            w += key.Length;
            w += Varint.Write(dest[w..], (uint)merged.Length);
            merged.CopyTo(dest[w..]);
            at += w + merged.Length;
        }

        return at;
    }

    private int Append(ReadOnlySpan<byte> bytes, int at)
    {
        EnsureRecord(at + bytes.Length);
        bytes.CopyTo(_record.AsSpan(at));
        return at + bytes.Length;
    }

    private void EnsureRecord(int size)
    {
        if (size > _record.Length)
        {
            Array.Resize(ref _record, Math.Max(size, _record.Length * 2));
        }
    }

    /// <summary>Inserts the operations of one write group (log payload) into a memtable.</summary>
    /// <remarks>
    /// Two passes over a group of several keys: the first hashes every key and starts loading what its insert reads
    /// first (<see cref="Memtable.Prefetch"/>, then the bucket's first node), the second inserts. An insert into a
    /// memtable of tens of MiB is a few dependent cache misses; prefetched, a group's misses overlap.
    /// </remarks>
    private void ApplyToMemtable(Memtable mem, ReadOnlySpan<byte> payload)
    {
        var sequence = BinaryPrimitives.ReadUInt64LittleEndian(payload);
        var count = BinaryPrimitives.ReadInt32LittleEndian(payload[8..]);
        var time = payload.Slice(12, 8);
        var ops = payload[LogFormat.GroupHeaderSize..];
        var tokens = count > 1 ? PrefetchGroup(mem, ops, count) : null;
        var reader = new WriteBatchReader(ops, "commit log");
        long puts = 0, deletes = 0;
        for (var i = 0; i < count; i++, sequence++)
        {
            if (!reader.TryRead(out var op, out var key, out var value))
            {
                throw new CorruptionException("commit log", -1, $"write group of {count} operations ends after {i}");
            }

            ValueKind kind;
            if (op == WriteBatch.OpDelete)
            {
                kind = ValueKind.Delete;
                value = time;
                deletes++;
            }
            else
            {
                kind = op == WriteBatch.OpPutWithExpiry ? ValueKind.PutWithExpiry : ValueKind.Put;
                puts++;
            }

            var keySize = key.Length + InternalKey.Overhead;
            if (_keyScratch.Length < keySize)
            {
                _keyScratch = new byte[Math.Max(keySize, _keyScratch.Length * 2)];
            }

            var internalKey = _keyScratch.AsSpan(0, keySize);
            InternalKey.WriteOrdered(internalKey, key, tokens is not null ? new Core.Hashing.Token(tokens[i]) : Core.Hashing.Token.Of(key));
            InternalKey.Write(internalKey, internalKey[..(key.Length + InternalKey.OrderedOverhead)], sequence, kind);
            mem.Add(internalKey, value);
        }

        StorageStatistics.Add(ref _stats._puts, puts);
        StorageStatistics.Add(ref _stats._deletes, deletes);
    }

    /// <summary>
    /// The tokens of a group's keys (in <see cref="_tokenScratch"/>), with their memtable reads started: heads and index
    /// slots for all, then each bucket's first node.
    /// </summary>
    private ulong[] PrefetchGroup(Memtable mem, ReadOnlySpan<byte> ops, int count)
    {
        if (_tokenScratch.Length < count)
        {
            _tokenScratch = new ulong[Math.Max(count, _tokenScratch.Length * 2)];
        }

        var tokens = _tokenScratch;
        var reader = new WriteBatchReader(ops, "commit log");
        for (var i = 0; i < count; i++)
        {
            if (!reader.TryRead(out _, out var key, out _))
            {
                throw new CorruptionException("commit log", -1, $"write group of {count} operations ends after {i}");
            }

            tokens[i] = Core.Hashing.Token.Of(key).Value;
            mem.Prefetch(tokens[i]);
        }

        for (var i = 0; i < count; i++)
        {
            mem.PrefetchFirstNode(tokens[i]);
        }

        return tokens;
    }

    /// <summary>
    /// Ensures the memtable has room, stalling or switching memtables as needed. With <paramref name="canWait"/> false,
    /// returns false instead of waiting or creating a file (the commit thread then leads the group). Requires: _mutex, leader.
    /// </summary>
    private bool MakeRoomForWriteLocked(bool force, bool canWait)
    {
        var allowDelay = !force;
        while (true)
        {
            ThrowIfBackgroundErrorLocked();
            var level0 = _current.Levels[0].Length;
            if (allowDelay && level0 >= _options.Level0SlowdownTrigger)
            {
                if (!canWait)
                {
                    return false;
                }

                // Soft limit: give compaction a millisecond per write rather than stopping writes later.
                allowDelay = false;
                StorageStatistics.Increment(ref _stats._writeSlowdowns);
                Monitor.Wait(_mutex, 1);
            }
            else if (!force && _mem.UsedBytes < _memtableBytes)
            {
                if (_log.Length >= _options.LogSegmentBytes)
                {
                    if (!canWait)
                    {
                        return false;
                    }

                    SwitchLogLocked();
                }

                return true;
            }
            else if (force && _mem.Count == 0)
            {
                return true;
            }
            else if (!canWait)
            {
                return false;
            }
            else if (_immutables.Count >= MaxImmutables || level0 >= _options.Level0StopTrigger)
            {
                StorageStatistics.Increment(ref _stats._writeStalls);
                var started = Stopwatch.GetTimestamp();
                MaybeScheduleCompactionLocked();
                Monitor.Wait(_mutex, 100);
                StorageStatistics.Add(ref _stats._writeStallMicros, (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
            else
            {
                SwitchLogLocked();
                _immutables.Add(_mem);
                _mem = new Memtable(_memtableBytes, _log.Number);
                InstallSuperVersionLocked();
                _flushSignal.Set();
                force = false;
            }
        }
    }

    /// <summary>Starts a new commit-log segment. Requires: _mutex, leader.</summary>
    private void SwitchLogLocked()
    {
        var number = _nextFileNumber++;
        var file = _fs.Create(FileNames.Log(_directory, number));
        _fs.SyncDirectory(_directory); // the new segment's name must survive a power loss with its records
        var old = _log;
        _log = new CommitLogWriter(file, number);
        old.Dispose(); // syncs what the old segment holds, so a power loss cannot leave a gap behind the new one
    }

    /// <summary>Whether the commit log holds records not yet fsynced (tests wait on the periodic syncer with it).</summary>
    internal bool HasUnsyncedLog
    {
        get
        {
            lock (_mutex)
            {
                return _log.HasUnsynced;
            }
        }
    }
}
