using System;

namespace RingKV.Net.Peers;

/// <summary>What a host learns from a <see cref="PeerLink"/>: connections made and lost, and frames it could not deliver.</summary>
/// <remarks>
/// Called from the link's connect loop, one call at a time per link and never under the link's lock, so a callback
/// may call <see cref="PeerLink.Send"/>. Callbacks must return quickly (post to the node loop, count, log).
/// </remarks>
internal interface IPeerLinkObserver
{
    /// <summary>The link is connected and the peer accepted the handshake with <paramref name="remote"/>.</summary>
    void OnConnected(PeerLink link, PeerHello remote)
    {
    }

    /// <summary>A connection ended or an attempt failed; queued frames have been failed back already.</summary>
    void OnDisconnected(PeerLink link, PeerLinkDown down)
    {
    }

    /// <summary>
    /// Frames queued on the link that it gives up on, in the order they were queued: the connection broke (or the link
    /// was disposed) before they were known to be sent. Frames <see cref="PeerLink.Send"/> refused are not reported
    /// here; the caller had its answer at once. A frame failed back may still have been delivered
    /// (it was in a send that broke), so its request may yet be answered. The span is valid during the call only.
    /// </summary>
    void OnFramesFailed(PeerLink link, ReadOnlySpan<PeerFrameId> frames)
    {
    }
}
