using System;
using System.Collections.Generic;
using RingKV.Cluster.Messages;
using RingKV.Core.Consistency;
using RingKV.Core.Versioning;

namespace RingKV.Cluster.Coordination;

/// <summary>What a client asks the coordinator for.</summary>
internal enum ClientOperation : byte
{
    /// <summary>Read one key from its replicas and merge what they hold.</summary>
    Read,

    /// <summary>Write one key to its replicas.</summary>
    Write,

    /// <summary>A page of the keys of the token ring, from a cursor.</summary>
    Scan,

    /// <summary>Count the live keys of the cluster (DBSIZE, INFO keyspace).</summary>
    Count,

    /// <summary>Remove every key on every node (FLUSHALL).</summary>
    Flush,

    /// <summary>
    /// WAIT: how many replicas acknowledged an earlier write of this node (<see cref="ClientRequest.Cursor"/>: its request
    /// id); answered once <see cref="ClientRequest.Count"/> have, or at <see cref="ClientRequest.Timeout"/>, or when the
    /// write's replicas have all answered (see <see cref="ClientReply.Acked"/>).
    /// </summary>
    WaitAcks,
}

/// <summary>What a write does; the coordinator stamps it.</summary>
/// <remarks>On the wire (a forwarded versioned write): never renumber.</remarks>
internal enum WriteOperation : byte
{
    /// <summary>A plain SET: last writer wins by hybrid-logical time; it supersedes every older sibling.</summary>
    PlainPut = 0,

    /// <summary>A plain DEL: a last-writer-wins tombstone.</summary>
    PlainDelete = 1,

    /// <summary>KV.PUT: supersedes what the context saw, concurrent with the rest (siblings).</summary>
    VersionedPut = 2,

    /// <summary>KV.DEL: a tombstone superseding what the context saw.</summary>
    VersionedDelete = 3,

    /// <summary>
    /// INCR, DECR, INCRBY, DECRBY: add to the key's counter at a replica of the key (its actor applies it, as Riak's vnode
    /// does); <see cref="ClientRequest.Value"/> holds the delta and what the coordinator's read saw (<see cref="ClientRequest.Increment"/>).
    /// </summary>
    Increment = 4,
}

/// <summary>One client request handed to <see cref="ClusterNode.Submit"/>; answered exactly once through <see cref="IOutbox.Reply"/>.</summary>
/// <param name="Id">The host's id for the reply; unique among the requests in flight.</param>
/// <param name="Operation">What is asked.</param>
/// <param name="Consistency">Replicas to wait for; default: the node's default for reads or writes.</param>
internal sealed record ClientRequest(ulong Id, ClientOperation Operation, ConsistencyLevel Consistency)
{
    /// <summary>The key (Read, Write).</summary>
    public byte[] Key { get; init; } = [];

    /// <summary>The kind of write.</summary>
    public WriteOperation Write { get; init; }

    /// <summary>The value of a put; for <see cref="WriteOperation.Increment"/>, | delta (8, LE) | seen expiry, Unix ms (8, LE) | seen record's set |.</summary>
    public byte[] Value { get; init; } = [];

    /// <summary>The expiry a put sets, Unix ms; 0 for none.</summary>
    public long ExpiresAtUnixMs { get; init; }

    /// <summary>What a versioned write saw (KV.PUT/KV.DEL with a context); empty when none.</summary>
    public VersionVector Context { get; init; } = VersionVector.Empty;

    /// <summary>Scan: the token to start at.</summary>
    public ulong Cursor { get; init; }

    /// <summary>Scan: about how many records to examine; WaitAcks: the acknowledgements to wait for.</summary>
    public int Count { get; init; } = 10;

    /// <summary>WaitAcks: how long to wait at most; <see cref="TimeSpan.Zero"/>: until the write's replicas have all answered.</summary>
    public TimeSpan Timeout { get; init; }

    /// <summary>WAIT: the acknowledgements of write <paramref name="writeId"/> (a request id this node was given), waiting for <paramref name="replicas"/> of them.</summary>
    public static ClientRequest WaitAcks(ulong id, ulong writeId, int replicas, TimeSpan timeout) =>
        new(id, ClientOperation.WaitAcks, default) { Cursor = writeId, Count = replicas, Timeout = timeout };

    /// <summary>A read request.</summary>
    public static ClientRequest Read(ulong id, byte[] key, ConsistencyLevel consistency = default) =>
        new(id, ClientOperation.Read, consistency) { Key = key };

    /// <summary>
    /// An increment of <paramref name="key"/> by <paramref name="delta"/>; <paramref name="seen"/> is the record the
    /// client's read found (<see cref="ReplicaRecord.None"/> for none), which the coordinating replica merges first.
    /// </summary>
    public static ClientRequest Increment(ulong id, byte[] key, long delta, ReplicaRecord seen, ConsistencyLevel consistency = default)
    {
        var value = new byte[16 + seen.Set.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(value, delta);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(8), seen.ExpiresAtUnixMs);
        seen.Set.CopyTo(value, 16);
        return new(id, ClientOperation.Write, consistency) { Key = key, Write = WriteOperation.Increment, Value = value };
    }

    /// <summary>The parts of an increment's <see cref="Value"/>; false when it is too short to hold them.</summary>
    public bool TryIncrementParts(out long delta, out ReplicaRecord seen)
    {
        delta = 0;
        seen = ReplicaRecord.None;
        if (Write != WriteOperation.Increment || Value.Length < 16)
        {
            return false;
        }

        delta = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(Value);
        seen = new ReplicaRecord(Value.AsSpan(16).ToArray(), System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(Value.AsSpan(8)));
        return true;
    }

    /// <summary>A write request.</summary>
    public static ClientRequest WriteOf(ulong id, byte[] key, WriteOperation write, byte[] value, long expiresAtUnixMs = 0, VersionVector? context = null, ConsistencyLevel consistency = default) =>
        new(id, ClientOperation.Write, consistency) { Key = key, Write = write, Value = value, ExpiresAtUnixMs = expiresAtUnixMs, Context = context ?? VersionVector.Empty };
}

/// <summary>How a request ended.</summary>
/// <remarks>On the wire (the reply to a forwarded versioned write): never renumber.</remarks>
internal enum ClientStatus : byte
{
    /// <summary>Done at the level asked.</summary>
    Ok = 0,

    /// <summary>Too few live replicas for the level; nothing was sent.</summary>
    Unavailable = 1,

    /// <summary>The deadline passed before the level was met (a write may still have reached some replicas).</summary>
    Timeout = 2,

    /// <summary>The node or a replica is overloaded.</summary>
    Busy = 3,

    /// <summary>A replica failed the request.</summary>
    Error = 4,
}

/// <summary>The one answer to a <see cref="ClientRequest"/>.</summary>
/// <param name="Status">How it ended.</param>
/// <param name="Message">For a failure, the error text as the client sees it (after the dash), e.g. "UNAVAILABLE QUORUM needs 2, 1 alive".</param>
internal sealed record ClientReply(ClientStatus Status, string Message = "")
{
    private readonly SiblingSet? _set;

    /// <summary>Read: the merged sibling set of the replies (null when no replica had the key).</summary>
    /// <remarks>When the replicas agreed, decoded from <see cref="Record"/> on each read of it (not kept: callers read it once).</remarks>
    public SiblingSet? Set
    {
        get => _set ?? (Record is { } record ? Decode(record).Set : null);
        init => _set = value;
    }

    /// <summary>
    /// Read: when every replica that had the key answered the same record (the same bytes and expiry), that record
    /// undecoded, so a plain GET finds its winner without building the set; null otherwise.
    /// </summary>
    public ReplicaRecord? Record { get; init; }

    /// <summary>Read: the merged record's expiry, Unix ms; 0 for none.</summary>
    public long ExpiresAtUnixMs { get; init; }

    /// <summary>Scan: the records of the page (merged per key), in token order.</summary>
    public IReadOnlyList<(byte[] Key, SiblingSet Set, long ExpiresAtUnixMs)> Entries { get; init; } = [];

    /// <summary>Scan: where the next page starts; 0 when the scan is done.</summary>
    public ulong NextCursor { get; init; }

    /// <summary>Count: live keys, those with an expiry, and the sum of their time left in ms.</summary>
    public (long Keys, long Expires, long TtlSumMs) Counts { get; init; }

    /// <summary>Increment: the count after it, as the coordinating replica's record holds it.</summary>
    public long Counter { get; init; }

    /// <summary>
    /// Write: the replicas of the key that had acknowledged it when the answer went out (every one that stored it, the
    /// coordinating replica and stand-ins included; not the nodes it is also sent to while they join). WaitAcks: how many
    /// have by now; -1 when the node no longer knows the write (answered long ago).
    /// </summary>
    public int Acked { get; init; }

    /// <summary>A successful reply with nothing in it (a write).</summary>
    public static ClientReply Done { get; } = new(ClientStatus.Ok);

    // Done with each small acknowledgement count, made once: a write's answer allocates nothing.
    private static readonly ClientReply[] DoneAcked = CreateDoneAcked();

    /// <summary>A successful write's reply with <see cref="Acked"/> = <paramref name="acked"/>.</summary>
    public static ClientReply DoneWith(int acked) =>
        (uint)(acked + 1) < (uint)DoneAcked.Length ? DoneAcked[acked + 1] : Done with { Acked = acked };

    private static ClientReply[] CreateDoneAcked()
    {
        var replies = new ClientReply[34];
        for (var i = 0; i < replies.Length; i++)
        {
            replies[i] = new ClientReply(ClientStatus.Ok) { Acked = i - 1 };
        }

        return replies;
    }

    /// <summary>The reply to an entry read from a replica record.</summary>
    internal static (SiblingSet? Set, long Expiry) Decode(ReplicaRecord record) =>
        record.Exists && SiblingSet.TryDecode(record.Set, out var set, out _) ? (set, record.ExpiresAtUnixMs) : (null, 0);
}
