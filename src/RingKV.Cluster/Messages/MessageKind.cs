namespace RingKV.Cluster.Messages;

/// <summary>The kind of a cluster message: the frame's kind byte on the wire.</summary>
/// <remarks>Values are on the wire: never renumbered or reused, pinned by a test. 0-15 belong to the transport (handshake).</remarks>
internal enum MessageKind : byte
{
    /// <summary>Read one key's record from a replica.</summary>
    ReplicaRead = 16,

    /// <summary>A replica's record of one key.</summary>
    ReplicaReadReply = 17,

    /// <summary>Merge a write into a replica's record of one key.</summary>
    ReplicaWrite = 18,

    /// <summary>A replica applied (or failed) a write.</summary>
    ReplicaWriteReply = 19,

    /// <summary>Records of a token range, in token order, from a replica.</summary>
    ReplicaScan = 20,

    /// <summary>A page of records of a token range.</summary>
    ReplicaScanReply = 21,

    /// <summary>Count a replica's live keys in token ranges.</summary>
    ReplicaCount = 22,

    /// <summary>A replica's count.</summary>
    ReplicaCountReply = 23,

    /// <summary>Remove every key a replica holds (FLUSHALL).</summary>
    ReplicaFlush = 24,

    /// <summary>A replica flushed.</summary>
    ReplicaFlushReply = 25,

    /// <summary>Coordinate a versioned write at a replica of its key (sent by a node that is not one).</summary>
    CoordinateWrite = 26,

    /// <summary>How a forwarded versioned write ended.</summary>
    CoordinateWriteReply = 27,

    /// <summary>
    /// A write for a DOWN replica, sent to its stand-in (sloppy quorum): kept durably as a hint for that replica and
    /// handed to it once it is back; answered by <see cref="ReplicaWriteReply"/>.
    /// </summary>
    HintedWrite = 28,

    /// <summary>Read one key at a stand-in: its record merged with the hint it keeps for the DOWN replica; answered by <see cref="ReplicaReadReply"/>.</summary>
    HintedRead = 29,

    /// <summary>Membership: gossip and heartbeats (the body says which; see Membership).</summary>
    Membership = 32,

    /// <summary>Anti-entropy: open a session, build Merkle trees of token ranges and answer their roots.</summary>
    AntiEntropyRoots = 40,

    /// <summary>A replica's Merkle roots of the ranges asked.</summary>
    AntiEntropyRootsReply = 41,

    /// <summary>Anti-entropy: the hashes below differing tree nodes, some levels down.</summary>
    AntiEntropyDescend = 42,

    /// <summary>A replica's hashes below the nodes asked.</summary>
    AntiEntropyDescendReply = 43,

    /// <summary>Anti-entropy: the initiator's records of differing leaves, to merge and answer with the replica's.</summary>
    AntiEntropyPush = 44,

    /// <summary>The replica merged them; its own differing records of those leaves.</summary>
    AntiEntropyPushReply = 45,

    /// <summary>A page of a token range a node gains in a membership change (<see cref="StreamPageRequest"/>).</summary>
    StreamPage = 50,

    /// <summary>The answer to <see cref="StreamPage"/>.</summary>
    StreamPageReply = 51,

    /// <summary>How far a gainer has streamed (<see cref="StreamProgressRequest"/>), asked by the node that completes the change.</summary>
    StreamProgress = 52,

    /// <summary>The answer to <see cref="StreamProgress"/>.</summary>
    StreamProgressReply = 53,
}
