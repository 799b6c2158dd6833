using System;
using System.Collections.Generic;

namespace RingKV.Cluster.Messages;

/// <summary>A message between nodes: its kind and the coordinator's request id it belongs to.</summary>
/// <remarks>
/// Immutable values; the byte arrays they carry are owned by the message (decoded messages own fresh copies). The request
/// id is the coordinator's: a replica answers with the id it was asked with, so ids need only be unique per coordinator.
/// </remarks>
internal abstract record ClusterMessage(ulong RequestId)
{
    /// <summary>The message's kind on the wire.</summary>
    public abstract MessageKind Kind { get; }
}

/// <summary>How a replica answers.</summary>
/// <remarks>On the wire: never renumber.</remarks>
internal enum ReplicaStatus : byte
{
    /// <summary>Done.</summary>
    Ok = 0,

    /// <summary>The replica failed (its storage refused or broke); the message says why.</summary>
    Error = 1,

    /// <summary>The replica is overloaded and refused the work.</summary>
    Busy = 2,
}

/// <summary>A key's record as a replica stores it: the encoded sibling set and the record's expiry (0: none).</summary>
/// <param name="Set">The sibling set, encoded (SiblingSet.Encode); empty when the replica has no record.</param>
/// <param name="ExpiresAtUnixMs">When the record expires, Unix ms; 0 when it does not.</param>
internal readonly record struct ReplicaRecord(byte[] Set, long ExpiresAtUnixMs)
{
    /// <summary>No record.</summary>
    public static ReplicaRecord None => new([], 0);

    /// <summary>True when the replica holds a record.</summary>
    public bool Exists => Set.Length > 0;
}

/// <summary>Read a key.</summary>
internal sealed record ReplicaReadRequest(ulong RequestId, byte[] Key) : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.ReplicaRead;
}

/// <summary>A replica's record of the key asked for.</summary>
internal sealed record ReplicaReadReply(ulong RequestId, ReplicaStatus Status, ReplicaRecord Record, string Error = "") : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.ReplicaReadReply;
}

/// <summary>Merge <see cref="Record"/> (a delta: the write's sibling set and the expiry it sets) into the key's record.</summary>
internal sealed record ReplicaWriteRequest(ulong RequestId, byte[] Key, ReplicaRecord Record) : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.ReplicaWrite;
}

/// <summary>
/// Keep <see cref="Record"/> (a delta, as in <see cref="ReplicaWriteRequest"/>) as a hint for <see cref="IntendedFor"/>,
/// a DOWN replica of the key that the receiver stands in for; the hint is durable before the reply and merges with
/// earlier hints of the key for the same replica.
/// </summary>
internal sealed record HintedWriteRequest(ulong RequestId, byte[] Key, ReplicaRecord Record, NodeId IntendedFor) : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.HintedWrite;
}

/// <summary>Read a key at a stand-in: its own record merged with the hint it keeps for <see cref="IntendedFor"/>.</summary>
internal sealed record HintedReadRequest(ulong RequestId, byte[] Key, NodeId IntendedFor) : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.HintedRead;
}

/// <summary>The replica merged the write (Ok) or did not.</summary>
internal sealed record ReplicaWriteReply(ulong RequestId, ReplicaStatus Status, string Error = "") : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.ReplicaWriteReply;
}

/// <summary>Records with tokens in [<see cref="First"/>, <see cref="Last"/>], in token order, at most about <see cref="Limit"/> of them.</summary>
internal sealed record ReplicaScanRequest(ulong RequestId, ulong First, ulong Last, int Limit) : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.ReplicaScan;
}

/// <summary>One record of a scan page.</summary>
internal readonly record struct ScanEntry(byte[] Key, ReplicaRecord Record);

/// <summary>
/// A page of a range scan. <see cref="Complete"/>: the range is done; otherwise every record with a token below
/// <see cref="Next"/> was sent and the scan resumes there (a page never splits the records of one token).
/// </summary>
internal sealed record ReplicaScanReply(ulong RequestId, ReplicaStatus Status, IReadOnlyList<ScanEntry> Entries, bool Complete, ulong Next, string Error = "") : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.ReplicaScanReply;
}

/// <summary>Count the live keys a replica holds in the given token ranges (each [first, last]).</summary>
internal sealed record ReplicaCountRequest(ulong RequestId, IReadOnlyList<(ulong First, ulong Last)> Ranges) : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.ReplicaCount;
}

/// <summary>A replica's count: live keys, those with an expiry, and the sum of their time left in ms.</summary>
internal sealed record ReplicaCountReply(ulong RequestId, ReplicaStatus Status, long Keys, long Expires, long TtlSumMs, string Error = "") : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.ReplicaCountReply;
}

/// <summary>Remove every key the replica holds.</summary>
internal sealed record ReplicaFlushRequest(ulong RequestId) : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.ReplicaFlush;
}

/// <summary>The replica flushed.</summary>
internal sealed record ReplicaFlushReply(ulong RequestId, ReplicaStatus Status, string Error = "") : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.ReplicaFlushReply;
}

/// <summary>A membership body (gossip, heartbeat), opaque here: the membership codec reads it.</summary>
internal sealed record MembershipMessage(byte[] Body) : ClusterMessage(0)
{
    public override MessageKind Kind => MessageKind.Membership;

    /// <inheritdoc/>
    public bool Equals(MembershipMessage? other) => other is not null && Body.AsSpan().SequenceEqual(other.Body);

    /// <inheritdoc/>
    public override int GetHashCode() => Body.Length;
}
