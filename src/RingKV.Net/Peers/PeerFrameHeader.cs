namespace RingKV.Net.Peers;

/// <summary>The fields of a decoded frame header: kind, request id and payload length.</summary>
internal readonly record struct PeerFrameHeader(byte Kind, ulong RequestId, int PayloadLength)
{
    /// <summary>Bytes of the whole frame on the wire: header, payload and CRC trailer.</summary>
    public int FrameBytes => PeerFrameCodec.OverheadBytes + PayloadLength;
}
