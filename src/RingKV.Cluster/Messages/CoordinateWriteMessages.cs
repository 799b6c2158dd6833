using System;
using RingKV.Cluster.Coordination;
using RingKV.Core.Consistency;
using RingKV.Core.Versioning;

namespace RingKV.Cluster.Messages;

/// <summary>
/// Coordinate a versioned write (KV.PUT, KV.DEL) at a replica of its key: sent by a node that is not a live replica to the
/// first live one, which applies it to its stored set, replicates the result and answers with a <see cref="CoordinateWriteReply"/>.
/// </summary>
/// <remarks>
/// Why a versioned write is not stamped where the client sent it: the node that mints the write's dot must hold every dot
/// it minted for the key before (see SiblingSet.Put), or the new context claims an earlier concurrent sibling of the same
/// actor and every replica's merge drops it. A replica holds them in its store; a coordinator that is not one holds none.
/// <see cref="Consistency"/> is resolved (never the default level): the level of the node the client asked.
/// </remarks>
internal sealed record CoordinateWriteRequest(ulong RequestId, byte[] Key, WriteOperation Write, byte[] Value, VersionVector Context, ConsistencyLevel Consistency)
    : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.CoordinateWrite;

    /// <inheritdoc/>
    public bool Equals(CoordinateWriteRequest? other) =>
        other is not null && RequestId == other.RequestId && Key.AsSpan().SequenceEqual(other.Key) && Write == other.Write
        && Value.AsSpan().SequenceEqual(other.Value) && Context.Equals(other.Context) && Consistency == other.Consistency;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(RequestId, Key.Length, Write, Value.Length);
}

/// <summary>
/// How a forwarded versioned write ended at its coordinating replica: the client's reply, relayed as is; and, after an
/// Ok answer sent before every replica had replied, one more per late acknowledgement (the same id, status Ok and
/// message: any of them may arrive first and is the answer), the last with <paramref name="Final"/>, so WAIT on the
/// forwarding node counts them.
/// </summary>
/// <param name="RequestId">The forwarding node's request id.</param>
/// <param name="Status">How the write ended.</param>
/// <param name="Message">The error text; for an increment's Ok, the count.</param>
/// <param name="Acked">Replicas of the key that have acknowledged the write so far.</param>
/// <param name="Final">Every replica has replied (or the deadline passed): no more updates follow.</param>
internal sealed record CoordinateWriteReply(ulong RequestId, ClientStatus Status, string Message = "", int Acked = 0, bool Final = true) : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.CoordinateWriteReply;
}
