using System;
using System.Collections.Generic;
using System.IO;
using RingKV.Core.Errors;
using RingKV.Storage.Log;
using RingKV.Storage.Memtables;
using RingKV.Storage.Versions;
using Version = RingKV.Storage.Versions.Version;

namespace RingKV.Storage;

public sealed partial class StorageEngine
{
    /// <summary>Recovers the file set from the manifest and replays the commit log into level-0 tables.</summary>
    private void Recover()
    {
        var manifest = Manifest.Read(_fs, _directory) ?? new Manifest { NextFileNumber = 1, LogNumber = 0 };
        _fs.Delete(Path.Combine(_directory, FileNames.ManifestTemp));
        var live = new HashSet<long>();
        foreach (var (_, file) in manifest.Files)
        {
            live.Add(file.Number);
        }

        var logs = new List<long>();
        var maxNumber = manifest.NextFileNumber - 1;
        foreach (var name in _fs.List(_directory))
        {
            if (!FileNames.TryParse(name, out var number, out var extension))
            {
                continue;
            }

            maxNumber = Math.Max(maxNumber, number);
            if (extension == ".sst" && !live.Contains(number))
            {
                // Output of a flush or compaction that crashed before its manifest was written.
                _recoveryNotes.Add($"deleted orphan table {name}");
                _fs.Delete(Path.Combine(_directory, name));
            }
            else if (extension == ".log")
            {
                if (number >= manifest.LogNumber)
                {
                    logs.Add(number);
                }
                else
                {
                    _fs.Delete(Path.Combine(_directory, name));
                }
            }
        }

        _nextFileNumber = maxNumber + 1;
        var added = new List<(int Level, FileMeta File)>();
        foreach (var (level, listed) in manifest.Files)
        {
            var path = FileNames.Table(_directory, listed.Number);
            if (!_fs.Exists(path))
            {
                ThrowHelper.Corruption(path, 0, "table listed in the manifest is missing");
            }

            added.Add((level, OpenTable(listed.Number, listed)));
        }

        var tablesOpened = added.Count;
        var empty = Version.Empty();
        _current = empty.Apply([], added);
        empty.Unref();

        // Replay every segment not yet in tables, flushing a table whenever a memtable fills.
        var lastSequence = manifest.LastSequence;
        logs.Sort();
        var mem = new Memtable(_memtableBytes, 0);
        var flushed = new List<(int Level, FileMeta File)>();
        long records = 0, operations = 0, logBytes = 0;
        foreach (var number in logs)
        {
            var path = FileNames.Log(_directory, number);
            using var reader = new CommitLogReader(_fs.OpenRead(path));
            while (reader.TryReadNext(out var payload))
            {
                if (payload.Length < LogFormat.GroupHeaderSize)
                {
                    break;
                }

                var first = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(payload);
                var count = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(payload[8..]);
                ApplyToMemtable(mem, payload);
                records++;
                operations += count;
                logBytes += payload.Length;
                lastSequence = Math.Max(lastSequence, first + (ulong)count - 1);
                if (mem.UsedBytes >= _memtableBytes)
                {
                    flushed.Add((0, WriteLevel0Table(mem)));
                    mem = new Memtable(_memtableBytes, 0);
                }
            }

            if (reader.DroppedBytes > 0)
            {
                StorageStatistics.Add(ref _stats._corruptLogBytesDropped, reader.DroppedBytes);
                _recoveryNotes.Add($"dropped {reader.DroppedBytes} bytes of {path} from offset {reader.GoodOffset}: {reader.StopReason}");
            }
        }

        if (mem.Count > 0)
        {
            flushed.Add((0, WriteLevel0Table(mem)));
        }

        Recovery = new RecoveryStatistics(logs.Count, records, operations, logBytes, tablesOpened, flushed.Count, TimeSpan.Zero);

        if (flushed.Count > 0)
        {
            // The manifest's own directory sync comes after its rename: a crash between the two may keep the
            // rename without the tables' names.
            _fs.SyncDirectory(_directory); // the replayed tables' names, before a manifest lists them
            var next = _current.Apply([], flushed);
            _current.Unref();
            _current = next;
        }

        _lastSequence = lastSequence;
        var logNumber = _nextFileNumber++;
        _log = new CommitLogWriter(_fs.Create(FileNames.Log(_directory, logNumber)), logNumber);
        _mem = new Memtable(_memtableBytes, logNumber);
        WriteManifestLocked(logNumber);
        foreach (var number in logs)
        {
            _fs.Delete(FileNames.Log(_directory, number));
        }

        _super = new SuperVersion(_mem, [], _current);
        _current.TryRef();
        ResizeCacheLocked();
    }
}
