namespace RingKV.Net.Peers;

/// <summary>Where a <see cref="PeerLink"/> is in its life.</summary>
internal enum PeerLinkState : byte
{
    /// <summary>Created, not started.</summary>
    Idle = 0,

    /// <summary>Connecting or handshaking.</summary>
    Connecting = 1,

    /// <summary>Connected; flushed frames are sent.</summary>
    Connected = 2,

    /// <summary>Waiting out a backoff before the next attempt; frames queue (up to the bound) for it.</summary>
    Backoff = 3,

    /// <summary>Disposed; nothing is sent or queued.</summary>
    Closed = 4,
}
