using System;
using System.Buffers;
using System.Collections.Generic;
using RingKV.Core.Hashing;
using RingKV.Storage.Stats;

namespace RingKV.Storage;

/// <summary>An embedded, crash-safe log-structured merge tree ordered by (token, key).</summary>
public sealed partial class StorageEngine : IDisposable
{
    /// <summary>Opens (creating or recovering) the engine in <see cref="StorageOptions.Directory"/>.</summary>
    public static StorageEngine Open(StorageOptions options) => throw new NotImplementedException();

    /// <summary>Counters.</summary>
    public StorageStatistics Statistics => throw new NotImplementedException();

    /// <summary>Stores a value.</summary>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => throw new NotImplementedException();

    /// <summary>Stores a value that expires at <paramref name="expiresAt"/>.</summary>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, DateTimeOffset expiresAt) => throw new NotImplementedException();

    /// <summary>Deletes a key.</summary>
    public void Delete(ReadOnlySpan<byte> key) => throw new NotImplementedException();

    /// <summary>Merges an operand into the stored value through the merge hook.</summary>
    public void Merge(ReadOnlySpan<byte> key, ReadOnlySpan<byte> operand) => throw new NotImplementedException();

    /// <summary>Applies a batch atomically.</summary>
    public void Write(WriteBatch batch) => throw new NotImplementedException();

    /// <summary>Reads the live value of a key into <paramref name="value"/>; false when absent, deleted or expired.</summary>
    public bool TryGet(ReadOnlySpan<byte> key, IBufferWriter<byte> value) => throw new NotImplementedException();

    /// <summary>Reads the live value of a key, or null.</summary>
    public byte[]? Get(ReadOnlySpan<byte> key) => throw new NotImplementedException();

    /// <summary>Iterates live records whose token lies in <paramref name="range"/>, in (token, key) order, as of now or of <paramref name="snapshot"/>.</summary>
    public StorageIterator NewIterator(TokenRange range, StorageSnapshot? snapshot = null) => throw new NotImplementedException();

    /// <summary>Pins the current state for consistent reads.</summary>
    public StorageSnapshot GetSnapshot() => throw new NotImplementedException();

    /// <summary>Flushes the memtable to a table and waits.</summary>
    public void Flush() => throw new NotImplementedException();

    /// <summary>Compacts everything into the last level and waits.</summary>
    public void CompactAll() => throw new NotImplementedException();

    /// <summary>Files and bytes per level.</summary>
    public IReadOnlyList<LevelInfo> GetLevels() => throw new NotImplementedException();

    /// <summary>Bytes held in memory: memtables, block cache, filters and indexes.</summary>
    public long MemoryBytes => throw new NotImplementedException();

    /// <summary>Flushes and syncs the log and closes every file.</summary>
    public void Dispose() => throw new NotImplementedException();
}
