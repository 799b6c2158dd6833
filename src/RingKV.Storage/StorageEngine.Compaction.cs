using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Threading;
using RingKV.Storage.Engine;
using RingKV.Storage.Keys;
using RingKV.Storage.Stats;
using RingKV.Storage.Tables;
using Version = RingKV.Storage.Engine.Version;

namespace RingKV.Storage;

public sealed partial class StorageEngine
{
    /// <summary>
    /// Picks the next compaction: leveled, as in LevelDB and RocksDB's default. Requires: _mutex.
    /// </summary>
    /// <remarks>
    /// Leveled rather than size-tiered: RingKV's load is dominated by point reads of small values and by
    /// token-range scans for repair and streaming. Leveled compaction keeps each key in at most one table
    /// per sorted level (a read touches level 0 plus one table per level, each behind a bloom filter) and
    /// bounds space amplification near 1.1x, which matters because a node holds a data set larger than
    /// memory. Size-tiered writes less (about half the write amplification) but lets a key live in many
    /// tables of a tier and needs up to 2x free disk during big merges; writes here are already cheap
    /// (group-committed log plus memtable), so we spend the extra compaction I/O on reads and space.
    /// Score: level 0 by table count over <see cref="StorageOptions.Level0CompactionTrigger"/>; level n
    /// by bytes over its target. The highest score of at least 1 wins.
    /// </remarks>
    private CompactionPlan? PickCompactionLocked()
    {
        var version = _current;
        var bestLevel = -1;
        var bestScore = 1.0;
        for (var level = 0; level < Version.LevelCount - 1; level++)
        {
            var score = level == 0
                ? version.Levels[0].Length / (double)_options.Level0CompactionTrigger
                : version.LevelBytes(level) / (double)LevelTargetBytes(level);
            if (score >= bestScore)
            {
                bestScore = score;
                bestLevel = level;
            }
        }

        if (bestLevel < 0)
        {
            return null;
        }

        List<FileMeta> inputs;
        if (bestLevel == 0)
        {
            inputs = [.. version.Levels[0]];
        }
        else
        {
            // Round-robin through the level so every key range gets its turn.
            var files = version.Levels[bestLevel];
            var pointer = _compactPointers[bestLevel];
            var pick = files[0];
            if (pointer is not null)
            {
                foreach (var file in files)
                {
                    if (InternalKey.Compare(file.Smallest, pointer) > 0)
                    {
                        pick = file;
                        break;
                    }
                }
            }

            inputs = [pick];
        }

        return PlanLocked(version, bestLevel, inputs, manual: false);
    }

    /// <summary>Adds the overlapping tables of the next level to a plan. Requires: _mutex.</summary>
    private static CompactionPlan PlanLocked(Version version, int level, List<FileMeta> inputs, bool manual)
    {
        byte[] smallest = inputs[0].Smallest, largest = inputs[0].Largest;
        foreach (var file in inputs)
        {
            if (InternalKey.Compare(file.Smallest, smallest) < 0)
            {
                smallest = file.Smallest;
            }

            if (InternalKey.Compare(file.Largest, largest) > 0)
            {
                largest = file.Largest;
            }
        }

        var next = version.Overlapping(level + 1, InternalKey.Ordered(smallest), InternalKey.Ordered(largest));
        version.TryRef();
        return new CompactionPlan(version, level, inputs, next, manual);
    }

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
            CompactionPlan? plan;
            lock (_mutex)
            {
                if (_closing || _backgroundError is not null)
                {
                    return false;
                }

                plan = PickCompactionLocked();
            }

            if (plan is null)
            {
                return false;
            }

            RunCompaction(plan);
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

            for (var level = 0; level < bottom; level++)
            {
                CompactionPlan? plan;
                lock (_mutex)
                {
                    ThrowIfBackgroundErrorLocked();
                    var files = _current.Levels[level];
                    plan = files.Length == 0 ? null : PlanLocked(_current, level, [.. files], manual: true);
                }

                if (plan is not null)
                {
                    RunCompaction(plan);
                }
            }

            // Finally rewrite the bottom level itself, so tombstones and expired records there go too.
            CompactionPlan? bottomPlan = null;
            lock (_mutex)
            {
                var files = _current.Levels[bottom];
                if (files.Length > 0)
                {
                    _current.TryRef();
                    bottomPlan = new CompactionPlan(_current, bottom, [.. files], [], manual: true) { OutputLevel = bottom };
                }
            }

            if (bottomPlan is not null)
            {
                RunCompaction(bottomPlan);
            }
        }
        finally
        {
            _compactionGate.Release();
        }
    }

    /// <summary>Runs one compaction and installs its result. Requires: the compaction gate, not _mutex.</summary>
    // Runs a few times a minute, each time for seconds: tiered JIT would run it as unoptimized code with
    // on-stack replacement, measured as a tenth of the node's CPU under a write load.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void RunCompaction(CompactionPlan plan)
    {
        try
        {
            if (!plan.Manual && plan.Inputs.Count == 1 && plan.Next.Count == 0 && plan.Level > 0)
            {
                // Trivial move: nothing to merge with, so the table changes level without being rewritten.
                Install(plan, [(plan.OutputLevel, plan.Inputs[0])], moved: true);
                return;
            }

            var outputs = MergeInputs(plan);
            Install(plan, outputs, moved: false);
        }
        finally
        {
            plan.Version.Unref();
        }
    }

    private List<(int Level, FileMeta File)> MergeInputs(CompactionPlan plan)
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
        if (plan.Level == 0)
        {
            foreach (var file in plan.Inputs)
            {
                children.Add(file.Reader!.NewIterator(false));
                bytesRead += file.Size;
            }
        }
        else
        {
            children.Add(new LevelIterator([.. plan.Inputs], fillCache: false));
            foreach (var file in plan.Inputs)
            {
                bytesRead += file.Size;
            }
        }

        if (plan.Next.Count > 0)
        {
            children.Add(new LevelIterator([.. plan.Next], fillCache: false));
            foreach (var file in plan.Next)
            {
                bytesRead += file.Size;
            }
        }

        var outputs = new List<(int Level, FileMeta File)>();
        var lastKey = new byte[256];
        var lastKeyLength = -1;
        var lastSequenceForKey = ulong.MaxValue;
        OutputTable? output = null;
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

                    // Cut output tables only between keys, so all versions of a key stay in one table.
                    if (output is not null && output.Builder.EstimatedFileBytes >= _options.TargetFileBytes)
                    {
                        outputs.Add((plan.OutputLevel, FinishOutput(output)));
                        output = null;
                    }
                }

                var drop = false;
                if (lastSequenceForKey <= smallestSnapshot)
                {
                    drop = true; // a newer version visible to every reader hides this one
                }
                else if (sequence <= smallestSnapshot && IsBaseLevelForKey(plan, ordered))
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

                output ??= NewOutput(plan.OutputLevel);
                output.Builder.Add(key, merged.Value);
            }

            if (output is not null)
            {
                outputs.Add((plan.OutputLevel, FinishOutput(output)));
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
    private static bool IsBaseLevelForKey(CompactionPlan plan, ReadOnlySpan<byte> ordered)
    {
        for (var level = plan.OutputLevel + 1; level < Version.LevelCount; level++)
        {
            if (plan.Version.FindFile(level, ordered) >= 0)
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
        var meta = new FileMeta(output.Number, props.FileBytes, props.SmallestKey, props.LargestKey, props.MinSequence, props.MaxSequence);
        OpenReader(meta);
        StorageStatistics.Add(ref _stats._bytesCompactedWritten, props.FileBytes);
        return meta;
    }

    private void Install(CompactionPlan plan, List<(int Level, FileMeta File)> outputs, bool moved)
    {
        _fs.SyncDirectory(_directory); // the outputs' names, before a manifest lists them
        var removed = new List<FileMeta>(plan.Inputs);
        removed.AddRange(plan.Next);
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

                    if (plan.Level > 0)
                    {
                        _compactPointers[plan.Level] = plan.Inputs[^1].Largest;
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

    /// <summary>What one compaction reads: tables of a level and the overlapping tables of the next.</summary>
    private sealed class CompactionPlan(Version version, int level, List<FileMeta> inputs, List<FileMeta> next, bool manual)
    {
        /// <summary>The version the plan was made from; the plan holds a reference.</summary>
        public Version Version { get; } = version;

        public int Level { get; } = level;

        public int OutputLevel { get; init; } = level + 1;

        public List<FileMeta> Inputs { get; } = inputs;

        public List<FileMeta> Next { get; } = next;

        public bool Manual { get; } = manual;
    }

    private sealed class OutputTable(long number, string path, Fs.IWritableFile file, TableBuilder builder)
    {
        public long Number { get; } = number;

        public Fs.IWritableFile File { get; } = file;

        public TableBuilder Builder { get; } = builder;

        public void Abandon(Fs.IFileSystem fs)
        {
            File.Dispose();
            fs.Delete(path);
        }
    }
}
