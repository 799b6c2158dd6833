using System;
using System.Buffers;
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
/// <see cref="Submit"/> runs on the node loop and returns at once; point reads run inline, other work on the thread pool, and
/// every answer goes to the callback, which queues it for the loop (never calling the node back from inside Submit). A merge reads, merges and writes the key under the key's stripe
/// lock, so two merges of one key never lose each other; their order does not matter, as sibling-set merges commute.
/// An acknowledged merge is as durable as the engine's sync policy makes a write.
/// </remarks>
internal sealed class EngineReplicaStore : IReplicaStore
{
    private const int StripeCount = 4096;
    private readonly StorageEngine _engine;
    private readonly Action<StorageDone> _done;
    private readonly TimeProvider _time;
    private readonly StripeLocks _stripes = new(StripeCount);

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

        // Merges (decode, merge, encode, the engine's write) run on the thread pool: done on the loop they made it the
        // bottleneck once every node coordinates (cluster-peers.sh splits the clients over the nodes).
        var copy = request;
        ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Store.RunAsync(state.Request), (Store: this, Request: copy), preferLocal: false);
    }

    private async Task RunAsync(StorageRequest request)
    {
        StorageDone done;
        try
        {
            done = request.Operation switch
            {
                StorageOperation.Read => Read(request),
                StorageOperation.Merge => await MergeAsync(request).ConfigureAwait(false),
                StorageOperation.Update => await UpdateAsync(request).ConfigureAwait(false),
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

    private async ValueTask<StorageDone> MergeAsync(StorageRequest request)
    {
        if (!SiblingSet.TryDecode(request.Record.Set, out var delta, out var error))
        {
            return new StorageDone(request.Tag, ReplicaStatus.Error, Error: $"undecodable write: {error}");
        }

        var stripe = (int)(XxHash64.HashToUInt64(request.Key) % StripeCount);
        await _stripes.AcquireAsync(stripe).ConfigureAwait(false);
        try
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            var merged = delta;
            var expiry = request.Record.ExpiresAtUnixMs;
            if (_engine.TryGet(request.Key, buffer, out var storedExpiry) && SiblingSet.TryDecode(buffer.WrittenSpan, out var stored, out _))
            {
                merged = stored.Merge(delta);

                // The record's expiry belongs to the write whose sibling wins: a later SET without EX clears it.
                var storedWins = stored.Winner is { } s && (delta.Winner is not { } d || !d.WinsOver(s));
                if (storedWins)
                {
                    expiry = storedExpiry?.ToUnixTimeMilliseconds() ?? 0;
                }
            }

            var encoded = new ArrayBufferWriter<byte>(request.Record.Set.Length + buffer.WrittenCount);
            merged.Encode(encoded);
            var batch = new WriteBatch();
            if (expiry > 0)
            {
                batch.Put(request.Key, encoded.WrittenSpan, DateTimeOffset.FromUnixTimeMilliseconds(expiry));
            }
            else
            {
                batch.Put(request.Key, encoded.WrittenSpan);
            }

            await _engine.WriteAsync(batch).ConfigureAwait(false);
            return new StorageDone(request.Tag, ReplicaStatus.Ok);
        }
        finally
        {
            _stripes.Release(stripe);
        }
    }

    /// <summary>
    /// A versioned write at its coordinating replica: reads the stored set, applies the write and stores the result under the
    /// key's stripe lock (as a merge), so concurrent updates of one key each see the other's dot; answers the new record.
    /// </summary>
    private async ValueTask<StorageDone> UpdateAsync(StorageRequest request)
    {
        var stripe = (int)(XxHash64.HashToUInt64(request.Key) % StripeCount);
        await _stripes.AcquireAsync(stripe).ConfigureAwait(false);
        try
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            var stored = SiblingSet.Empty;
            if (_engine.TryGet(request.Key, buffer, out _) && !SiblingSet.TryDecode(buffer.WrittenSpan, out stored, out var error))
            {
                // Writing over it would drop whatever it held; a plain write (which does not read it) replaces it.
                return new StorageDone(request.Tag, ReplicaStatus.Error, Error: $"the stored record does not decode: {error}");
            }

            // The new sibling wins (it is stamped above the set), so the record's expiry is the versioned write's: none.
            var result = request.Update!.ApplyTo(stored);
            var encoded = new ArrayBufferWriter<byte>(request.Update.Value.Length + buffer.WrittenCount + 64);
            result.Encode(encoded);
            var batch = new WriteBatch();
            batch.Put(request.Key, encoded.WrittenSpan);
            await _engine.WriteAsync(batch).ConfigureAwait(false);
            return new StorageDone(request.Tag, ReplicaStatus.Ok, new ReplicaRecord(encoded.WrittenSpan.ToArray(), 0));
        }
        finally
        {
            _stripes.Release(stripe);
        }
    }

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
