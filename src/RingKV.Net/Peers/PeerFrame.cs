using System;

namespace RingKV.Net.Peers;

/// <summary>One received frame: its kind, request id and payload.</summary>
/// <remarks>The payload lies in its <see cref="PeerFrameBatch"/>'s buffer and is valid until the batch is released.</remarks>
internal readonly record struct PeerFrame(byte Kind, ulong RequestId, ReadOnlyMemory<byte> Payload);
