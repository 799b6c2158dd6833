namespace RingKV.Cluster.Membership;

/// <summary>A node's place in the cluster's life cycle, as it gossips it about itself.</summary>
/// <remarks>
/// On the wire as one byte (<see cref="GossipCodec"/>): the values are never renumbered, and a test pins them. 0 is no
/// state, so a zeroed byte never reads as a valid one. DOWN is not a state: it is a verdict each node reaches from the
/// suspicion reports (<see cref="DownConsensus"/>), never something a node says about itself.
/// </remarks>
internal enum NodeState : byte
{
    /// <summary>Taking over its tokens' ranges; not yet serving them.</summary>
    Joining = 1,

    /// <summary>Owns and serves its tokens.</summary>
    Normal = 2,

    /// <summary>Handing its ranges to the nodes that take them over.</summary>
    Leaving = 3,

    /// <summary>Gone for good: owns nothing, is neither pinged nor suspected; its record stays so the news spreads.</summary>
    Left = 4,
}
