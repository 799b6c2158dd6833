namespace RingKV.Net.Peers;

/// <summary>How a <see cref="PeerHello"/> authenticates its sender. Wire values, never renumbered (pinned by a test).</summary>
/// <remarks>Only <see cref="None"/> exists; a cluster-secret HMAC over both hellos' nonces comes later in the reserved auth field.</remarks>
internal enum PeerAuthScheme : byte
{
    /// <summary>No authentication; the auth field is empty.</summary>
    None = 0,
}
