namespace RingKV.Net.Peers;

/// <summary>Outcome of one attempt to decode a frame from buffered bytes.</summary>
internal enum PeerFrameStatus : byte
{
    /// <summary>A whole, checksummed frame.</summary>
    Complete = 0,

    /// <summary>Not a whole frame yet; receive more and retry from the same start.</summary>
    Incomplete = 1,

    /// <summary>The bytes are not a frame (see <see cref="PeerFrameError"/>); close the connection.</summary>
    Error = 2,
}
