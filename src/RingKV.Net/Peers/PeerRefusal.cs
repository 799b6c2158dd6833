using System;
using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace RingKV.Net.Peers;

/// <summary>A handshake refusal: the reason and a text for the refused node's log.</summary>
/// <remarks>
/// Payload of a <see cref="PeerFrameKind.Refused"/> frame (little-endian):
/// <code>| reason (1) | message length (2) | message (UTF-8) |</code>
/// An unknown reason byte decodes as is (a newer node may add reasons). Immutable.
/// </remarks>
internal sealed record PeerRefusal(PeerRefusalReason Reason, string Message)
{
    /// <summary>Longest message in UTF-8 bytes; a longer one is cut when encoded.</summary>
    public const int MaxMessageBytes = 1024;

    /// <summary>Largest refusal payload.</summary>
    public const int MaxPayloadBytes = 3 + MaxMessageBytes;

    /// <summary>Writes the payload; returns its length. Requires: room for <see cref="MaxPayloadBytes"/> bytes.</summary>
    public int Encode(Span<byte> destination)
    {
        destination[0] = (byte)Reason;
        var text = destination.Slice(3, MaxMessageBytes);

        // Cut at a whole character: Encoding.UTF8 writes as many whole characters as fit.
        Encoding.UTF8.GetEncoder().Convert(Message, text, flush: true, out _, out var length, out _);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[1..], (ushort)length);
        return 3 + length;
    }

    /// <summary>Decodes a refusal payload; false for anything malformed (never throws on hostile bytes).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> payload, out PeerRefusal? refusal)
    {
        refusal = null;
        if (payload.Length < 3)
        {
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16LittleEndian(payload[1..]);
        if (length > MaxMessageBytes || payload.Length - 3 != length || !Utf8.IsValid(payload[3..]))
        {
            return false;
        }

        refusal = new PeerRefusal((PeerRefusalReason)payload[0], Encoding.UTF8.GetString(payload[3..]));
        return true;
    }
}
