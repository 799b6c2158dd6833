using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using RingKV.Core.Errors;
using RingKV.Storage.Cache;
using RingKV.Storage.Commit;
using RingKV.Storage.Compaction;
using RingKV.Storage.Log;
using RingKV.Storage.Memtables;
using RingKV.Storage.Versions;
using Version = RingKV.Storage.Versions.Version;

namespace RingKV.Storage;

/// <summary>An embedded, crash-safe log-structured merge tree ordered by (token, key).</summary>
/// <remarks>
/// Thread-safe: any number of readers and writers. Writes go through one queue, the commit pipeline
/// (<see cref="CommitPipeline"/>): a leader takes the writes queued behind it as one group, appends the group to the
/// commit log as one record (one fsync for all under <see cref="SyncMode.Always"/>), inserts it into the memtable
/// and completes every writer of the group; <see cref="WriteAsync"/> never parks its caller. A full memtable is frozen and flushed to a level-0 table by a
/// background thread; a second background thread compacts levels (what and why: <see cref="CompactionPicker"/>).
/// Reads take no lock: they pin a <see cref="SuperVersion"/>.
/// Lock order: the pipeline's queue lock is never held while taking <c>_mutex</c>, nor the reverse; no I/O under it except creating a log segment and writing the manifest.
/// The partials follow concepts: Write (the write calls), Commit (the engine's side of the pipeline: room, encoding,
/// merges), Memtables (inserting a group, switching memtables and log segments, stalls), Read, Flush, Compaction,
/// Versions (installing a version and its manifest), Tables (opening and numbering table files), Recovery (opening
/// from disk) and Background (the loop both background threads run, and the sticky error).
/// </remarks>
public sealed partial class StorageEngine : IDisposable
{
    /// <summary>Frozen memtables allowed to wait for flush before writes stall.</summary>
    private const int MaxImmutables = 2;

    private readonly StorageOptions _options;
    private readonly IFileSystem _fs;
    private readonly string _directory;
    private readonly StorageStatistics _stats = new();
    private readonly BlockCache _cache;
    private readonly IDisposable _lockFile;
    private readonly long _memtableBytes;
    private readonly long? _cacheBudgetBytes;
    private readonly List<string> _recoveryNotes = [];
    private readonly Thread _flushThread;
    private readonly Thread _compactionThread;
    private readonly SemaphoreSlim _compactionGate = new(1, 1);
    private readonly CompactionPicker _picker;

    // Background threads wait on their own signals, not on _mutex, so the PulseAll that ends every write
    // group does not wake them.
    private readonly AutoResetEvent _flushSignal = new(false);
    private readonly AutoResetEvent _compactionSignal = new(false);
    private readonly ManualResetEventSlim _closedSignal = new(false);

    // The writer queue, group leader, log append and sync (periodic syncer included).
    private readonly CommitPipeline _commits;

    // Serializes version edits (flush and compaction installs), which write the manifest outside _mutex.
    private readonly Lock _versionEdit = new();

    // Guarded by _mutex (a monitor, for its Wait/PulseAll).
    private readonly object _mutex = new();
    private readonly List<Memtable> _immutables = []; // oldest first
    private readonly SortedDictionary<ulong, int> _snapshots = [];
    private readonly byte[]?[] _compactPointers = new byte[Version.LevelCount][];
    private Memtable _mem;
    private Version _current;
    private CommitLogWriter _log;
    private long _nextFileNumber;
    private Exception? _backgroundError;
    private bool _closing;

    private SuperVersion _super;
    private ulong _lastSequence;
    private int _disposed;

    private StorageEngine(StorageOptions options, IDisposable lockFile)
    {
        _options = options;
        _fs = options.FileSystem;
        _directory = options.Directory;
        _lockFile = lockFile;
        if (options.MemoryBudgetBytes is { } budget)
        {
            // A quarter for memtables (the active one and up to MaxImmutables frozen), the rest for the
            // block cache minus what filters and indexes pin (see ResizeCacheLocked).
            _memtableBytes = Math.Max(64 * 1024, budget / 4 / (1 + MaxImmutables));
            _cacheBudgetBytes = budget - (_memtableBytes * (1 + MaxImmutables));
        }
        else
        {
            _memtableBytes = options.MemtableBytes;
        }

        _cache = new BlockCache(_cacheBudgetBytes ?? options.BlockCacheBytes);
        _picker = CompactionPicker.For(options);
        _mem = null!;
        _current = null!;
        _log = null!;
        _super = null!;
        _flushThread = new Thread(FlushLoop) { IsBackground = true, Name = "ringkv-flush" };
        _compactionThread = new Thread(CompactionLoop) { IsBackground = true, Name = "ringkv-compaction" };
        _commits = new CommitPipeline(this, options.Sync, _stats);
    }

    /// <summary>Counters.</summary>
    public StorageStatistics Statistics => _stats;

    /// <summary>
    /// The sequence number of the newest visible write. It only grows, survives reopening (as far as the
    /// sync policy kept the writes), and every later write gets a higher one.
    /// </summary>
    public ulong LastSequence => Volatile.Read(ref _lastSequence);

    /// <summary>What recovery found and dropped (torn log tails, orphan files), for the operator's log.</summary>
    public IReadOnlyList<string> RecoveryNotes => _recoveryNotes;

    /// <summary>What recovery did: records replayed from the commit log, tables opened and written, time taken.</summary>
    public RecoveryStatistics Recovery { get; private set; } = new(0, 0, 0, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The failure that stopped background work, if any; writes report it until reopen.</summary>
    public Exception? BackgroundError
    {
        get
        {
            lock (_mutex)
            {
                return _backgroundError;
            }
        }
    }

    /// <summary>Bytes held in memory: memtables, block cache, filters and indexes.</summary>
    public long MemoryBytes
    {
        get
        {
            var sv = AcquireSuper();
            try
            {
                var total = sv.Mem.AllocatedBytes + _cache.UsageBytes;
                foreach (var imm in sv.Immutables)
                {
                    total += imm.AllocatedBytes;
                }

                return total + MetadataBytes(sv.Version);
            }
            finally
            {
                sv.Unref();
            }
        }
    }

    /// <summary>Opens (creating or recovering) the engine in <see cref="StorageOptions.Directory"/>.</summary>
    public static StorageEngine Open(StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        var fs = options.FileSystem;
        fs.CreateDirectory(options.Directory);
        IDisposable lockFile;
        try
        {
            lockFile = fs.Lock(Path.Combine(options.Directory, FileNames.Lock));
        }
        catch (IOException e)
        {
            throw new RingKVException(ErrorCode.Locked, $"the engine directory {options.Directory} is in use by another process", e);
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var engine = new StorageEngine(options, lockFile);
        try
        {
            engine.Recover();
            engine.Recovery = engine.Recovery with { Duration = System.Diagnostics.Stopwatch.GetElapsedTime(started) };
        }
        catch
        {
            engine.CloseFiles();
            throw;
        }

        engine._flushThread.Start();
        engine._compactionThread.Start();
        engine._commits.Start();
        lock (engine._mutex)
        {
            engine.MaybeScheduleCompactionLocked();
        }

        return engine;
    }

    /// <summary>Files, bytes, entries and tombstones per level.</summary>
    public IReadOnlyList<LevelInfo> GetLevels()
    {
        lock (_mutex)
        {
            var result = new LevelInfo[Version.LevelCount];
            for (var level = 0; level < Version.LevelCount; level++)
            {
                long entries = 0, tombstones = 0;
                foreach (var file in _current.Levels[level])
                {
                    entries += file.EntryCount;
                    tombstones += file.TombstoneCount;
                }

                var target = level == 0 ? 0 : _picker.LevelTargetBytes(level);
                result[level] = new LevelInfo(level, _current.Levels[level].Length, _current.LevelBytes(level), target, entries, tombstones);
            }

            return result;
        }
    }

    /// <summary>Flushes and syncs the log and closes every file; in-flight background work is abandoned safely.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Waits for the write queue to drain so no leader is mid-append; later writes are refused.
        _commits.Dispose();
        lock (_mutex)
        {
            _closing = true;
            Monitor.PulseAll(_mutex);
        }

        _closedSignal.Set();
        _flushSignal.Set();
        _compactionSignal.Set();

        _flushThread.Join();
        _compactionThread.Join();
        CloseFiles();
        _flushSignal.Dispose();
        _compactionSignal.Dispose();
        _closedSignal.Dispose();
        _compactionGate.Dispose();
    }

    private static void Validate(StorageOptions o)
    {
        static void Require(bool ok, string message)
        {
            if (!ok)
            {
                ThrowHelper.InvalidArgument(message);
            }
        }

        Require(!string.IsNullOrWhiteSpace(o.Directory), "StorageOptions.Directory must be set");
        Require(o.MemtableBytes >= 4096 && o.MemtableBytes <= (1L << 30), "MemtableBytes must be between 4 KiB and 1 GiB");
        Require(o.BlockCacheBytes >= 0, "BlockCacheBytes must not be negative");
        Require(o.MemoryBudgetBytes is null || o.MemoryBudgetBytes >= (1L << 20), "MemoryBudgetBytes must be at least 1 MiB");
        Require(o.BloomBitsPerKey is >= 0 and <= 64, "BloomBitsPerKey must be between 0 and 64");
        Require(o.BlockSizeBytes is >= 256 and <= (1 << 20), "BlockSizeBytes must be between 256 B and 1 MiB");
        Require(o.BlockRestartInterval is >= 1 and <= 1024, "BlockRestartInterval must be between 1 and 1024");
        Require(o.TargetFileBytes >= 4096, "TargetFileBytes must be at least 4 KiB");
        Require(o.Level1Bytes >= 4096, "Level1Bytes must be at least 4 KiB");
        Require(o.LevelSizeMultiplier >= 2, "LevelSizeMultiplier must be at least 2");
        Require(o.Level0CompactionTrigger >= 1 && o.Level0SlowdownTrigger >= o.Level0CompactionTrigger && o.Level0StopTrigger >= o.Level0SlowdownTrigger,
            "Level0 triggers must satisfy 1 <= compaction <= slowdown <= stop");
        Require(o.CompactionNice is >= 0 and <= 19, "CompactionNice must be between 0 and 19");
        Require(o.TombstoneGrace >= TimeSpan.Zero, "TombstoneGrace must not be negative");
        Require(o.LogSegmentBytes >= 4096, "LogSegmentBytes must be at least 4 KiB");
        Require(o.MaxKeyBytes is >= 1 and <= (1 << 20), "MaxKeyBytes must be between 1 B and 1 MiB");
        Require(o.MaxValueBytes is >= 0 and <= (256 << 20) - (1 << 20), "MaxValueBytes must be between 0 and 255 MiB");
    }

    private static long MetadataBytes(Version version)
    {
        long total = 0;
        foreach (var level in version.Levels)
        {
            foreach (var file in level)
            {
                total += file.Reader?.MetadataBytes ?? 0;
            }
        }

        return total;
    }

    private void CloseFiles()
    {
        try
        {
            _log?.Dispose();
        }
        finally
        {
            _super?.Unref();
            _current?.Unref();
            _lockFile.Dispose();
        }
    }

    private SuperVersion AcquireSuper()
    {
        while (true)
        {
            var sv = Volatile.Read(ref _super);
            if (sv.TryRef())
            {
                return sv;
            }
        }
    }

    /// <summary>Publishes a new super version after the memtables or the version changed. Requires: _mutex.</summary>
    private void InstallSuperVersionLocked()
    {
        var imms = new Memtable[_immutables.Count];
        for (var i = 0; i < imms.Length; i++)
        {
            imms[i] = _immutables[_immutables.Count - 1 - i];
        }

        _current.TryRef();
        var old = Interlocked.Exchange(ref _super, new SuperVersion(_mem, imms, _current));
        old?.Unref();
        ResizeCacheLocked();
    }

    /// <summary>Under a memory budget, gives the cache what memtables, filters and indexes leave. Requires: _mutex.</summary>
    private void ResizeCacheLocked()
    {
        if (_cacheBudgetBytes is { } budget)
        {
            _cache.CapacityBytes = Math.Max(budget / 8, budget - MetadataBytes(_current));
        }
    }

    private void ThrowIfBackgroundErrorLocked()
    {
        if (_backgroundError is { } error)
        {
            ThrowHelper.Fail(ErrorCode.BackgroundFailure, $"the engine stopped accepting writes after a background failure: {error.Message}", error);
        }

        if (_closing || Volatile.Read(ref _disposed) != 0)
        {
            ThrowHelper.Closed();
        }
    }
}
