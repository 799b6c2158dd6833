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

/// <summary>How a forwarded versioned write ended at its coordinating replica: the client's reply, relayed as is.</summary>
internal sealed record CoordinateWriteReply(ulong RequestId, ClientStatus Status, string Message = "") : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.CoordinateWriteReply;
}
