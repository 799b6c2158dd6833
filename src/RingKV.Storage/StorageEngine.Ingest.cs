using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using RingKV.Core.Errors;
using RingKV.Core.Hashing;
using RingKV.Storage.Keys;
using RingKV.Storage.Tables;
using RingKV.Storage.Versions;
using Version = RingKV.Storage.Versions.Version;

namespace RingKV.Storage;

/// <summary>A record for <see cref="StorageEngine.IngestRuns"/>: a user key, its value, its expiry (Unix ms; 0: none).</summary>
public readonly record struct IngestRecord(byte[] Key, byte[] Value, long ExpiresAtUnixMs);

/// <summary>Where <see cref="StorageEngine.IngestRuns"/> put its table: the level and the file's size.</summary>
public readonly record struct IngestOutcome(int Level, long FileBytes);

public sealed partial class StorageEngine
{
    /// <summary>
    /// The sequence of the newest version the engine holds of <paramref name="key"/>, whatever its kind (a value, an
    /// expired value, a tombstone); false when it holds none.
    /// </summary>
    public bool TryGetNewestSequence(ReadOnlySpan<byte> key, out ulong sequence)
    {
        ThrowIfDisposed();
        sequence = 0;
        if (key.IsEmpty || key.Length > _options.MaxKeyBytes)
        {
            return false; // no such key can be stored
        }

        var size = key.Length + InternalKey.Overhead;
        byte[]? rented = null;
        var seekKey = size <= 512 ? stackalloc byte[size] : (rented = ArrayPool<byte>.Shared.Rent(size)).AsSpan(0, size);
        var sv = AcquireSuper();
        try
        {
            var orderedLength = InternalKey.WriteOrdered(seekKey, key);
            InternalKey.Write(seekKey, seekKey[..orderedLength], InternalKey.MaxSequence, ValueKind.Seek);
            return TryFindNewest(sv, seekKey, seekKey[..orderedLength], out _, out sequence, out _);
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
    /// For keys in the engine's order (token, then key; no key twice), sets <c>held[i]</c> when the engine holds any version
    /// of <c>keys[i]</c> (a value, an expired value, a tombstone), as <see cref="TryGetNewestSequence"/> would: one pass over
    /// the keys' token span instead of a point read per key, the cheap answer for a page of a range the engine holds
    /// little of (a stream's gainer). Keys not in that order are refused.
    /// </summary>
    public void MarkHeld(IReadOnlyList<byte[]> keys, Span<bool> held)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ThrowIfDisposed();
        if (held.Length < keys.Count)
        {
            ThrowHelper.InvalidArgument("one flag per key is needed");
        }

        if (keys.Count == 0)
        {
            return;
        }

        var tokens = new ulong[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            tokens[i] = Token.Of(keys[i]).Value;
            held[i] = false;
            if (i > 0 && (tokens[i] < tokens[i - 1] || (tokens[i] == tokens[i - 1] && keys[i].AsSpan().SequenceCompareTo(keys[i - 1]) <= 0)))
            {
                ThrowHelper.InvalidArgument("keys must be sorted by token, then key, with no key twice");
            }
        }

        var sv = AcquireSuper();
        try
        {
            using var it = new MergingIterator(ChildIterators(sv, fillCache: false));
            Span<byte> seek = stackalloc byte[Token.Size + InternalKey.TrailerSize];
            new Token(tokens[0]).Encode(seek);
            InternalKey.Write(seek, seek[..Token.Size], InternalKey.MaxSequence, ValueKind.Seek);
            var last = tokens[^1];
            var at = 0;
            for (it.Seek(seek); it.Valid && at < keys.Count; it.Next())
            {
                var ordered = InternalKey.Ordered(it.Key);
                var token = InternalKey.TokenOf(ordered).Value;
                if (token > last)
                {
                    break;
                }

                var user = InternalKey.UserOfOrdered(ordered);
                while (at < keys.Count && (tokens[at] < token || (tokens[at] == token && keys[at].AsSpan().SequenceCompareTo(user) < 0)))
                {
                    at++; // a key below the entry: none of its versions can come later
                }

                if (at < keys.Count && tokens[at] == token && keys[at].AsSpan().SequenceEqual(user))
                {
                    held[at] = true;
                }
            }
        }
        finally
        {
            sv.Unref();
        }
    }

    /// <summary>
    /// Stores <paramref name="records"/> as one new synced table, without the commit log or the memtable: the bulk path
    /// of a node streaming in a token range it gains (RocksDB's external file ingestion, Cassandra's streamed tables).
    /// Durable when it returns. Every record gets <paramref name="sequence"/>.
    /// </summary>
    /// <param name="records">Sorted by token, then key; no key twice.</param>
    /// <param name="sequence">
    /// <see cref="LastSequence"/> as the caller read it before it found (with <see cref="TryGetNewestSequence"/>) that the
    /// engine held no version of any of these keys. Every write since has a higher sequence, so such a write of one of
    /// these keys wins over the ingested record, as a later write should; the caller finds those keys afterwards with
    /// <see cref="TryGetNewestSequence"/> (a sequence above this one) and merges them itself.
    /// </param>
    /// <remarks>
    /// The table goes into the deepest level whose tables it does not overlap, when no compaction runs (they are
    /// serialized, so none can install an overlapping table meanwhile), else into level 0: since no other version of its
    /// keys exists, any level returns the same answers, and a deep one spares compaction from rewriting it. Parks the
    /// calling thread on the table's and the manifest's fsyncs.
    /// </remarks>
    public IngestOutcome Ingest(IReadOnlyList<IngestRecord> records, ulong sequence) => IngestRuns([records], sequence);

    /// <summary>
    /// As <see cref="Ingest(IReadOnlyList{IngestRecord}, ulong)"/> for several runs at once, one table each, all
    /// installed by one manifest write: a run per token range keeps each table narrow, so a deep level takes them side by
    /// side and a point read meets at most one of them per level.
    /// </summary>
    /// <param name="runs">Each sorted by token, then key; no key in two runs.</param>
    /// <param name="sequence">As for the single run.</param>
    /// <returns>The shallowest level a table went to, and the tables' bytes.</returns>
    public IngestOutcome IngestRuns(IReadOnlyList<IReadOnlyList<IngestRecord>> runs, ulong sequence)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ThrowIfDisposed();
        if (runs.Count == 0 || runs.Any(r => r.Count == 0))
        {
            ThrowHelper.InvalidArgument("nothing to ingest");
        }

        if (sequence > LastSequence)
        {
            ThrowHelper.InvalidArgument($"ingest sequence {sequence} is above the last sequence {LastSequence}");
        }

        var metas = new List<FileMeta>(runs.Count);
        var paths = new List<string>(runs.Count);
        var installed = false;
        try
        {
            var buffers = new IngestBuffers();
            foreach (var run in runs)
            {
                var number = NewFileNumber();
                var path = FileNames.Table(_directory, number);
                paths.Add(path);
                WriteIngestTable(path, run, sequence, buffers);
                metas.Add(OpenTable(number));
            }

            _fs.SyncDirectory(_directory);
            for (var i = 0; i < metas.Count; i++)
            {
                for (var j = 0; j < i; j++)
                {
                    if (metas[i].Overlaps(InternalKey.Ordered(metas[j].Smallest), InternalKey.Ordered(metas[j].Largest)))
                    {
                        ThrowHelper.InvalidArgument("ingested runs must not overlap");
                    }
                }
            }

            var shallowest = Version.LevelCount;
            var quiet = _compactionGate.Wait(0);
            try
            {
                lock (_versionEdit)
                {
                    var old = InstallVersion(
                        () =>
                        {
                            var added = new List<(int Level, FileMeta File)>(metas.Count);
                            foreach (var meta in metas)
                            {
                                // The runs are disjoint, so only the current tables decide a run's level.
                                var level = quiet ? DeepestLevelWithout(meta) : 0;
                                shallowest = Math.Min(shallowest, level);
                                added.Add((level, meta));
                            }

                            return _current.Apply([], added);
                        },
                        () => _immutables.Count > 0 ? _immutables[0].FirstLogNumber : _mem.FirstLogNumber,
                        () =>
                        {
                            InstallSuperVersionLocked();
                            MaybeScheduleCompactionLocked();
                        });
                    installed = true;
                    old.Unref();
                }
            }
            finally
            {
                if (quiet)
                {
                    _compactionGate.Release();
                }
            }

            long bytes = 0;
            foreach (var meta in metas)
            {
                bytes += meta.Size;
            }

            StorageStatistics.Add(ref _stats._ingests, metas.Count);
            StorageStatistics.Add(ref _stats._bytesIngested, bytes);
            return new IngestOutcome(shallowest, bytes);
        }
        catch
        {
            if (!installed)
            {
                foreach (var meta in metas)
                {
                    meta.Reader?.Dispose();
                }

                foreach (var path in paths)
                {
                    _fs.Delete(path);
                }
            }

            throw;
        }
    }

    private sealed class IngestBuffers
    {
        public byte[] Key = new byte[256];
        public byte[] Value = new byte[256];
        public byte[] Previous = new byte[256];
    }

    /// <summary>Writes one run as a synced table whose every record has <paramref name="sequence"/>.</summary>
    private void WriteIngestTable(string path, IReadOnlyList<IngestRecord> records, ulong sequence, IngestBuffers buffers)
    {
        using var file = _fs.Create(path);
        var builder = new TableBuilder(file, BuilderOptions(1));
        var previousLength = -1;
        foreach (var record in records)
        {
            CheckIngestLimits(record);
            var size = record.Key.Length + InternalKey.Overhead;
            if (buffers.Key.Length < size)
            {
                buffers.Key = new byte[size * 2];
            }

            var key = buffers.Key;
            var ordered = InternalKey.WriteOrdered(key, record.Key);
            if (previousLength >= 0 && InternalKey.CompareOrdered(key.AsSpan(0, size), buffers.Previous.AsSpan(0, previousLength)) <= 0)
            {
                ThrowHelper.InvalidArgument("ingested records must be sorted by token, then key, with no key twice");
            }

            var kind = record.ExpiresAtUnixMs != 0 ? ValueKind.PutWithExpiry : ValueKind.Put;
            InternalKey.Write(key, key.AsSpan(0, ordered), sequence, kind);
            ReadOnlySpan<byte> stored = record.Value;
            if (kind == ValueKind.PutWithExpiry)
            {
                if (buffers.Value.Length < record.Value.Length + 8)
                {
                    buffers.Value = new byte[(record.Value.Length + 8) * 2];
                }

                BinaryPrimitives.WriteInt64LittleEndian(buffers.Value, record.ExpiresAtUnixMs);
                record.Value.CopyTo(buffers.Value, 8);
                stored = buffers.Value.AsSpan(0, record.Value.Length + 8);
            }

            builder.Add(key.AsSpan(0, size), stored);
            if (buffers.Previous.Length < size)
            {
                buffers.Previous = new byte[key.Length];
            }

            key.AsSpan(0, size).CopyTo(buffers.Previous);
            previousLength = size;
        }

        builder.Finish();
        file.Sync();
    }

    /// <summary>The deepest level none of whose tables overlaps <paramref name="file"/>'s keys; 0 when every level does. Requires: _mutex.</summary>
    private int DeepestLevelWithout(FileMeta file)
    {
        var first = InternalKey.Ordered(file.Smallest);
        var last = InternalKey.Ordered(file.Largest);
        for (var level = Version.LevelCount - 1; level >= 1; level--)
        {
            var free = true;
            foreach (var other in _current.Levels[level])
            {
                if (other.Overlaps(first, last))
                {
                    free = false;
                    break;
                }
            }

            if (free)
            {
                return level;
            }
        }

        return 0;
    }

    private void CheckIngestLimits(in IngestRecord record)
    {
        if (record.Key.Length == 0 || record.Key.Length > _options.MaxKeyBytes)
        {
            ThrowHelper.InvalidArgument(record.Key.Length == 0 ? "keys must not be empty" : $"key of {record.Key.Length} bytes exceeds the limit of {_options.MaxKeyBytes} bytes");
        }

        if (record.Value.Length > _options.MaxValueBytes)
        {
            ThrowHelper.InvalidArgument($"value of {record.Value.Length} bytes exceeds the limit of {_options.MaxValueBytes} bytes");
        }
    }
}
