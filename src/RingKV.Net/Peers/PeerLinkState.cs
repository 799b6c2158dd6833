namespace RingKV.Net.Peers;

/// <summary>Where a <see cref="PeerLink"/> is in its life.</summary>
internal enum PeerLinkState : byte
{
    /// <summary>Created, not started.</summary>
    Idle = 0,

    /// <summary>Connecting or handshaking; <see cref="PeerLink.Send"/> holds frames on the first attempt and the first after a break (up to <see cref="PeerLinkOptions.MaxHeldBytes"/>), else answers not connected.</summary>
    Connecting = 1,

    /// <summary>Connected and handshaken; <see cref="PeerLink.Send"/> queues and flushed frames are sent.</summary>
    Connected = 2,

    /// <summary>Waiting out a backoff before the next attempt; <see cref="PeerLink.Send"/> answers not connected (holds, if a working connection just broke).</summary>
    Backoff = 3,

    /// <summary>Disposed; nothing is sent or queued.</summary>
    Closed = 4,
}
