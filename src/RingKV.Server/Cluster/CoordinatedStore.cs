using System;
using System.Buffers;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Consistency;
using RingKV.Core.Errors;
using RingKV.Core.Versioning;
using RingKV.Server.Store;

namespace RingKV.Server.Cluster;

/// <summary>A failure the cluster answers with, its text as the client sees it after the dash ("UNAVAILABLE QUORUM needs 2, 1 alive").</summary>
internal sealed class ClusterReplyException : RingKVException
{
    public ClusterReplyException(string reply)
        : base(ErrorCode.Internal, reply)
    {
    }

    public ClusterReplyException()
    {
    }

    public ClusterReplyException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>The command layer's store on a cluster node: every request goes through this node's coordinator to the key's replicas.</summary>
/// <remarks>
/// Plain writes are last-writer-wins (the coordinator stamps them with its hybrid-logical clock). A plain SET without a
/// condition, GET or KEEPTTL is one blind write at the write level; conditional and read-modify-write forms (SET NX/XX/GET,
/// KEEPTTL, DEL's count, GETDEL, GETEX, EXPIRE and its conditions, APPEND, SETRANGE, SETBIT) read at the read level first and then write at the write
/// level: under concurrency they are not atomic (docs/consistency.md).
/// </remarks>
internal sealed class CoordinatedStore : IKeyValueStore
{
    private readonly NodeHost _host;
    private readonly TimeProvider _time;

    // A connection's store (ForConnection): its writes since its last WAIT; null for the node's shared store.
    private readonly WriteReceipts? _receipts;

    /// <param name="host">The node.</param>
    /// <param name="time">The clock expiry is judged by.</param>
    public CoordinatedStore(NodeHost host, TimeProvider time)
        : this(host, time, null)
    {
    }

    private CoordinatedStore(NodeHost host, TimeProvider time, WriteReceipts? receipts)
    {
        _host = host;
        _time = time;
        _receipts = receipts;
    }

    public IKeyValueStore ForConnection() => new CoordinatedStore(_host, _time, new WriteReceipts());

    /// <remarks>
    /// Each write's count is the node's (it coordinates, or it forwarded and the coordinating replica keeps it told), asked
    /// only for writes that had fewer than <paramref name="replicas"/> when answered. No write yet: 0.
    /// </remarks>
    public async ValueTask<long> WaitForReplicasAsync(int replicas, TimeSpan timeout)
    {
        if (_receipts is null)
        {
            return 0;
        }

        var writes = _receipts.ForWait(out var floor);
        var least = floor;
        var start = _time.GetTimestamp();
        foreach (var (id, ackedAtAnswer) in writes)
        {
            var acked = ackedAtAnswer;
            if (acked < replicas)
            {
                var left = timeout == TimeSpan.Zero ? TimeSpan.Zero : timeout - _time.GetElapsedTime(start);
                if (timeout == TimeSpan.Zero || left > TimeSpan.Zero)
                {
                    var reply = await _host.SubmitAsync(ClientRequest.WaitAcks(_host.NewClientId(), id, replicas, left)).ConfigureAwait(false);
                    acked = Math.Max(acked, reply.Acked); // -1: the node forgot the write; the count when answered stands
                    _receipts.Counted(id, acked);
                }
            }

            least = Math.Min(least, acked);
        }

        return least == int.MaxValue ? 0 : least;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ReadResult> ReadAsync(ReadRequest request)
    {
        // One await on the node (no nested async helpers: each would box its own state machine per GET).
        var reply = Check(await _host.SubmitAsync(ClientRequest.Read(_host.NewClientId(), request.Key.ToArray(), request.Consistency)).ConfigureAwait(false));
        var expiry = reply.ExpiresAtUnixMs;
        if (reply.Record is { } record && SiblingSetFastPath.TryGetWinner(record.Set, out var winner, out var live))
        {
            // The replicas agreed: the winner read from the record's bytes, as the single node's GET does.
            if (!live || Expired(expiry))
            {
                return default;
            }

            request.Value?.Write(winner);
            return new ReadResult(true, expiry);
        }

        if (!Live(reply.Set, expiry, out var value))
        {
            return default;
        }

        request.Value?.Write(value.Span);
        return new ReadResult(true, expiry);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<WriteResult> WriteAsync(WriteRequest request)
    {
        if (request.Expiry.Mode == ExpiryMode.At && request.Expiry.AtUnixMs > LocalStore.MaxExpiryUnixMs)
        {
            ThrowHelper.InvalidArgument("invalid expire time");
        }

        var key = request.Key.ToArray();
        if (request.Kind == WriteKind.Set && request.Condition == SetCondition.Always && request.Previous is null && request.Expiry.Mode != ExpiryMode.Keep)
        {
            var expiresAt = request.Expiry.Mode == ExpiryMode.At ? request.Expiry.AtUnixMs : 0;
            var id = _host.NewClientId();
            Noted(id, Check(await _host.SubmitAsync(ClientRequest.WriteOf(id, key, WriteOperation.PlainPut, request.Value.ToArray(), expiresAt, consistency: request.Consistency)).ConfigureAwait(false)));
            return new WriteResult(true, false);
        }

        var (set, currentExpiry) = await ReadSetAsync(request.Key, request.Consistency).ConfigureAwait(false);
        var existed = Live(set, currentExpiry, out var winner);
        if (existed)
        {
            request.Previous?.Write(winner.Span);
        }

        switch (request.Kind)
        {
            case WriteKind.Set:
                if ((request.Condition == SetCondition.IfAbsent && existed) || (request.Condition == SetCondition.IfPresent && !existed))
                {
                    return new WriteResult(false, existed);
                }

                var expiry = request.Expiry.Mode == ExpiryMode.Keep ? (existed ? currentExpiry : 0) : request.Expiry.Resolve(0);
                await PutAsync(key, request.Value.ToArray(), expiry, request.Consistency).ConfigureAwait(false);
                return new WriteResult(true, existed);

            case WriteKind.Delete:
                if (!existed)
                {
                    return new WriteResult(false, false);
                }

                await SubmitAsync(ClientRequest.WriteOf(0, key, WriteOperation.PlainDelete, [], consistency: request.Consistency)).ConfigureAwait(false);
                return new WriteResult(true, true);

            case WriteKind.Modify:
                var modified = request.Modifier!.Modify(existed ? winner.Span : default, existed);
                if (modified is null)
                {
                    return new WriteResult(false, existed);
                }

                await PutAsync(key, modified, existed ? currentExpiry : 0, request.Consistency).ConfigureAwait(false);
                return new WriteResult(true, existed);

            default:
                if (!existed || request.Expiry.Mode == ExpiryMode.Keep || !request.Expiry.AppliesTo(currentExpiry))
                {
                    return new WriteResult(false, existed);
                }

                var at = request.Expiry.Resolve(currentExpiry);
                if (request.Expiry.Mode == ExpiryMode.At && at <= _time.GetUtcNow().ToUnixTimeMilliseconds())
                {
                    await SubmitAsync(ClientRequest.WriteOf(0, key, WriteOperation.PlainDelete, [], consistency: request.Consistency)).ConfigureAwait(false);
                }
                else
                {
                    // The value written again with the new expiry: a new last-writer-wins stamp carries it to every replica.
                    await PutAsync(key, winner.ToArray(), at, request.Consistency).ConfigureAwait(false);
                }

                return new WriteResult(true, true);
        }
    }

    public async ValueTask<bool> SetManyAsync(IReadOnlyList<KeyValue> pairs, bool onlyIfNoneExist, ConsistencyLevel consistency, RingKVException?[]? failures = null)
    {
        if (onlyIfNoneExist)
        {
            if (_host.RingMembers > 1)
            {
                throw new ClusterReplyException("ERR MSETNX is not supported in a cluster of more than one node: its keys live on different replicas, so it cannot be atomic (use SET NX per key)");
            }

            foreach (var pair in pairs)
            {
                var (set, expiry) = await ReadSetAsync(pair.Key, consistency).ConfigureAwait(false);
                if (Live(set, expiry, out _))
                {
                    return false;
                }
            }
        }

        // Not atomic across nodes: each key is its own quorum write; all are in flight at once.
        var writes = new ValueTask<ClientReply>[pairs.Count];
        var ids = new ulong[pairs.Count];
        for (var i = 0; i < pairs.Count; i++)
        {
            // Stored, then awaited exactly once below: every write must be in flight before the first is awaited.
#pragma warning disable CA2012
            ids[i] = _host.NewClientId();
            writes[i] = _host.SubmitAsync(ClientRequest.WriteOf(ids[i], pairs[i].Key.ToArray(), WriteOperation.PlainPut, pairs[i].Value.ToArray(), consistency: consistency));
#pragma warning restore CA2012
        }

        // Every write is awaited (each exactly once) before a failure is thrown or reported.
        RingKVException? first = null;
        for (var i = 0; i < writes.Length; i++)
        {
            try
            {
                Noted(ids[i], Check(await writes[i].ConfigureAwait(false)));
            }
            catch (RingKVException e)
            {
                first ??= e;
                if (failures is not null)
                {
                    failures[i] = e;
                }
            }
        }

        if (first is not null && failures is null)
        {
            throw first;
        }

        return first is null;
    }

    public async ValueTask<VersionedRead?> ReadVersionedAsync(ReadOnlyMemory<byte> key, ConsistencyLevel consistency)
    {
        var (set, expiry) = await ReadSetAsync(key, consistency).ConfigureAwait(false);
        if (set is null || (expiry != 0 && expiry <= _time.GetUtcNow().ToUnixTimeMilliseconds()))
        {
            return null;
        }

        var live = new List<Sibling>();
        foreach (var sibling in set.Siblings)
        {
            if (!sibling.IsTombstone)
            {
                live.Add(sibling);
            }
        }

        if (live.Count == 0)
        {
            return null;
        }

        var context = new ArrayBufferWriter<byte>(64);
        SiblingSet.EncodeContext(set.Context, key.Span, context);
        return new VersionedRead(context.WrittenSpan.ToArray(), live);
    }

    public async ValueTask PutVersionedAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, VersionVector context, ConsistencyLevel consistency) =>
        await SubmitAsync(ClientRequest.WriteOf(0, key.ToArray(), WriteOperation.VersionedPut, value.ToArray(), 0, context, consistency)).ConfigureAwait(false);

    public async ValueTask<bool> DeleteVersionedAsync(ReadOnlyMemory<byte> key, VersionVector? context, ConsistencyLevel consistency)
    {
        var (set, expiry) = await ReadSetAsync(key, consistency).ConfigureAwait(false);
        var existed = Live(set, expiry, out _);
        if (set is null)
        {
            return false;
        }

        // Without a context the delete supersedes what the read saw.
        await SubmitAsync(ClientRequest.WriteOf(0, key.ToArray(), WriteOperation.VersionedDelete, [], 0, context ?? set.Context, consistency)).ConfigureAwait(false);
        return existed;
    }

    public async ValueTask<ulong> ScanAsync(ScanRequest request, List<byte[]> keys)
    {
        var reply = await SubmitAsync(new ClientRequest(0, ClientOperation.Scan, default) { Cursor = request.Cursor, Count = Math.Max(1, request.Count) }).ConfigureAwait(false);
        if (request.MatchNothing)
        {
            return reply.NextCursor;
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var (key, set, expiry) in reply.Entries)
        {
            if ((expiry == 0 || expiry > now) && set.TryGetWinnerValue(out _) && (request.Pattern is null || request.Pattern.IsMatch(key)))
            {
                keys.Add(key);
            }
        }

        return reply.NextCursor;
    }

    public async ValueTask<KeyCounts> CountKeysAsync()
    {
        var reply = await SubmitAsync(new ClientRequest(0, ClientOperation.Count, default)).ConfigureAwait(false);
        var (keys, expires, ttlSum) = reply.Counts;
        return new KeyCounts(keys, expires, expires == 0 ? 0 : ttlSum / expires);
    }

    /// <summary>
    /// INCR/DECR/INCRBY/DECRBY in the cluster: reads the key at <paramref name="readLevel"/>, then has a replica of the key
    /// add <paramref name="delta"/> to its counter over what the read saw and replicate it at <paramref name="writeLevel"/>;
    /// answers the count the coordinating replica's record holds after adding.
    /// </summary>
    /// <remarks>
    /// Why read first: the count adds to the key's latest plain write, and the replica that applies the increment may have
    /// missed one a quorum acknowledged; merged with the read, it adds to the write every read at that level sees.
    /// Throws <see cref="ClusterReplyException"/> with Redis's error text for a value that is not an integer or an overflow.
    /// </remarks>
    public async ValueTask<long> IncrementAsync(ReadOnlyMemory<byte> key, long delta, ConsistencyLevel readLevel, ConsistencyLevel writeLevel)
    {
        var bytes = key.ToArray();
        var read = await SubmitAsync(ClientRequest.Read(0, bytes, readLevel)).ConfigureAwait(false);
        var seen = ReplicaRecord.None;
        if (read.Record is { } agreed)
        {
            seen = agreed;
        }
        else if (read.Set is { } merged)
        {
            var encoded = new ArrayBufferWriter<byte>(64);
            merged.Encode(encoded);
            seen = new ReplicaRecord(encoded.WrittenSpan.ToArray(), read.ExpiresAtUnixMs);
        }

        var reply = await SubmitAsync(ClientRequest.Increment(0, bytes, delta, seen, writeLevel)).ConfigureAwait(false);
        return reply.Counter;
    }

    public async ValueTask FlushAllAsync() =>
        await SubmitAsync(new ClientRequest(0, ClientOperation.Flush, ConsistencyLevel.All)).ConfigureAwait(false);

    public void Dispose()
    {
    }

    private async ValueTask<(SiblingSet? Set, long Expiry)> ReadSetAsync(ReadOnlyMemory<byte> key, ConsistencyLevel consistency)
    {
        var reply = await SubmitAsync(ClientRequest.Read(0, key.ToArray(), consistency)).ConfigureAwait(false);
        return (reply.Set, reply.ExpiresAtUnixMs);
    }

    private async ValueTask PutAsync(byte[] key, byte[] value, long expiresAtUnixMs, ConsistencyLevel consistency) =>
        await SubmitAsync(ClientRequest.WriteOf(0, key, WriteOperation.PlainPut, value, expiresAtUnixMs, consistency: consistency)).ConfigureAwait(false);

    private async ValueTask<ClientReply> SubmitAsync(ClientRequest request)
    {
        if (request.Id == 0)
        {
            request = request with { Id = _host.NewClientId() };
        }

        var reply = Check(await _host.SubmitAsync(request).ConfigureAwait(false));
        if (request.Operation == ClientOperation.Write)
        {
            Noted(request.Id, reply);
        }

        return reply;
    }

    /// <summary>Notes a write that succeeded, for this connection's next WAIT.</summary>
    private void Noted(ulong id, ClientReply reply) => _receipts?.Add(id, reply.Acked);

    private static ClientReply Check(ClientReply reply) =>
        reply.Status == ClientStatus.Ok ? reply : throw new ClusterReplyException(reply.Message);

    private bool Live(SiblingSet? set, long expiry, out ReadOnlyMemory<byte> value)
    {
        value = default;
        if (set is null || Expired(expiry))
        {
            return false;
        }

        return set.TryGetWinnerValue(out value);
    }

    private bool Expired(long expiry) => expiry != 0 && expiry <= _time.GetUtcNow().ToUnixTimeMilliseconds();
}

/// <summary>
/// One connection's successful writes for WAIT: those since its last WAIT (or, before the first write after it, those that
/// WAIT counted, so WAIT again answers the same writes' count), the latest <see cref="Kept"/> by id with their count when
/// answered, and the least count of older ones (not asked again: a count only grows, so the least stands).
/// </summary>
/// <remarks>Thread-safe: a connection's pipelined commands may complete on several threads.</remarks>
internal sealed class WriteReceipts
{
    /// <summary>Writes whose counts WAIT asks the node for.</summary>
    public const int Kept = 64;

    private readonly Lock _lock = new();
    private readonly List<(ulong Id, int Acked)> _writes = [];
    private int _floor = int.MaxValue;
    private bool _waited;

    public void Add(ulong id, int acked)
    {
        lock (_lock)
        {
            if (_waited)
            {
                // The first write after a WAIT: the next WAIT counts from here.
                _waited = false;
                _writes.Clear();
                _floor = int.MaxValue;
            }

            if (_writes.Count == Kept)
            {
                _floor = Math.Min(_floor, _writes[0].Acked);
                _writes.RemoveAt(0);
            }

            _writes.Add((id, acked));
        }
    }

    /// <summary>The writes WAIT counts now; <paramref name="floor"/>: the least count of those no longer kept (int.MaxValue: none).</summary>
    public (ulong Id, int Acked)[] ForWait(out int floor)
    {
        lock (_lock)
        {
            _waited = true;
            floor = _floor;
            return [.. _writes];
        }
    }

    /// <summary>Raises the kept count of write <paramref name="id"/> to what WAIT found, so a later WAIT need not ask again.</summary>
    public void Counted(ulong id, int acked)
    {
        lock (_lock)
        {
            var i = _writes.FindIndex(w => w.Id == id);
            if (i >= 0 && _writes[i].Acked < acked)
            {
                _writes[i] = (id, acked);
            }
        }
    }
}
