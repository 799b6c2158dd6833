using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using RingKV.Core.Encoding;
using RingKV.Core.Errors;
using RingKV.Storage.Engine;
using RingKV.Storage.Keys;
using RingKV.Storage.Log;
using RingKV.Storage.Memtables;
using RingKV.Storage.Stats;

namespace RingKV.Storage;

public sealed partial class StorageEngine
{
    /// <summary>Largest write group, so one leader does not hold others for long.</summary>
    private const int MaxGroupBytes = 1 << 20;

    /// <summary>Unsynced log bytes at which the periodic syncer runs before its period is up (see <see cref="SyncLoop"/>).</summary>
    internal const long EagerSyncBytes = 4L << 20;

    [ThreadStatic]
    private static Writer? s_writer;

    [ThreadStatic]
    private static WriteBatch? s_batch;

    // Owned by the current write leader only.
    private byte[] _record = new byte[64 * 1024];
    private byte[] _keyScratch = new byte[1024];
    private ulong[] _tokenScratch = new ulong[256];
    private readonly List<Writer> _group = [];

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

    /// <summary>Applies a batch atomically; returns once it is durable as the sync policy says.</summary>
    public void Write(WriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }

        CheckLimits(batch);
        var writer = s_writer ??= new Writer();
        writer.Batch = batch;
        writer.Kind = WriterKind.Write;
        Submit(writer);
    }

    /// <summary>Makes every acknowledged write durable now, whatever the sync policy.</summary>
    public void SyncLog()
    {
        var writer = new Writer { Kind = WriterKind.Sync };
        Submit(writer);
    }

    /// <summary>Flushes the memtable to a table and waits for every frozen memtable to be on disk.</summary>
    public void Flush()
    {
        Submit(new Writer { Kind = WriterKind.Flush });
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
        var ops = batch.Encoded;
        var at = 0;
        while (at < ops.Length)
        {
            var op = ops[at++];
            Varint.TryRead32(ops[at..], out var keyLength, out var n);
            at += n;
            if (keyLength > _options.MaxKeyBytes)
            {
                ThrowHelper.InvalidArgument($"key of {keyLength} bytes exceeds the limit of {_options.MaxKeyBytes} bytes");
            }

            at += (int)keyLength;
            if (op != WriteBatch.OpDelete)
            {
                Varint.TryRead32(ops[at..], out var valueLength, out n);
                at += n;
                var userLength = valueLength - (op == WriteBatch.OpPutWithExpiry ? 8u : 0u);
                if (userLength > _options.MaxValueBytes)
                {
                    ThrowHelper.InvalidArgument($"value of {userLength} bytes exceeds the limit of {_options.MaxValueBytes} bytes");
                }

                at += (int)valueLength;
            }
        }

        if (batch.HasMerges && _options.MergeOperator is null)
        {
            ThrowHelper.InvalidArgument("Merge needs StorageOptions.MergeOperator");
        }
    }

    /// <summary>Queues a writer and either waits for a leader to complete it or leads a group itself.</summary>
    private void Submit(Writer writer)
    {
        writer.Done = false;
        writer.Error = null;
        writer.Signal.Reset();
        bool lead;
        lock (_mutex)
        {
            ThrowIfBackgroundErrorLocked();
            _writers.Enqueue(writer);
            lead = _writers.Count == 1;
        }

        if (!lead)
        {
            // Woken once: either a leader completed this write, or this writer is now the head and leads.
            // Each writer has its own signal, so finishing a group wakes only those it completed.
            writer.Signal.Wait();
            if (writer.Done)
            {
                writer.Batch = null;
                if (writer.Error is { } done)
                {
                    throw Wrap(done);
                }

                return;
            }
        }

        Lead(writer);
        writer.Batch = null;
        if (writer.Error is { } error)
        {
            throw Wrap(error);
        }
    }

    private static Exception Wrap(Exception error) =>
        error as RingKVException ?? new RingKVException(ErrorCode.IO, $"write failed: {error.Message}", error);

    /// <summary>Runs one write group as the leader: log append, optional fsync, memtable insert, acknowledge.</summary>
    private void Lead(Writer leader)
    {
        ulong firstSequence = 0;
        var count = 0;
        var sync = _options.Sync.Mode == SyncMode.Always;
        Memtable mem;
        CommitLogWriter log;
        Exception? failure = null;
        _group.Clear();
        lock (_mutex)
        {
            try
            {
                ThrowIfBackgroundErrorLocked();
                MakeRoomForWriteLocked(force: leader.Kind == WriterKind.Flush);
            }
            catch (Exception e) when (e is RingKVException or IOException)
            {
                failure = e;
            }

            // Take the leader and the writes queued behind it.
            var bytes = 0;
            var limit = failure is null ? MaxGroupBytes : 0;
            foreach (var w in _writers)
            {
                if (_group.Count > 0 && (w.Kind == WriterKind.Flush || bytes + (w.Batch?.ByteSize ?? 0) > limit))
                {
                    break;
                }

                _group.Add(w);
                bytes += w.Batch?.ByteSize ?? 0;
                count += w.Batch?.Count ?? 0;
                sync |= w.Kind == WriterKind.Sync;
            }

            firstSequence = _lastSequence + 1;
            mem = _mem;
            log = _log;
        }

        if (failure is null && count > 0)
        {
            try
            {
                var record = EncodeGroup(firstSequence, count);
                log.Append(record);
                StorageStatistics.Add(ref _stats._bytesWrittenToLog, record.Length);
                if (sync)
                {
                    log.Sync();
                    StorageStatistics.Increment(ref _stats._logSyncs);
                }
                else if (_syncThread is not null && log.UnsyncedBytes >= EagerSyncBytes && Interlocked.Exchange(ref _eagerSyncRequested, 1) == 0)
                {
                    _syncWake.Set();
                }

                ApplyToMemtable(mem, _record.AsSpan(LogFormat.HeaderSize, record.Length - LogFormat.HeaderSize));
            }
            catch (Exception e)
            {
                // Loop boundary for the whole group: every writer in it gets the failure, none is left waiting.
                failure = e;
            }
        }
        else if (failure is null && sync && log.HasUnsynced)
        {
            try
            {
                log.Sync();
                StorageStatistics.Increment(ref _stats._logSyncs);
            }
            catch (IOException e)
            {
                failure = e;
            }
        }

        lock (_mutex)
        {
            if (failure is null)
            {
                Volatile.Write(ref _lastSequence, firstSequence + (ulong)count - 1);
            }
            else if (failure is IOException or UnauthorizedAccessException)
            {
                // The log may hold a partial record now: refuse further writes until reopen.
                SetBackgroundErrorLocked(failure);
            }

            foreach (var w in _group)
            {
                _writers.Dequeue();
                w.Error = failure;
                w.Done = true;
                if (w != leader)
                {
                    w.Signal.Set();
                }
            }

            if (_writers.Count > 0)
            {
                _writers.Peek().Signal.Set(); // the next leader
            }
            else
            {
                Monitor.PulseAll(_mutex); // Dispose waits for the queue to drain
            }
        }
    }

    /// <summary>Encodes the group's operations into <see cref="_record"/> after the log header; resolves merges.</summary>
    private Span<byte> EncodeGroup(ulong firstSequence, int count)
    {
        var size = LogFormat.HeaderSize + LogFormat.GroupHeaderSize;
        foreach (var w in _group)
        {
            size += w.Batch?.ByteSize ?? 0;
        }

        EnsureRecord(size);
        var header = _record.AsSpan(LogFormat.HeaderSize);
        BinaryPrimitives.WriteUInt64LittleEndian(header, firstSequence);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], count);
        BinaryPrimitives.WriteInt64LittleEndian(header[12..], _options.Time.GetUtcNow().ToUnixTimeMilliseconds());
        var at = LogFormat.HeaderSize + LogFormat.GroupHeaderSize;
        var anyMerge = false;
        foreach (var w in _group)
        {
            anyMerge |= w.Batch is { HasMerges: true };
        }

        // A merge must see the writes before it in this group, which are not in the memtable yet: when
        // any batch merges, every batch goes through the overlay. Plain groups never pay for it.
        var overlay = anyMerge ? new Dictionary<string, byte[]?>(StringComparer.Ordinal) : null;
        foreach (var w in _group)
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
        var ops = batch.Encoded;
        var i = 0;
        var merger = _options.MergeOperator!;
        var result = new ArrayBufferWriter<byte>();
        while (i < ops.Length)
        {
            var start = i;
            var op = ops[i++];
            Varint.TryRead32(ops[i..], out var keyLength, out var n);
            i += n;
            var key = ops.Slice(i, (int)keyLength);
            i += (int)keyLength;
            var overlayKey = Convert.ToBase64String(key);
            if (op == WriteBatch.OpDelete)
            {
                overlay[overlayKey] = null;
                at = Append(ops[start..i], at);
                continue;
            }

            Varint.TryRead32(ops[i..], out var valueLength, out n);
            i += n;
            var value = ops.Slice(i, (int)valueLength);
            i += (int)valueLength;
            if (op == WriteBatch.OpPut)
            {
                overlay[overlayKey] = value.ToArray();
                at = Append(ops[start..i], at);
                continue;
            }

            if (op == WriteBatch.OpPutWithExpiry)
            {
                overlay[overlayKey] = value[8..].ToArray();
                at = Append(ops[start..i], at);
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
            EnsureRecord(at + need + (ops.Length - i));
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
        var at = 0;
        long puts = 0, deletes = 0;
        for (var i = 0; i < count; i++, sequence++)
        {
            var op = ReadGroupOperation(ops, ref at, out var key, out var value);
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
    /// Reads the operation at <paramref name="at"/> of a write group's payload and moves past it: its op code, key and
    /// value (empty for a delete). A group read back from the log may be damaged: a cut-short operation throws.
    /// </summary>
    private static byte ReadGroupOperation(ReadOnlySpan<byte> ops, ref int at, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        var op = ops[at++];
        if (!Varint.TryRead32(ops[at..], out var keyLength, out var n) || keyLength > ops.Length - at - n)
        {
            throw new CorruptionException("commit log", -1, "write group operation cut short");
        }

        at += n;
        key = ops.Slice(at, (int)keyLength);
        at += (int)keyLength;
        value = default;
        if (op != WriteBatch.OpDelete)
        {
            if (!Varint.TryRead32(ops[at..], out var valueLength, out n) || valueLength > ops.Length - at - n)
            {
                throw new CorruptionException("commit log", -1, "write group value cut short");
            }

            at += n;
            value = ops.Slice(at, (int)valueLength);
            at += (int)valueLength;
        }

        return op;
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
        var at = 0;
        for (var i = 0; i < count; i++)
        {
            ReadGroupOperation(ops, ref at, out var key, out _);
            tokens[i] = Core.Hashing.Token.Of(key).Value;
            mem.Prefetch(tokens[i]);
        }

        for (var i = 0; i < count; i++)
        {
            mem.PrefetchFirstNode(tokens[i]);
        }

        return tokens;
    }

    /// <summary>Ensures the memtable has room, stalling or switching memtables as needed. Requires: _mutex, leader.</summary>
    private void MakeRoomForWriteLocked(bool force)
    {
        var allowDelay = !force;
        while (true)
        {
            ThrowIfBackgroundErrorLocked();
            var level0 = _current.Levels[0].Length;
            if (allowDelay && level0 >= _options.Level0SlowdownTrigger)
            {
                // Soft limit: give compaction a millisecond per write rather than stopping writes later.
                allowDelay = false;
                StorageStatistics.Increment(ref _stats._writeSlowdowns);
                Monitor.Wait(_mutex, 1);
            }
            else if (!force && _mem.UsedBytes < _memtableBytes)
            {
                if (_log.Length >= _options.LogSegmentBytes)
                {
                    SwitchLogLocked();
                }

                return;
            }
            else if (force && _mem.Count == 0)
            {
                return;
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

    /// <summary>
    /// Under periodic sync, fsyncs the log every period when it holds unsynced records, and sooner once it holds
    /// <see cref="EagerSyncBytes"/> of them.
    /// </summary>
    /// <remarks>
    /// The fsync runs beside the write queue, not in it (<see cref="CommitLogWriter.SyncAppended"/>): as a
    /// queued writer it held every write behind it for the length of the fsync, once a period (measured:
    /// about a tenth of SET throughput under redis-benchmark -P 16).
    /// The early sync bounds what a segment switch must fsync (the old segment is synced before the new one takes
    /// records, so a power loss cannot leave a gap, and the write leader does it): with a whole period unsynced
    /// (about 47 MB under redis-benchmark SET -P 16) each switch held every writer for 18 to 57 ms.
    /// </remarks>
    private void SyncLoop()
    {
        var period = _options.Sync.Period;
        var wake = new WaitHandle[] { _closedSignal.WaitHandle, _syncWake };
        while (WaitHandle.WaitAny(wake, period) != 0)
        {
            Volatile.Write(ref _eagerSyncRequested, 0);
            CommitLogWriter log;
            lock (_mutex)
            {
                if (_closing)
                {
                    return;
                }

                if (!_log.HasUnsynced || _backgroundError is not null)
                {
                    continue;
                }

                log = _log;
            }

            try
            {
                log.SyncAppended();
                StorageStatistics.Increment(ref _stats._logSyncs);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                lock (_mutex)
                {
                    SetBackgroundErrorLocked(e); // sticky: writers see it; an unsynced log is not trusted on
                }
            }
        }
    }

    private enum WriterKind
    {
        Write,
        Sync,
        Flush,
    }

    /// <summary>One queued write; reused per thread so a write allocates nothing.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "Kept per thread for the thread's life; the slim event holds no kernel handle unless one is asked for.")]
    private sealed class Writer
    {
        public readonly ManualResetEventSlim Signal = new(false, spinCount: 100);
        public WriteBatch? Batch;
        public WriterKind Kind;
        public bool Done;
        public Exception? Error;
    }
}
