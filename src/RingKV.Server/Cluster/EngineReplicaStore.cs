using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO.Hashing;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Errors;
using RingKV.Core.Hashing;
using RingKV.Core.Versioning;
using RingKV.Server.Store;
using RingKV.Storage;

namespace RingKV.Server.Cluster;

/// <summary>A cluster node's own replica over its storage engine: the records <see cref="LocalStore"/> keeps (an encoded sibling set per key, the expiry on the engine record).</summary>
/// <remarks>
/// <see cref="Submit"/> runs on the node loop and returns at once; point reads run inline, merges wait for
/// <see cref="DispatchMerges"/> and run as one batch on the thread pool, other work runs on the thread pool; every answer
/// goes to the callback, which queues it for the loop (never calling the node back from inside Submit). A merge reads,
/// merges and writes the key under the key's stripe lock, so two merges of one key never lose each other; their order
/// does not matter, as sibling-set merges commute.
/// An acknowledged merge is as durable as the engine's sync policy makes a write.
/// </remarks>
internal sealed class EngineReplicaStore : IReplicaStore
{
    /// <summary>A merged set and its record's expiry (0: none).</summary>
    private readonly record struct Merged(SiblingSet Set, long ExpiresAtUnixMs);

    private const int StripeCount = 4096;
    private readonly StorageEngine _engine;
    private readonly Action<StorageDone> _done;
    private readonly TimeProvider _time;
    private const int MaxMergeBatch = 256;
    private const int MaxMergeBatchBytes = 1 << 20;
    private readonly StripeLocks _stripes = new(StripeCount);
    private readonly ConcurrentQueue<List<StorageRequest>> _spareBatches = new();

    // Merges submitted in the loop's current round (loop thread only), and the last batch's size to presize the next.
    private List<StorageRequest> _merges = new(MaxMergeBatch);
    private int _mergeBytes;
    private int _mergeBatchHint;

    public EngineReplicaStore(StorageEngine engine, Action<StorageDone> done, TimeProvider time)
    {
        _engine = engine;
        _done = done;
        _time = time;
    }

    public void Submit(in StorageRequest request)
    {
        if (request.Operation == StorageOperation.Read)
        {
            // A point read is a memtable or block-cache lookup, or one pread on a miss (as the single node's GET on its
            // socket thread): run on the caller's thread (it completes there, having nothing to await), its answer queued
            // behind the current event rather than sent through the thread pool, which cost two thread switches per read.
            _ = RunAsync(request);
            return;
        }

        if (request.Operation == StorageOperation.Merge)
        {
            // Merges wait for the end of the loop's round of events (DispatchMerges) and go to the engine as one batch.
            _merges.Add(request);
            _mergeBytes += request.Key.Length + request.Record.Set.Length;
            if (_merges.Count >= MaxMergeBatch || _mergeBytes >= MaxMergeBatchBytes)
            {
                DispatchMerges();
            }

            return;
        }

        var copy = request;
        ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Store.RunAsync(state.Request), (Store: this, Request: copy), preferLocal: false);
    }

    /// <summary>
    /// Sends the merges submitted since the last call to the thread pool as one batch. The host calls it after each round
    /// of events it handled (Submit also does once a batch is full), from the thread that calls Submit.
    /// </summary>
    /// <remarks>
    /// One batch is one work item, one acquisition of its keys' stripes, one engine write and one commit group: per merge
    /// the work items, commit-pipeline groups and thread switches were the cluster's write cost at -P 16.
    /// </remarks>
    public void DispatchMerges()
    {
        if (_merges.Count == 0)
        {
            return;
        }

        var batch = _merges;
        _merges = _spareBatches.TryDequeue(out var spare) ? spare : new List<StorageRequest>(MaxMergeBatch);
        _mergeBytes = 0;
        ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Store.MergeBatchAsync(state.Batch), (Store: this, Batch: batch), preferLocal: false);
    }

    private async Task RunAsync(StorageRequest request)
    {
        StorageDone done;
        try
        {
            done = request.Operation switch
            {
                StorageOperation.Read => Read(request),
                StorageOperation.Scan => Scan(request),
                StorageOperation.Count => Count(request),
                _ => await FlushAsync(request).ConfigureAwait(false),
            };
        }
        catch (Exception e) when (e is RingKVException or System.IO.IOException or ObjectDisposedException)
        {
            done = new StorageDone(request.Tag, ReplicaStatus.Error, Error: e.Message);
        }

        _done(done);
    }

    private StorageDone Read(in StorageRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        if (!_engine.TryGet(request.Key, buffer, out var expiresAt))
        {
            return new StorageDone(request.Tag, ReplicaStatus.Ok, ReplicaRecord.None);
        }

        return new StorageDone(request.Tag, ReplicaStatus.Ok, new ReplicaRecord(buffer.WrittenSpan.ToArray(), expiresAt?.ToUnixTimeMilliseconds() ?? 0));
    }

    /// <summary>
    /// Merges a batch of deltas into the stored records: the keys' stripes are taken (in stripe order, so two batches
    /// never wait on each other in a cycle), each stored set is read, merged and encoded into one write batch, and one
    /// engine write makes them all durable; then every merge is answered. A key twice in the batch merges its second delta
    /// into the first's result. When the engine refuses the batch as a whole (a key or value over its limits), each merge
    /// is written alone so only the offending ones fail.
    /// </summary>
    private async Task MergeBatchAsync(List<StorageRequest> requests)
    {
        var count = requests.Count;
        var stripes = ArrayPool<int>.Shared.Rent(count);
        var held = ArrayPool<int>.Shared.Rent(count);
        var results = ArrayPool<Merged?>.Shared.Rent(count);
        var heldCount = 0;
        var merging = 0; // requests before it are answered or have a result
        try
        {
            for (var i = 0; i < count; i++)
            {
                stripes[i] = StripeOf(requests[i].Key);
                held[i] = stripes[i];
            }

            Array.Sort(held, 0, count);
            for (var i = 0; i < count; i++)
            {
                if (heldCount == 0 || held[heldCount - 1] != held[i])
                {
                    held[heldCount++] = held[i];
                }
            }

            for (var i = 0; i < heldCount; i++)
            {
                await _stripes.AcquireAsync(held[i]).ConfigureAwait(false);
            }

            var batch = new WriteBatch(Math.Max(256, _mergeBatchHint));
            var read = new ArrayBufferWriter<byte>(256);
            var encoded = new ArrayBufferWriter<byte>(256);
            for (; merging < count; merging++)
            {
                var i = merging;
                string error;
                try
                {
                    results[i] = MergeOne(requests, stripes, results, i, read, encoded, out error);
                }
                catch (RingKVException e)
                {
                    error = e.Message; // this key only (e.g. longer than the engine takes)
                }

                if (results[i] is { } merged)
                {
                    Put(batch, requests[i].Key, encoded.WrittenSpan, merged.ExpiresAtUnixMs);
                }
                else
                {
                    _done(new StorageDone(requests[i].Tag, ReplicaStatus.Error, Error: error));
                }
            }

            _mergeBatchHint = batch.ByteSize;
            try
            {
                await _engine.WriteAsync(batch).ConfigureAwait(false);
                Answer(requests, results, count, error: null);
            }
            catch (RingKVException) when (count > 1)
            {
                await WriteOneByOneAsync(requests, results, count).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is RingKVException or System.IO.IOException or ObjectDisposedException)
        {
            Answer(requests, results, merging, e.Message);
            for (var i = merging; i < count; i++)
            {
                _done(new StorageDone(requests[i].Tag, ReplicaStatus.Error, Error: e.Message));
            }
        }
        finally
        {
            for (var i = 0; i < heldCount; i++)
            {
                _stripes.Release(held[i]);
            }

            ArrayPool<int>.Shared.Return(stripes);
            ArrayPool<int>.Shared.Return(held);
            ArrayPool<Merged?>.Shared.Return(results, clearArray: true);
            requests.Clear();
            _spareBatches.Enqueue(requests);
        }
    }

    /// <summary>Decodes request <paramref name="i"/>'s delta and merges it into the key's current set; null (and why) when the delta is undecodable.</summary>
    /// <remarks>Leaves the merged set's encoding in <paramref name="encoded"/>.</remarks>
    private Merged? MergeOne(List<StorageRequest> requests, int[] stripes, Merged?[] results, int i, ArrayBufferWriter<byte> read, ArrayBufferWriter<byte> encoded, out string error)
    {
        var request = requests[i];
        if (!SiblingSet.TryDecode(request.Record.Set, out var delta, out var decodeError))
        {
            error = $"undecodable write: {decodeError}";
            return null;
        }

        error = "";
        var merged = delta;
        var expiry = request.Record.ExpiresAtUnixMs;
        if (EarlierInBatch(requests, stripes, results, i) is { } earlier)
        {
            merged = Merge(earlier.Set, earlier.ExpiresAtUnixMs, delta, ref expiry);
        }
        else
        {
            read.ResetWrittenCount();
            if (_engine.TryGet(request.Key, read, out var storedExpiry) && SiblingSet.TryDecode(read.WrittenSpan, out var stored, out _))
            {
                merged = Merge(stored, storedExpiry?.ToUnixTimeMilliseconds() ?? 0, delta, ref expiry);
            }
        }

        encoded.ResetWrittenCount();
        merged.Encode(encoded);
        return new Merged(merged, expiry);
    }

    /// <summary>The result of the last earlier merge of the same key in this batch, if any.</summary>
    private static Merged? EarlierInBatch(List<StorageRequest> requests, int[] stripes, Merged?[] results, int i)
    {
        for (var j = i - 1; j >= 0; j--)
        {
            if (stripes[j] == stripes[i] && results[j] is { } earlier && requests[j].Key.AsSpan().SequenceEqual(requests[i].Key))
            {
                return earlier;
            }
        }

        return null;
    }

    /// <summary>The stored set merged with a delta; the record's expiry belongs to the write whose sibling wins (a later SET without EX clears it).</summary>
    private static SiblingSet Merge(SiblingSet stored, long storedExpiry, SiblingSet delta, ref long expiry)
    {
        var storedWins = stored.Winner is { } s && (delta.Winner is not { } d || !d.WinsOver(s));
        if (storedWins)
        {
            expiry = storedExpiry;
        }

        return stored.Merge(delta);
    }

    private static void Put(WriteBatch batch, byte[] key, ReadOnlySpan<byte> encoded, long expiry)
    {
        if (expiry > 0)
        {
            batch.Put(key, encoded, DateTimeOffset.FromUnixTimeMilliseconds(expiry));
        }
        else
        {
            batch.Put(key, encoded);
        }
    }

    /// <summary>The fallback when the engine refused a whole batch: each merged record written alone, each answered by its own outcome.</summary>
    private async Task WriteOneByOneAsync(List<StorageRequest> requests, Merged?[] results, int count)
    {
        var encoded = new ArrayBufferWriter<byte>(256);
        for (var i = 0; i < count; i++)
        {
            if (results[i] is not { } merged)
            {
                continue;
            }

            try
            {
                encoded.ResetWrittenCount();
                merged.Set.Encode(encoded);
                var one = new WriteBatch(encoded.WrittenCount + requests[i].Key.Length + 32);
                Put(one, requests[i].Key, encoded.WrittenSpan, merged.ExpiresAtUnixMs);
                await _engine.WriteAsync(one).ConfigureAwait(false);
                _done(new StorageDone(requests[i].Tag, ReplicaStatus.Ok));
            }
            catch (RingKVException e)
            {
                _done(new StorageDone(requests[i].Tag, ReplicaStatus.Error, Error: e.Message));
            }
        }
    }

    /// <summary>Answers every merge of the batch that was not answered already (undecodable ones were): Ok, or the error.</summary>
    private void Answer(List<StorageRequest> requests, Merged?[] results, int count, string? error)
    {
        for (var i = 0; i < count; i++)
        {
            if (results[i] is not null)
            {
                _done(error is null ? new StorageDone(requests[i].Tag, ReplicaStatus.Ok) : new StorageDone(requests[i].Tag, ReplicaStatus.Error, Error: error));
            }
        }
    }

    private static int StripeOf(byte[] key) => (int)(XxHash64.HashToUInt64(key) % StripeCount);

    /// <summary>Records with tokens in [First, Last] in token order; stops after about Limit, never inside one token's records.</summary>
    private StorageDone Scan(in StorageRequest request)
    {
        var entries = new List<ScanEntry>();
        using var it = _engine.NewIterator(new TokenRange(new Token(request.First), new Token(request.Last)));
        var limit = Math.Max(1, request.Limit);
        ulong lastToken = 0;
        while (it.MoveNext())
        {
            var token = it.Token.Value;
            if (entries.Count >= limit && token != lastToken)
            {
                return new StorageDone(request.Tag, ReplicaStatus.Ok, Entries: entries, Complete: false, Next: token);
            }

            entries.Add(new ScanEntry(it.Key.ToArray(), new ReplicaRecord(it.Value.ToArray(), it.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0)));
            lastToken = token;
        }

        return new StorageDone(request.Tag, ReplicaStatus.Ok, Entries: entries, Complete: true);
    }

    /// <summary>Live, unexpired keys in the ranges, those with an expiry, and their time left.</summary>
    private StorageDone Count(in StorageRequest request)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        long keys = 0, expires = 0, ttlSum = 0;
        foreach (var (first, last) in request.Ranges ?? [])
        {
            using var it = _engine.NewIterator(new TokenRange(new Token(first), new Token(last)));
            while (it.MoveNext())
            {
                var expiry = it.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0;
                if ((expiry != 0 && expiry <= now) || !IsLive(it.Value))
                {
                    continue;
                }

                keys++;
                if (expiry != 0)
                {
                    expires++;
                    ttlSum += expiry - now;
                }
            }
        }

        return new StorageDone(request.Tag, ReplicaStatus.Ok, Keys: keys, Expires: expires, TtlSumMs: ttlSum);
    }

    private async ValueTask<StorageDone> FlushAsync(StorageRequest request)
    {
        await LocalStore.DeleteEveryKeyAsync(_engine).ConfigureAwait(false);
        return new StorageDone(request.Tag, ReplicaStatus.Ok);
    }

    private static bool IsLive(ReadOnlySpan<byte> encoded)
    {
        if (SiblingSetFastPath.TryGetWinner(encoded, out _, out var live))
        {
            return live;
        }

        return SiblingSet.TryDecode(encoded, out var set, out _) && set.TryGetWinnerValue(out _);
    }
}
