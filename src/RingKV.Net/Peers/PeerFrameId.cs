namespace RingKV.Net.Peers;

/// <summary>Names a frame a link could not deliver: its kind and request id.</summary>
internal readonly record struct PeerFrameId(byte Kind, ulong RequestId);
