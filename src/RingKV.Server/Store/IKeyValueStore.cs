using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using RingKV.Core.Consistency;
using RingKV.Core.Errors;
using RingKV.Core.Versioning;

namespace RingKV.Server.Store;

/// <summary>The data the command layer reads and writes: the local engine on one node, the coordinator in a cluster.</summary>
/// <remarks>
/// Thread-safe; every call is asynchronous and speaks in values (<see cref="ReadRequest"/>, <see cref="WriteRequest"/>,
/// ...). A store that can answer at once returns a completed task, so the single node allocates nothing per request.
/// Memory given in a request (keys, values, output buffers) must stay valid and unshared until the task completes.
/// Plain operations (Redis commands) see the winning sibling only and replace what they see, so they never create
/// siblings; versioned operations (KV.*) see and create siblings. Times are Unix milliseconds. A request's consistency
/// level is a count of replicas; <c>default</c> means the store's default, and a store of one replica ignores it.
/// </remarks>
internal interface IKeyValueStore : IDisposable
{
    /// <summary>Reads the winning value of a live key (into <see cref="ReadRequest.Value"/> when given) and its expiry.</summary>
    ValueTask<ReadResult> ReadAsync(ReadRequest request);

    /// <summary>A plain write of one key: set, delete or change its expiry, with a condition; see <see cref="WriteRequest"/>.</summary>
    ValueTask<WriteResult> WriteAsync(WriteRequest request);

    /// <summary>
    /// Plain SETs without options, applied in order as one atomic write on one node (MSET, pipelined SETs). With
    /// <paramref name="onlyIfNoneExist"/> (MSETNX) nothing is written when any key is live; returns whether it wrote.
    /// </summary>
    /// <param name="pairs">The keys and values.</param>
    /// <param name="onlyIfNoneExist">MSETNX.</param>
    /// <param name="consistency">The write level.</param>
    /// <param name="failures">
    /// When given (one slot per pair), a pair's failure is put in its slot instead of thrown, so each pipelined SET is
    /// answered by its own outcome (in a cluster each key is its own write: some can fail while others succeed).
    /// </param>
    ValueTask<bool> SetManyAsync(IReadOnlyList<KeyValue> pairs, bool onlyIfNoneExist, ConsistencyLevel consistency, RingKVException?[]? failures = null);

    /// <summary>Every sibling and the causal context; null when the key has no siblings.</summary>
    ValueTask<VersionedRead?> ReadVersionedAsync(ReadOnlyMemory<byte> key, ConsistencyLevel consistency);

    /// <summary>Writes a value that supersedes what <paramref name="context"/> saw (empty: concurrent with everything).</summary>
    ValueTask PutVersionedAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, VersionVector context, ConsistencyLevel consistency);

    /// <summary>
    /// Deletes what <paramref name="context"/> saw (null: every sibling there is now); concurrent siblings survive.
    /// Returns whether the key had siblings.
    /// </summary>
    ValueTask<bool> DeleteVersionedAsync(ReadOnlyMemory<byte> key, VersionVector? context, ConsistencyLevel consistency);

    /// <summary>Live keys from the cursor on, at most about <see cref="ScanRequest.Count"/> of them examined; the next cursor, 0 at the end.</summary>
    ValueTask<ulong> ScanAsync(ScanRequest request, List<byte[]> keys);

    /// <summary>Live keys, how many of them expire, and their average time left in milliseconds (0 when none).</summary>
    ValueTask<KeyCounts> CountKeysAsync();

    /// <summary>Removes every key.</summary>
    ValueTask FlushAllAsync();

    /// <summary>
    /// WAIT: how many replicas acknowledged the writes made through this store since the previous call (the least of them),
    /// waiting up to <paramref name="timeout"/> (zero: as long as the writes are in flight) until <paramref name="replicas"/>
    /// have. Only a store from <see cref="ForConnection"/> has writes to count; a single node answers 0 (no replicas, as a
    /// Redis primary without any).
    /// </summary>
    ValueTask<long> WaitForReplicasAsync(int replicas, TimeSpan timeout);

    /// <summary>The store as one connection uses it: it notes the connection's writes for WAIT. This store itself when it has nothing to note.</summary>
    IKeyValueStore ForConnection();
}
