using RingKV.Storage;

namespace RingKV.Bench;

/// <summary>The parsed command line of <c>storage</c>: what both engines are given alike.</summary>
internal sealed record BenchSettings(
    long Keys,
    int ValueBytes,
    long CacheBytes,
    long MemtableBytes,
    SyncPolicy Sync,
    string ParentDirectory,
    long Reads,
    ulong Seed,
    string[] Engines,
    int Threads,
    bool Keep,
    int CompactionNice,
    int Runs,
    long? ScanCount,
    int ScanLength)
{
    /// <summary>
    /// Frozen memtables waiting for flush before writes stall: RingKV's engine keeps up to two (not an option), so
    /// RocksDB gets <c>max_write_buffer_number</c> = 1 + this.
    /// </summary>
    public const int FrozenMemtables = 2;

    /// <summary>Bloom filter bits per key, both engines.</summary>
    public const int BloomBitsPerKey = 10;

    /// <summary>Uncompressed data block size, both engines.</summary>
    public const int BlockBytes = 4096;

    /// <summary>Records read by one range scan unless <c>--scan-length</c> says otherwise.</summary>
    public const int DefaultScanLength = 100;

    /// <summary>Range scans: <c>--scans</c>, else reads / 100, at least 100.</summary>
    public long Scans => ScanCount ?? System.Math.Max(100, Reads / 100);
}
