using System.Threading;

using RingKV.Storage.Stats;

namespace RingKV.Storage;

/// <summary>Counters of one engine; updated with Interlocked (the read path's per core) and read at any time.</summary>
/// <remarks>Thread-safe. Per-level file counts and sizes come from the current version, not from here.</remarks>
public sealed class StorageStatistics
{
    internal readonly StripedCounter _gets = new();
    internal readonly StripedCounter _getHits = new();
    internal long _puts;
    internal long _deletes;
    internal long _merges;
    internal readonly StripedCounter _bloomChecks = new();
    internal readonly StripedCounter _bloomNegatives = new();
    internal long _bloomFalsePositives;
    internal readonly StripedCounter _cacheHits = new();
    internal readonly StripedCounter _cacheMisses = new();
    internal readonly StripedCounter _blockReads = new();
    internal long _bytesWrittenToLog;
    internal long _logSyncs;
    internal long _flushes;
    internal long _bytesFlushed;
    internal long _ingests;
    internal long _bytesIngested;
    internal long _compactions;
    internal long _bytesCompactedRead;
    internal long _bytesCompactedWritten;
    internal long _writeStalls;
    internal long _writeStallMicros;
    internal long _writeSlowdowns;
    internal long _tombstonesDropped;
    internal long _expiredDropped;
    internal long _corruptLogBytesDropped;
    internal long _backgroundErrors;

    /// <summary>Point reads.</summary>
    public long Gets => _gets.Value;

    /// <summary>Point reads that found a live value.</summary>
    public long GetHits => _getHits.Value;

    /// <summary>Puts, including each put of a batch.</summary>
    public long Puts => Volatile.Read(ref _puts);

    /// <summary>Deletes.</summary>
    public long Deletes => Volatile.Read(ref _deletes);

    /// <summary>Merges through the merge hook.</summary>
    public long Merges => Volatile.Read(ref _merges);

    /// <summary>Bloom filter probes.</summary>
    public long BloomChecks => _bloomChecks.Value;

    /// <summary>Probes where the filter said the key is absent (a table read saved).</summary>
    public long BloomNegatives => _bloomNegatives.Value;

    /// <summary>Probes where the filter said maybe but the table did not hold the key.</summary>
    public long BloomFalsePositives => Volatile.Read(ref _bloomFalsePositives);

    /// <summary>Block cache hits.</summary>
    public long CacheHits => _cacheHits.Value;

    /// <summary>Block cache misses.</summary>
    public long CacheMisses => _cacheMisses.Value;

    /// <summary>Blocks read from files.</summary>
    public long BlockReads => _blockReads.Value;

    /// <summary>Bytes appended to the commit log.</summary>
    public long BytesWrittenToLog => Volatile.Read(ref _bytesWrittenToLog);

    /// <summary>fsyncs of the commit log.</summary>
    public long LogSyncs => Volatile.Read(ref _logSyncs);

    /// <summary>Memtable flushes.</summary>
    public long Flushes => Volatile.Read(ref _flushes);

    /// <summary>Bytes of tables written by flushes.</summary>
    public long BytesFlushed => Volatile.Read(ref _bytesFlushed);

    /// <summary>Tables stored by <see cref="StorageEngine.IngestRuns"/>.</summary>
    public long Ingests => Volatile.Read(ref _ingests);

    /// <summary>Bytes of the tables <see cref="StorageEngine.IngestRuns"/> stored.</summary>
    public long BytesIngested => Volatile.Read(ref _bytesIngested);

    /// <summary>Compactions finished.</summary>
    public long Compactions => Volatile.Read(ref _compactions);

    /// <summary>Bytes of tables read by compactions.</summary>
    public long BytesCompactedRead => Volatile.Read(ref _bytesCompactedRead);

    /// <summary>Bytes of tables written by compactions.</summary>
    public long BytesCompactedWritten => Volatile.Read(ref _bytesCompactedWritten);

    /// <summary>Writes that waited for a flush or compaction (hard stall).</summary>
    public long WriteStalls => Volatile.Read(ref _writeStalls);

    /// <summary>Total time writers spent stalled, in microseconds.</summary>
    public long WriteStallMicros => Volatile.Read(ref _writeStallMicros);

    /// <summary>Writes delayed by a short pause because level 0 is filling (soft stall).</summary>
    public long WriteSlowdowns => Volatile.Read(ref _writeSlowdowns);

    /// <summary>Tombstones removed by compaction.</summary>
    public long TombstonesDropped => Volatile.Read(ref _tombstonesDropped);

    /// <summary>Expired records removed by compaction.</summary>
    public long ExpiredDropped => Volatile.Read(ref _expiredDropped);

    /// <summary>Bytes of damaged or torn commit-log tail dropped at recovery.</summary>
    public long CorruptLogBytesDropped => Volatile.Read(ref _corruptLogBytesDropped);

    /// <summary>Failures of background flush or compaction.</summary>
    public long BackgroundErrors => Volatile.Read(ref _backgroundErrors);

    internal static void Add(ref long counter, long value) => Interlocked.Add(ref counter, value);

    internal static void Increment(ref long counter) => Interlocked.Increment(ref counter);
}
