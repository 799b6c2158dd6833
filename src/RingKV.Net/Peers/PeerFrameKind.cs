namespace RingKV.Net.Peers;

/// <summary>The frame kinds this layer owns: the handshake. Wire values, never renumbered (pinned by a test).</summary>
/// <remarks>
/// Kinds below <see cref="PeerFrameCodec.FirstMessageKind"/> are reserved for the frame layer; the cluster's
/// message kinds start there and are opaque bytes here.
/// </remarks>
internal enum PeerFrameKind : byte
{
    /// <summary>The dialing node's <see cref="PeerHello"/>, the first frame on a connection.</summary>
    Hello = 1,

    /// <summary>The listening node's <see cref="PeerHello"/>: the connection is accepted.</summary>
    Accepted = 2,

    /// <summary>A <see cref="PeerRefusal"/>; the sender closes the connection after it.</summary>
    Refused = 3,
}
