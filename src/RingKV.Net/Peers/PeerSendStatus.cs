namespace RingKV.Net.Peers;

/// <summary>What <see cref="PeerLink.Send"/> did with a frame: queued it, or why not (then nothing was queued or sent).</summary>
internal enum PeerSendStatus : byte
{
    /// <summary>Queued; it leaves at the next <see cref="PeerLink.Flush"/>, or is failed back through <see cref="IPeerLinkObserver.OnFramesFailed"/>.</summary>
    Queued = 0,

    /// <summary>The link has no accepted connection now (backing off, refused, or connecting with its held frames at <see cref="PeerLinkOptions.MaxHeldBytes"/>): the peer counts as down.</summary>
    NotConnected = 1,

    /// <summary>Queuing it would pass <see cref="PeerLinkOptions.MaxQueuedBytes"/>: the peer is slow; the caller answers -BUSY.</summary>
    Busy = 2,

    /// <summary>The payload is over <see cref="PeerLinkOptions.MaxPayloadBytes"/>; the peer would close the connection on it.</summary>
    TooLarge = 3,

    /// <summary>The link is disposed.</summary>
    Closed = 4,
}
