using System;

namespace RingKV.Storage;

/// <summary>Settings of one engine. Defaults suit a server node with a few GiB of memory.</summary>
public sealed class StorageOptions
{
    /// <summary>The engine's directory; created when missing.</summary>
    public required string Directory { get; init; }

    /// <summary>When the commit log is fsynced. Default: <see cref="SyncPolicy.Always"/>.</summary>
    public SyncPolicy Sync { get; init; } = SyncPolicy.Always;

    /// <summary>Size of one memtable; a full one is frozen and flushed. Default 64 MiB.</summary>
    public long MemtableBytes { get; init; } = 64L << 20;

    /// <summary>Byte budget of the block cache of decompressed blocks. Default 128 MiB.</summary>
    public long BlockCacheBytes { get; init; } = 128L << 20;

    /// <summary>
    /// When set, the memory the engine may hold (memtables + block cache + filters + indexes); it then
    /// overrides <see cref="MemtableBytes"/> (a quarter, over two memtables) and <see cref="BlockCacheBytes"/>
    /// (the rest, shrunk as filters and indexes grow).
    /// </summary>
    public long? MemoryBudgetBytes { get; init; }

    /// <summary>Compression of table blocks in levels 0 to 2. Default LZ4.</summary>
    public CompressionKind Compression { get; init; } = CompressionKind.Lz4;

    /// <summary>Compression of table blocks in levels 3 and deeper (cold data). Default LZ4.</summary>
    public CompressionKind ColdCompression { get; init; } = CompressionKind.Lz4;

    /// <summary>Bloom filter bits per key; 0 disables filters. Default 10 (about 1% false positives).</summary>
    public int BloomBitsPerKey { get; init; } = 10;

    /// <summary>Uncompressed size a data block is cut at. Default 4 KiB.</summary>
    public int BlockSizeBytes { get; init; } = 4096;

    /// <summary>Entries between restart points in a block. Default 16.</summary>
    public int BlockRestartInterval { get; init; } = 16;

    /// <summary>Size compaction cuts output tables at. Default 32 MiB.</summary>
    public long TargetFileBytes { get; init; } = 32L << 20;

    /// <summary>Target size of level 1; each deeper level is <see cref="LevelSizeMultiplier"/> times larger. Default 256 MiB.</summary>
    public long Level1Bytes { get; init; } = 256L << 20;

    /// <summary>Growth factor between levels. Default 10.</summary>
    public int LevelSizeMultiplier { get; init; } = 10;

    /// <summary>Level-0 tables that start a compaction into level 1. Default 4.</summary>
    public int Level0CompactionTrigger { get; init; } = 4;

    /// <summary>Level-0 tables at which each write is delayed a little. Default 12.</summary>
    public int Level0SlowdownTrigger { get; init; } = 12;

    /// <summary>Level-0 tables at which writes wait for compaction. Default 20.</summary>
    public int Level0StopTrigger { get; init; } = 20;

    /// <summary>
    /// The nice value (Linux, 0 to 19) the compaction thread runs at; 0 leaves it at the process's. Default 10.
    /// </summary>
    /// <remarks>
    /// Compaction is deferrable work: when the cores are busy serving requests, the scheduler then gives it a small share
    /// (about a tenth of a contended core at 10) and it catches up in the gaps, instead of taking half of the CPU from the
    /// request threads in the middle of a burst. Writes still cannot outrun it for long: level-0 tables pile up to
    /// <see cref="Level0SlowdownTrigger"/> and <see cref="Level0StopTrigger"/>, which hold writers back. RocksDB lowers
    /// its compaction threads' priority for the same reason; Cassandra throttles compaction throughput. Flushes keep the
    /// process's priority: a lagging flush stops writes at once.
    /// </remarks>
    public int CompactionNice { get; init; } = 10;

    /// <summary>How long a tombstone is kept before compaction may drop it. Default 10 days (Cassandra's gc_grace_seconds).</summary>
    public TimeSpan TombstoneGrace { get; init; } = TimeSpan.FromDays(10);

    /// <summary>Size of one commit-log segment before a new one starts. Default 64 MiB.</summary>
    public long LogSegmentBytes { get; init; } = 64L << 20;

    /// <summary>Largest key accepted, in bytes. Default 64 KiB.</summary>
    public int MaxKeyBytes { get; init; } = 64 * 1024;

    /// <summary>Largest value accepted, in bytes. Default 16 MiB.</summary>
    public int MaxValueBytes { get; init; } = 16 << 20;

    /// <summary>The merge hook used by <see cref="StorageEngine.Merge"/>; null disables merges.</summary>
    public IMergeOperator? MergeOperator { get; init; }

    /// <summary>Disk access; tests pass a faulty one.</summary>
    public IFileSystem FileSystem { get; init; } = PosixFileSystem.Instance;

    /// <summary>Wall clock for TTL and tombstone grace; tests pass a manual one.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
