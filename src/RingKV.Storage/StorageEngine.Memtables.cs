using System;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Threading;
using RingKV.Core.Errors;
using RingKV.Storage.Keys;
using RingKV.Storage.Log;
using RingKV.Storage.Memtables;
using RingKV.Storage.Versions;

namespace RingKV.Storage;

public sealed partial class StorageEngine
{
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
}
