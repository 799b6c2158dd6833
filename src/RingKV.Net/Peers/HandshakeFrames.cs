using System;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace RingKV.Net.Peers;

/// <summary>Encodes and sends the handshake frames (once per connection, so plain arrays).</summary>
internal static class HandshakeFrames
{
    /// <summary>Largest payload of any handshake frame: the payload limit before a connection is accepted.</summary>
    public const int MaxPayloadBytes = PeerHello.MaxPayloadBytes > PeerRefusal.MaxPayloadBytes
        ? PeerHello.MaxPayloadBytes
        : PeerRefusal.MaxPayloadBytes;

    /// <summary>A <see cref="PeerFrameKind.Hello"/> or <see cref="PeerFrameKind.Accepted"/> frame carrying <paramref name="hello"/>.</summary>
    public static byte[] Hello(PeerFrameKind kind, PeerHello hello)
    {
        var payload = new byte[hello.EncodedLength];
        var length = hello.Encode(payload);
        return Frame(kind, payload.AsSpan(0, length));
    }

    /// <summary>A <see cref="PeerFrameKind.Refused"/> frame.</summary>
    public static byte[] Refused(PeerRefusal refusal)
    {
        var payload = new byte[PeerRefusal.MaxPayloadBytes];
        var length = refusal.Encode(payload);
        return Frame(PeerFrameKind.Refused, payload.AsSpan(0, length));
    }

    /// <summary>Sends every byte.</summary>
    public static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await socket.SendAsync(bytes, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            bytes = bytes[sent..];
        }
    }

    private static byte[] Frame(PeerFrameKind kind, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[PeerFrameCodec.OverheadBytes + payload.Length];
        PeerFrameCodec.Encode(frame, (byte)kind, 0, payload);
        return frame;
    }
}
