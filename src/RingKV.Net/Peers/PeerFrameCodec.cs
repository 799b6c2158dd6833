using System;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using RingKV.Core.Hashing;

namespace RingKV.Net.Peers;

/// <summary>Encodes and decodes internode frames: a fixed header, an opaque payload and a CRC32C trailer.</summary>
/// <remarks>
/// Layout (docs/formats/peer-frame.md is the spec), little-endian:
/// <code>
/// | 'R' 'K' (2) | version (1) | kind (1) | request id (8) | payload length (4) | payload | crc32c (4) |
/// </code>
/// The CRC32C covers every byte before it (header and payload), so damage anywhere is caught, and it is one
/// contiguous hash. Rejected alternative: the CRC first, as the commit log has it, which would put the magic
/// at offset 4 and hash two spans (the Crc32 instance for that allocates).
/// Invariants: (1) every error is decided by a prefix of the bytes: magic and version as soon as their bytes
/// are there, the length limit as soon as the header is, the checksum once the frame is whole, so the outcome
/// does not depend on how the stream was split; (2) the length is checked against the receiver's limit before
/// any payload is buffered; (3) hostile bytes never throw. Stateless and thread-safe; allocates nothing.
/// </remarks>
internal static class PeerFrameCodec
{
    /// <summary>First byte of every frame.</summary>
    public const byte Magic0 = (byte)'R';

    /// <summary>Second byte of every frame.</summary>
    public const byte Magic1 = (byte)'K';

    /// <summary>The frame format version written and accepted; bumped on any incompatible change to the layout.</summary>
    public const byte Version = 1;

    /// <summary>Bytes before the payload.</summary>
    public const int HeaderBytes = 16;

    /// <summary>Bytes after the payload (the CRC32C).</summary>
    public const int TrailerBytes = 4;

    /// <summary>Bytes a frame adds to its payload.</summary>
    public const int OverheadBytes = HeaderBytes + TrailerBytes;

    /// <summary>Lowest kind the layers above may use; the kinds below are reserved for this layer (<see cref="PeerFrameKind"/>).</summary>
    public const byte FirstMessageKind = 16;

    /// <summary>Largest payload length the format can carry (a frame must fit an array).</summary>
    public const int MaxPayloadLimit = int.MaxValue - 64;

    private const int VersionOffset = 2;
    private const int KindOffset = 3;
    private const int RequestIdOffset = 4;
    private const int LengthOffset = 12;

    /// <summary>Writes one frame; returns its length in bytes.</summary>
    /// <remarks>Requires: <paramref name="destination"/> holds <see cref="OverheadBytes"/> plus the payload length.</remarks>
    public static int Encode(Span<byte> destination, byte kind, ulong requestId, ReadOnlySpan<byte> payload)
    {
        var frameBytes = OverheadBytes + payload.Length;
        Debug.Assert(destination.Length >= frameBytes, "room for the frame");
        destination[0] = Magic0;
        destination[1] = Magic1;
        destination[VersionOffset] = Version;
        destination[KindOffset] = kind;
        BinaryPrimitives.WriteUInt64LittleEndian(destination[RequestIdOffset..], requestId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[LengthOffset..], (uint)payload.Length);
        payload.CopyTo(destination[HeaderBytes..]);
        var covered = HeaderBytes + payload.Length;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[covered..], Checksum.Crc32C(destination[..covered]));
        return frameBytes;
    }

    /// <summary>Decodes the frame at the start of <paramref name="buffer"/>.</summary>
    /// <param name="buffer">Received bytes, starting at a frame boundary.</param>
    /// <param name="maxPayloadBytes">Longest payload accepted; a longer one is <see cref="PeerFrameError.PayloadTooLarge"/>.</param>
    /// <param name="header">On <see cref="PeerFrameStatus.Complete"/>: the frame's fields; the payload is at
    /// [<see cref="HeaderBytes"/>, <see cref="HeaderBytes"/> + length) of <paramref name="buffer"/>.</param>
    /// <param name="needBytes">Complete: the frame's length. Incomplete: how many bytes from the start the frame
    /// needs at least (the header, then the whole frame), so a caller grows its buffer once. Error: 0.</param>
    /// <param name="error">On <see cref="PeerFrameStatus.Error"/>: why.</param>
    public static PeerFrameStatus TryDecode(
        ReadOnlySpan<byte> buffer, int maxPayloadBytes, out PeerFrameHeader header, out int needBytes, out PeerFrameError error)
    {
        Debug.Assert(maxPayloadBytes is >= 0 and <= MaxPayloadLimit, "a payload limit the format can carry");
        header = default;
        needBytes = 0;
        error = PeerFrameError.None;
        if ((buffer.Length > 0 && buffer[0] != Magic0) || (buffer.Length > 1 && buffer[1] != Magic1))
        {
            error = PeerFrameError.BadMagic;
            return PeerFrameStatus.Error;
        }

        if (buffer.Length > VersionOffset && buffer[VersionOffset] != Version)
        {
            error = PeerFrameError.UnsupportedVersion;
            return PeerFrameStatus.Error;
        }

        if (buffer.Length < HeaderBytes)
        {
            needBytes = HeaderBytes;
            return PeerFrameStatus.Incomplete;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(buffer[LengthOffset..]);
        if (length > (uint)maxPayloadBytes)
        {
            error = PeerFrameError.PayloadTooLarge;
            return PeerFrameStatus.Error;
        }

        var frameBytes = OverheadBytes + (int)length;
        if (buffer.Length < frameBytes)
        {
            needBytes = frameBytes;
            return PeerFrameStatus.Incomplete;
        }

        var covered = HeaderBytes + (int)length;
        if (BinaryPrimitives.ReadUInt32LittleEndian(buffer[covered..]) != Checksum.Crc32C(buffer[..covered]))
        {
            error = PeerFrameError.ChecksumMismatch;
            return PeerFrameStatus.Error;
        }

        header = new PeerFrameHeader(buffer[KindOffset], BinaryPrimitives.ReadUInt64LittleEndian(buffer[RequestIdOffset..]), (int)length);
        needBytes = frameBytes;
        return PeerFrameStatus.Complete;
    }

    /// <summary>The text for a decode error, as logged when a connection is closed for it.</summary>
    public static string Describe(PeerFrameError error, ReadOnlySpan<byte> buffer, int maxPayloadBytes) => error switch
    {
        PeerFrameError.BadMagic => "not a RingKV peer frame (bad magic)",
        PeerFrameError.UnsupportedVersion => string.Create(
            CultureInfo.InvariantCulture, $"unsupported frame version {buffer[VersionOffset]} (this node speaks {Version})"),
        PeerFrameError.PayloadTooLarge => string.Create(
            CultureInfo.InvariantCulture,
            $"frame payload of {BinaryPrimitives.ReadUInt32LittleEndian(buffer[LengthOffset..])} bytes is over the limit of {maxPayloadBytes}"),
        PeerFrameError.ChecksumMismatch => "frame checksum mismatch (damaged bytes)",
        _ => "no error",
    };
}
