using System;
using System.Threading.Tasks;
using RingKV.Core.Errors;
using RingKV.Storage.Commit;

namespace RingKV.Storage;

public sealed partial class StorageEngine
{
    [ThreadStatic]
    private static WriteBatch? s_batch;

    /// <summary>Stores a value.</summary>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var batch = RentBatch();
        batch.Put(key, value);
        Write(batch);
    }

    /// <summary>Stores a value that expires at <paramref name="expiresAt"/>.</summary>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, DateTimeOffset expiresAt)
    {
        var batch = RentBatch();
        batch.Put(key, value, expiresAt);
        Write(batch);
    }

    /// <summary>Deletes a key (writes a tombstone).</summary>
    public void Delete(ReadOnlySpan<byte> key)
    {
        var batch = RentBatch();
        batch.Delete(key);
        Write(batch);
    }

    /// <summary>Merges an operand into the stored value through <see cref="StorageOptions.MergeOperator"/>.</summary>
    public void Merge(ReadOnlySpan<byte> key, ReadOnlySpan<byte> operand)
    {
        var batch = RentBatch();
        batch.Merge(key, operand);
        Write(batch);
    }

    /// <summary>Applies a batch atomically; returns once it is durable as the sync policy says. Parks the calling thread meanwhile.</summary>
    public void Write(WriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }

        CheckLimits(batch);
        _commits.Commit(CommitKind.Write, batch);
    }

    /// <summary>
    /// Applies a batch atomically without parking the caller; the task completes once the batch is durable as the sync
    /// policy says (and visible to reads). Completes synchronously in the common case of a periodic or no sync policy.
    /// </summary>
    /// <remarks>
    /// Requires: <paramref name="batch"/> unchanged until the task completes. An asynchronous write never waits for an
    /// fsync or a write stall on the caller's thread: those groups are led by the engine's commit thread, and the
    /// continuation runs on the thread pool. Invalid batches throw here, before anything is queued.
    /// </remarks>
    public ValueTask WriteAsync(WriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return default;
        }

        CheckLimits(batch);
        return _commits.CommitAsync(batch);
    }

    /// <summary>Makes every acknowledged write durable now, whatever the sync policy.</summary>
    public void SyncLog() => _commits.Commit(CommitKind.Sync, null);


    private static WriteBatch RentBatch()
    {
        var batch = s_batch ??= new WriteBatch(1024);
        batch.Clear();
        return batch;
    }

    private void CheckLimits(WriteBatch batch)
    {
        var reader = new WriteBatchReader(batch.Encoded);
        while (reader.TryRead(out var op, out var key, out var value))
        {
            if (key.Length > _options.MaxKeyBytes)
            {
                ThrowHelper.InvalidArgument($"key of {key.Length} bytes exceeds the limit of {_options.MaxKeyBytes} bytes");
            }

            var userLength = value.Length - (op == WriteBatch.OpPutWithExpiry ? 8 : 0);
            if (userLength > _options.MaxValueBytes)
            {
                ThrowHelper.InvalidArgument($"value of {userLength} bytes exceeds the limit of {_options.MaxValueBytes} bytes");
            }
        }

        if (batch.HasMerges && _options.MergeOperator is null)
        {
            ThrowHelper.InvalidArgument("Merge needs StorageOptions.MergeOperator");
        }
    }
}
