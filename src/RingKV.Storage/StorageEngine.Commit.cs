using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Threading;
using RingKV.Core.Encoding;
using RingKV.Storage.Commit;
using RingKV.Storage.Log;

namespace RingKV.Storage;

public sealed partial class StorageEngine : ICommitTarget
{
    /// <summary>Unsynced log bytes at which the periodic syncer runs before its period is up.</summary>
    internal const long EagerSyncBytes = CommitPipeline.EagerSyncBytes;

    // Owned by the current write leader only (see CommitPipeline).
    private byte[] _record = new byte[64 * 1024];
    private byte[] _keyScratch = new byte[1024];
    private ulong[] _tokenScratch = new ulong[256];

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
