namespace RingKV.Net.Peers;

/// <summary>Why bytes are not a peer frame. Every one closes the connection.</summary>
internal enum PeerFrameError : byte
{
    /// <summary>No error.</summary>
    None = 0,

    /// <summary>The first two bytes are not the frame magic: not a RingKV peer, or the stream lost its framing.</summary>
    BadMagic = 1,

    /// <summary>The frame format version is not one this node speaks.</summary>
    UnsupportedVersion = 2,

    /// <summary>The payload length is over the receiver's limit (decided from the header, before any payload is buffered).</summary>
    PayloadTooLarge = 3,

    /// <summary>The CRC32C trailer does not match the header and payload: the bytes were damaged.</summary>
    ChecksumMismatch = 4,
}
