using System.Collections.Generic;

namespace RingKV.Cluster.Messages;

/// <summary>One token range [First, Last] (non-wrapping) of an anti-entropy exchange, with how many records the initiator holds in it.</summary>
internal readonly record struct AntiEntropyRange(ulong First, ulong Last, long Keys);

/// <summary>A replica's Merkle root of one range: the depth it chose (from both sides' key counts), the root, and its own key count.</summary>
internal readonly record struct AntiEntropyRoot(int Depth, ulong Hash, long Keys);

/// <summary>One descent step: nodes of one level of one range's tree whose hashes differ, and how many levels down to answer.</summary>
/// <param name="Range">The range's index in the session's roots request.</param>
/// <param name="Level">The level of <paramref name="Nodes"/> (0: the root).</param>
/// <param name="LevelsDown">How many levels below them to answer (at least 1).</param>
/// <param name="Nodes">The differing nodes' indexes within their level.</param>
internal readonly record struct AntiEntropyDescent(int Range, int Level, int LevelsDown, IReadOnlyList<int> Nodes);

/// <summary>Differing leaves of one range's tree.</summary>
/// <param name="Range">The range's index in the session's roots request.</param>
/// <param name="Leaves">The leaves' indexes.</param>
internal readonly record struct AntiEntropyLeaves(int Range, IReadOnlyList<int> Leaves);

/// <summary>
/// Opens an anti-entropy session: the replica builds a Merkle tree of each range from its own records (a scan), keeps
/// the trees for the session, and answers their roots. The session's id is this request's id.
/// </summary>
internal sealed record AntiEntropyRootsRequest(ulong RequestId, IReadOnlyList<AntiEntropyRange> Ranges) : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.AntiEntropyRoots;
}

/// <summary>The replica's roots, one per range of the request, in its order.</summary>
internal sealed record AntiEntropyRootsReply(ulong RequestId, ReplicaStatus Status, IReadOnlyList<AntiEntropyRoot> Roots, string Error = "") : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.AntiEntropyRootsReply;
}

/// <summary>Asks, in session <see cref="Session"/>, for the hashes below the nodes of each step.</summary>
internal sealed record AntiEntropyDescendRequest(ulong RequestId, ulong Session, IReadOnlyList<AntiEntropyDescent> Steps) : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.AntiEntropyDescend;
}

/// <summary>For each step in order, for each of its nodes, the 2^LevelsDown hashes below it, left to right (MerkleTree.DescendantHashes).</summary>
internal sealed record AntiEntropyDescendReply(ulong RequestId, ReplicaStatus Status, IReadOnlyList<ulong> Hashes, string Error = "") : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.AntiEntropyDescendReply;
}

/// <summary>
/// The initiator's records of differing leaves (in session <see cref="Session"/>): the replica merges those that differ
/// from its own, and answers with its own records of the leaves that differ from the initiator's.
/// </summary>
internal sealed record AntiEntropyPushRequest(ulong RequestId, ulong Session, IReadOnlyList<AntiEntropyLeaves> Leaves, IReadOnlyList<ScanEntry> Entries) : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.AntiEntropyPush;
}

/// <summary>
/// The replica merged the initiator's differing records (Ok only once every merge is done): <see cref="Differing"/> keys
/// of the leaves differed, and <see cref="Entries"/> are the replica's records of those keys for the initiator to merge.
/// </summary>
internal sealed record AntiEntropyPushReply(ulong RequestId, ReplicaStatus Status, long Differing, IReadOnlyList<ScanEntry> Entries, string Error = "") : ClusterMessage(RequestId)
{
    public override MessageKind Kind => MessageKind.AntiEntropyPushReply;
}
