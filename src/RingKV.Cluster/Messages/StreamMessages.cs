using System.Collections.Generic;

namespace RingKV.Cluster.Messages;

/// <summary>
/// A page of a range this node gains in a membership change, asked of a replica that holds it: records with tokens in
/// [<see cref="First"/>, <see cref="Last"/>] (tombstones included), in token order, about <see cref="Limit"/> of them.
/// </summary>
internal sealed record StreamPageRequest(ulong RequestId, ulong First, ulong Last, int Limit) : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.StreamPage;
}

/// <summary>A stream page: as <see cref="ReplicaScanReply"/> (a page never splits the records of one token).</summary>
internal sealed record StreamPageReply(ulong RequestId, ReplicaStatus Status, IReadOnlyList<ScanEntry> Entries, bool Complete, ulong Next, string Error = "") : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.StreamPageReply;
}

/// <summary>How far the receiver has streamed what it gains in the change identified by <see cref="Signature"/>.</summary>
internal sealed record StreamProgressRequest(ulong RequestId, ulong Signature) : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.StreamProgress;
}

/// <summary>
/// A gainer's progress in a change: <see cref="Signature"/> is the change it computed (0 when it sees none), its ranges
/// in all and done, and the share of their tokens streamed in per mille (1000 when done).
/// </summary>
internal sealed record StreamProgressReply(ulong RequestId, ulong Signature, int RangesTotal, int RangesDone, int Permille, long BytesReceived) : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.StreamProgressReply;
}
