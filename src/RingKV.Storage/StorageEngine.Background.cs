using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using RingKV.Core.Errors;
using RingKV.Storage.Engine;
using RingKV.Storage.Log;
using RingKV.Storage.Memtables;
using RingKV.Storage.Stats;
using RingKV.Storage.Tables;
using Version = RingKV.Storage.Engine.Version;

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
        foreach (var (level, file) in manifest.Files)
        {
            var path = FileNames.Table(_directory, file.Number);
            if (!_fs.Exists(path))
            {
                ThrowHelper.Corruption(path, 0, "table listed in the manifest is missing");
            }

            OpenReader(file);
            added.Add((level, file));
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

    private void OpenReader(FileMeta file)
    {
        var path = FileNames.Table(_directory, file.Number);
        file.Reader = TableReader.Open(_fs.OpenRead(path), (ulong)file.Number, _cache, _stats);
        var fs = _fs;
        var cache = _cache;
        file.OnUnreferenced = f =>
        {
            f.Reader?.Dispose();
            if (f.Obsolete)
            {
                cache.EvictFile((ulong)f.Number);
                fs.Delete(path);
            }
        };
    }

    /// <summary>Writes the manifest for the current version. Requires: _mutex (or recovery).</summary>
    private void WriteManifestLocked(long logNumber) => ManifestLocked(_current, logNumber).Write(_fs, _directory);

    /// <summary>The manifest that describes <paramref name="version"/>. Requires: _mutex (or recovery).</summary>
    private Manifest ManifestLocked(Version version, long logNumber)
    {
        var manifest = new Manifest
        {
            NextFileNumber = _nextFileNumber,
            LogNumber = logNumber,
            LastSequence = Volatile.Read(ref _lastSequence),
        };
        for (var level = 0; level < Version.LevelCount; level++)
        {
            foreach (var file in version.Levels[level])
            {
                manifest.Files.Add((level, file));
            }
        }

        return manifest;
    }

    /// <summary>
    /// Makes the version <paramref name="prepareLocked"/> builds (with one reference) the current one: writes its
    /// manifest (logs from <paramref name="logNumberLocked"/> on), then installs it under _mutex with
    /// <paramref name="installLocked"/>. Returns the version it replaced, whose reference the caller drops.
    /// Requires: _versionEdit held, _mutex not held.
    /// </summary>
    /// <remarks>
    /// The manifest's fsyncs run outside _mutex, so writers (whose leaders take _mutex for every write group) never
    /// wait for them: held under _mutex they stopped every write for about 20 ms per flush under redis-benchmark SET
    /// load. Version edits are serialized by _versionEdit instead, so _current cannot change between
    /// <paramref name="prepareLocked"/> and the install.
    /// </remarks>
    private Version InstallVersion(Func<Version> prepareLocked, Func<long> logNumberLocked, Action installLocked)
    {
        Version next;
        Manifest manifest;
        lock (_mutex)
        {
            next = prepareLocked();
            manifest = ManifestLocked(next, logNumberLocked());
        }

        try
        {
            manifest.Write(_fs, _directory);
        }
        catch
        {
            next.Unref();
            throw;
        }

        lock (_mutex)
        {
            var old = _current;
            _current = next;
            installLocked();
            return old;
        }
    }

    private long NewFileNumber()
    {
        lock (_mutex)
        {
            return _nextFileNumber++;
        }
    }

    private Tables.TableBuilderOptions BuilderOptions(int level) => new()
    {
        BlockSizeBytes = _options.BlockSizeBytes,
        RestartInterval = _options.BlockRestartInterval,
        Compression = level >= 3 ? _options.ColdCompression : _options.Compression,
        BloomBitsPerKey = _options.BloomBitsPerKey,
    };

    /// <summary>Writes a memtable to a new synced level-0 table and opens it.</summary>
    // Runs a few times a minute, each time for seconds: tiered JIT would run it as unoptimized code with
    // on-stack replacement, measured as a tenth of the node's CPU under a write load.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private FileMeta WriteLevel0Table(Memtable mem)
    {
        var number = NewFileNumber();
        var path = FileNames.Table(_directory, number);
        TableProperties props;
        using (var file = _fs.Create(path))
        {
            var builder = new TableBuilder(file, BuilderOptions(0));
            using var it = mem.NewIterator();
            for (it.SeekToFirst(); it.Valid; it.Next())
            {
                builder.Add(it.Key, it.Value);
            }

            props = builder.Finish();
            file.Sync();
        }

        var meta = new FileMeta(number, props.FileBytes, props.SmallestKey, props.LargestKey, props.MinSequence, props.MaxSequence);
        OpenReader(meta);
        StorageStatistics.Increment(ref _stats._flushes);
        StorageStatistics.Add(ref _stats._bytesFlushed, props.FileBytes);
        return meta;
    }

    /// <summary>The flush thread: writes the oldest frozen memtable to level 0, installs it, repeats.</summary>
    private void FlushLoop()
    {
        while (true)
        {
            Memtable? imm;
            lock (_mutex)
            {
                if (_closing || _backgroundError is not null)
                {
                    return;
                }

                imm = _immutables.Count > 0 ? _immutables[0] : null;
            }

            if (imm is null)
            {
                _flushSignal.WaitOne();
                continue;
            }

            try
            {
                var meta = WriteLevel0Table(imm);
                _fs.SyncDirectory(_directory); // the table's name, before a manifest lists it
                lock (_versionEdit)
                {
                    // The logs this memtable came from stay until the manifest no longer needs them: the first log
                    // of the next frozen memtable, or of the active one. Later switches only add newer logs.
                    long logNumber = 0;
                    var old = InstallVersion(
                        () => _current.Apply([], [(0, meta)]),
                        () => logNumber = _immutables.Count > 1 ? _immutables[1].FirstLogNumber : _mem.FirstLogNumber,
                        () =>
                        {
                            _immutables.RemoveAt(0);
                            InstallSuperVersionLocked();
                            MaybeScheduleCompactionLocked();
                            Monitor.PulseAll(_mutex);
                        });
                    old.Unref();
                    DeleteObsoleteLogs(logNumber);
                }
            }
            catch (Exception e) when (e is IOException or RingKVException or UnauthorizedAccessException)
            {
                lock (_mutex)
                {
                    SetBackgroundErrorLocked(e);
                }

                return;
            }
        }
    }

    /// <summary>Deletes log segments wholly in tables (those below <paramref name="logNumber"/>, which no writer touches).</summary>
    private void DeleteObsoleteLogs(long logNumber)
    {
        foreach (var name in _fs.List(_directory))
        {
            if (FileNames.TryParse(name, out var number, out var extension) && extension == ".log" && number < logNumber)
            {
                _fs.Delete(Path.Combine(_directory, name));
            }
        }
    }
}
