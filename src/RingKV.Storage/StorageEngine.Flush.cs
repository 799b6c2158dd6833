using System.IO;
using System.Threading;
using RingKV.Storage.Commit;
using RingKV.Storage.Memtables;
using RingKV.Storage.Tables;
using RingKV.Storage.Versions;

namespace RingKV.Storage;

public sealed partial class StorageEngine
{
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

    /// <summary>Writes a memtable to a new synced level-0 table and opens it.</summary>
    // Runs a few times a minute, each time for seconds: entered too rarely for tiered JIT to promote it, it would run
    // as unoptimized code with on-stack replacement.
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

        var meta = OpenTable(number);
        StorageStatistics.Increment(ref _stats._flushes);
        StorageStatistics.Add(ref _stats._bytesFlushed, props.FileBytes);
        return meta;
    }

    /// <summary>The flush thread: writes the oldest frozen memtable to level 0 and installs it, while there is one.</summary>
    private void FlushLoop() => RunBackgroundLoop(_flushSignal, FlushOldestImmutable);

    /// <summary>Flushes the oldest frozen memtable; false when there is none. Requires: the flush thread.</summary>
    private bool FlushOldestImmutable()
    {
        Memtable? imm;
        lock (_mutex)
        {
            imm = _immutables.Count > 0 ? _immutables[0] : null;
        }

        if (imm is null)
        {
            return false;
        }

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

        return true;
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
