namespace RingKV.Cluster.Membership;

/// <summary>The kinds of membership message, as the first byte after the format version of every encoded message.</summary>
/// <remarks>Wire values: never renumbered, pinned by a test. 0 is no kind.</remarks>
internal enum GossipMessageKind : byte
{
    /// <summary>A heartbeat to one peer, carrying the sender's heartbeat part; answered by <see cref="Pong"/>.</summary>
    Ping = 1,

    /// <summary>The answer to a <see cref="Ping"/>: the direct evidence that feeds the pinger's failure detector.</summary>
    Pong = 2,

    /// <summary>Opens a gossip exchange: the initiator's digests.</summary>
    Syn = 3,

    /// <summary>Answers a <see cref="Syn"/>: what the responder has newer, and the digests it wants newer.</summary>
    Ack = 4,

    /// <summary>Closes the exchange: what the initiator has newer than the <see cref="Ack"/>'s requests.</summary>
    Ack2 = 5,
}
