namespace RingKV.Cluster.Membership;

/// <summary>Where a <see cref="Gossiper"/> puts the messages it sends; the host encodes them and hands them to the transport.</summary>
/// <remarks>
/// Sending may lose the message silently; nothing waits on it. Messages go by peer address because the first contact
/// with a seed happens before its node id is known.
/// </remarks>
internal interface IGossipOutbox
{
    /// <summary>Sends <paramref name="message"/> to the node listening on <paramref name="peerAddress"/> ("host:port").</summary>
    /// <param name="peerAddress">Where to send.</param>
    /// <param name="node">The node the gossiper believes listens there; null for a seed not yet identified.</param>
    /// <param name="message">The message; immutable, so it may be shared between sends.</param>
    void Send(string peerAddress, NodeId? node, GossipMessage message);
}
