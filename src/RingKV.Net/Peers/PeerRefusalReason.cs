namespace RingKV.Net.Peers;

/// <summary>Why a node refused a peer's handshake. Wire values, never renumbered (pinned by a test).</summary>
internal enum PeerRefusalReason : byte
{
    /// <summary>The peer belongs to another cluster (its cluster name differs).</summary>
    OtherCluster = 1,

    /// <summary>The peer speaks another cluster protocol version.</summary>
    OtherProtocolVersion = 2,

    /// <summary>The first frame was not a well-formed hello.</summary>
    BadHandshake = 3,

    /// <summary>The peer's authentication is missing, of an unknown scheme, or wrong.</summary>
    AuthenticationFailed = 4,
}
