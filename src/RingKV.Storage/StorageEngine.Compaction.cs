using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using RingKV.Storage.Compaction;
using RingKV.Storage.Keys;
using RingKV.Storage.Tables;
using RingKV.Storage.Versions;
using Version = RingKV.Storage.Versions.Version;

namespace RingKV.Storage;

public sealed partial class StorageEngine
{
    private void MaybeScheduleCompactionLocked() => _compactionSignal.Set();

    /// <summary>The compaction thread: runs picked compactions while there is one to run.</summary>
    private void CompactionLoop()
    {
        if (_options.CompactionNice > 0)
        {
            // Best effort: where it fails (not Linux) compaction simply keeps the process's priority.
            BackgroundPriority.TryLowerCurrentThread(_options.CompactionNice);
        }

        RunBackgroundLoop(_compactionSignal, RunOneBackgroundCompaction);
    }

    /// <summary>Picks and runs one compaction; false when there is none to run. Requires: the compaction thread.</summary>
    private bool RunOneBackgroundCompaction()
    {
        _compactionGate.Wait();
        try
        {
            CompactionPick? pick;
            lock (_mutex)
            {
                if (_closing || _backgroundError is not null)
                {
                    return false;
                }

                pick = PinLocked(_picker.Pick(_current, _compactPointers));
            }

            if (pick is null)
            {
                return false;
            }

            RunCompaction(pick);
            return true;
        }
        finally
        {
            _compactionGate.Release();
        }
    }

    /// <summary>Compacts every level down into the deepest non-empty level and waits; drops what it may.</summary>
    public void CompactAll()
    {
        Flush();
        _compactionGate.Wait();
        try
        {
            int bottom;
            lock (_mutex)
            {
                bottom = 1;
                for (var level = 1; level < Version.LevelCount; level++)
                {
                    if (_current.Levels[level].Length > 0)
                    {
                        bottom = level;
                    }
                }
            }

            // Each level into the next, then the bottom level into itself, so tombstones and expired records there go too.
            for (var level = 0; level <= bottom; level++)
            {
                CompactionPick? pick;
                lock (_mutex)
                {
                    ThrowIfBackgroundErrorLocked();
                    pick = PinLocked(_picker.PickManual(_current, level, level < bottom ? level + 1 : bottom));
                }

                if (pick is not null)
                {
                    RunCompaction(pick);
                }
            }
        }
        finally
        {
            _compactionGate.Release();
        }
    }

    /// <summary>Runs one compaction and installs its result. Requires: the compaction gate, not _mutex.</summary>
    // Runs a few times a minute, each time for seconds: entered too rarely for tiered JIT to promote it, it would run
    // as unoptimized code with on-stack replacement.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void RunCompaction(CompactionPick pick)
    {
        try
        {
            if (pick.IsTrivialMove)
            {
                // Nothing to merge with, so the table changes level without being rewritten.
                Install(pick, [(pick.OutputLevel, pick.Inputs[0])], moved: true);
                return;
            }

            var outputs = MergeInputs(pick);
            Install(pick, outputs, moved: false);
        }
        finally
        {
            pick.Version.Unref();
        }
    }

    /// <summary>Takes the reference on <paramref name="pick"/>'s version that <see cref="RunCompaction"/> drops. Requires: _mutex.</summary>
    private static CompactionPick? PinLocked(CompactionPick? pick)
    {
        if (pick is not null)
        {
            var pinned = pick.Version.TryRef(); // the current version: the engine holds a reference to it
            Debug.Assert(pinned);
        }

        return pick;
    }

    private List<(int Level, FileMeta File)> MergeInputs(CompactionPick pick)
    {
        ulong smallestSnapshot;
        lock (_mutex)
        {
            smallestSnapshot = SmallestSnapshotLocked();
        }

        var nowMs = _options.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var graceMs = (long)_options.TombstoneGrace.TotalMilliseconds;
        var children = new List<IInternalIterator>();
        long bytesRead = 0;
        if (pick.Level == 0)
        {
            foreach (var file in pick.Inputs)
            {
                children.Add(file.Reader!.NewIterator(false));
                bytesRead += file.Size;
            }
        }
        else
        {
            children.Add(new LevelIterator(pick.Inputs, fillCache: false));
            foreach (var file in pick.Inputs)
            {
                bytesRead += file.Size;
            }
        }

        if (pick.Next.Length > 0)
        {
            children.Add(new LevelIterator(pick.Next, fillCache: false));
            foreach (var file in pick.Next)
            {
                bytesRead += file.Size;
            }
        }

        var outputs = new List<(int Level, FileMeta File)>();
        var lastKey = new byte[256];
        var lastKeyLength = -1;
        var lastSequenceForKey = ulong.MaxValue;
        OutputTable? output = null;
        var cutter = pick.NewOutputCutter();
        long checkedAt = 0;
        using var merged = new MergingIterator(children);
        try
        {
            for (merged.SeekToFirst(); merged.Valid; merged.Next())
            {
                if ((++checkedAt & 0xFFF) == 0 && Volatile.Read(ref _closing))
                {
                    throw new OperationCanceledException("engine closing");
                }

                var key = merged.Key;
                var ordered = InternalKey.Ordered(key);
                var sequence = InternalKey.Sequence(key);
                var newKey = lastKeyLength < 0 || !ordered.SequenceEqual(lastKey.AsSpan(0, lastKeyLength));
                if (newKey)
                {
                    if (lastKey.Length < ordered.Length)
                    {
                        lastKey = new byte[ordered.Length * 2];
                    }

                    ordered.CopyTo(lastKey);
                    lastKeyLength = ordered.Length;
                    lastSequenceForKey = ulong.MaxValue;

                    // Cut output tables only between keys, so all versions of a key stay in one table: at the target
                    // size, or where the output overlaps too much of the level below it.
                    var overlapCut = cutter.ShouldCutBefore(ordered);
                    if (output is not null && (overlapCut || output.Builder.EstimatedFileBytes >= _options.TargetFileBytes))
                    {
                        outputs.Add((pick.OutputLevel, FinishOutput(output)));
                        output = null;
                        cutter.OutputFinished();
                    }
                }

                var drop = false;
                if (lastSequenceForKey <= smallestSnapshot)
                {
                    drop = true; // a newer version visible to every reader hides this one
                }
                else if (sequence <= smallestSnapshot && IsBaseLevelForKey(pick, ordered))
                {
                    var kind = InternalKey.Kind(key);
                    if (kind == ValueKind.Delete && BinaryPrimitives.ReadInt64LittleEndian(merged.Value) + graceMs <= nowMs)
                    {
                        drop = true;
                        StorageStatistics.Increment(ref _stats._tombstonesDropped);
                    }
                    else if (kind == ValueKind.PutWithExpiry && BinaryPrimitives.ReadInt64LittleEndian(merged.Value) <= nowMs)
                    {
                        drop = true;
                        StorageStatistics.Increment(ref _stats._expiredDropped);
                    }
                }

                lastSequenceForKey = sequence;
                if (drop)
                {
                    continue;
                }

                if (output is null)
                {
                    output = NewOutput(pick.OutputLevel);
                    cutter.OutputStarted();
                }

                output.Builder.Add(key, merged.Value);
            }

            if (output is not null)
            {
                outputs.Add((pick.OutputLevel, FinishOutput(output)));
                output = null;
            }
        }
        catch
        {
            output?.Abandon(_fs);
            foreach (var (_, file) in outputs)
            {
                file.Reader?.Dispose();
                _fs.Delete(FileNames.Table(_directory, file.Number));
            }

            throw;
        }

        StorageStatistics.Add(ref _stats._bytesCompactedRead, bytesRead);
        return outputs;
    }

    /// <summary>True when no level below the output can hold the key, so a tombstone for it has nothing left to hide.</summary>
    private static bool IsBaseLevelForKey(CompactionPick pick, ReadOnlySpan<byte> ordered)
    {
        for (var level = pick.OutputLevel + 1; level < Version.LevelCount; level++)
        {
            if (pick.Version.FindFile(level, ordered) >= 0)
            {
                return false;
            }
        }

        // Shallower levels only hold newer versions, which hide this key anyway.
        return true;
    }

    private OutputTable NewOutput(int level)
    {
        var number = NewFileNumber();
        var path = FileNames.Table(_directory, number);
        var file = _fs.Create(path);
        return new OutputTable(number, path, file, new TableBuilder(file, BuilderOptions(level)));
    }

    private FileMeta FinishOutput(OutputTable output)
    {
        var props = output.Builder.Finish();
        output.File.Sync();
        output.File.Dispose();
        var meta = OpenTable(output.Number);
        StorageStatistics.Add(ref _stats._bytesCompactedWritten, props.FileBytes);
        return meta;
    }

    private void Install(CompactionPick pick, List<(int Level, FileMeta File)> outputs, bool moved)
    {
        _fs.SyncDirectory(_directory); // the outputs' names, before a manifest lists them
        var removed = new List<FileMeta>(pick.Inputs);
        removed.AddRange(pick.Next);
        lock (_versionEdit)
        {
            var old = InstallVersion(
                () => _current.Apply(removed, outputs),
                () => _immutables.Count > 0 ? _immutables[0].FirstLogNumber : _mem.FirstLogNumber,
                () =>
                {
                    if (!moved)
                    {
                        foreach (var file in removed)
                        {
                            file.Obsolete = true;
                        }
                    }

                    if (pick.Level > 0)
                    {
                        _compactPointers[pick.Level] = pick.Inputs[^1].Largest;
                    }

                    InstallSuperVersionLocked();
                    StorageStatistics.Increment(ref _stats._compactions);
                    MaybeScheduleCompactionLocked();
                    Monitor.PulseAll(_mutex);
                });

            // Outside _mutex: the last reference to an obsolete table deletes its file.
            old.Unref();
        }
    }

    private sealed class OutputTable(long number, string path, IWritableFile file, TableBuilder builder)
    {
        public long Number { get; } = number;

        public IWritableFile File { get; } = file;

        public TableBuilder Builder { get; } = builder;

        public void Abandon(IFileSystem fs)
        {
            File.Dispose();
            fs.Delete(path);
        }
    }
}
