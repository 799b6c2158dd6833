using System;
using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace RingKV.Net.Peers;

/// <summary>A node's handshake: the cluster it belongs to, its node id and the cluster protocol version it speaks.</summary>
/// <remarks>
/// Sent by the dialing node as <see cref="PeerFrameKind.Hello"/> and answered by the listening node with its own as
/// <see cref="PeerFrameKind.Accepted"/>, so each side checks the other. Payload layout (little-endian):
/// <code>
/// | protocol version (2) | cluster name length (1) | cluster name (UTF-8) | node id length (1) | node id (UTF-8) |
/// | auth scheme (1) | auth length (2) | auth bytes |
/// </code>
/// The protocol version is the cluster's (its message bodies), not the frame format's; two nodes talk only when
/// both match exactly. The auth field is reserved for a cluster-secret HMAC; today only <see cref="PeerAuthScheme.None"/>
/// with no bytes is accepted. Immutable.
/// </remarks>
internal sealed record PeerHello
{
    /// <summary>Longest cluster name or node id in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 255;

    /// <summary>Longest auth field.</summary>
    public const int MaxAuthBytes = 1024;

    /// <summary>Largest hello payload, and so the payload limit before a handshake is done.</summary>
    public const int MaxPayloadBytes = 2 + 1 + MaxNameBytes + 1 + MaxNameBytes + 1 + 2 + MaxAuthBytes;

    private static readonly UTF8Encoding Utf8Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlyMemory<byte> _auth = ReadOnlyMemory<byte>.Empty;

    /// <summary>Creates a hello. Requires: non-empty names of at most <see cref="MaxNameBytes"/> UTF-8 bytes.</summary>
    public PeerHello(string clusterName, string nodeId, ushort protocolVersion)
    {
        CheckName(clusterName, nameof(clusterName));
        CheckName(nodeId, nameof(nodeId));
        ClusterName = clusterName;
        NodeId = nodeId;
        ProtocolVersion = protocolVersion;
    }

    /// <summary>The cluster this node belongs to; peers of another cluster are refused.</summary>
    public string ClusterName { get; }

    /// <summary>This node's id in the cluster.</summary>
    public string NodeId { get; }

    /// <summary>The cluster protocol version this node speaks.</summary>
    public ushort ProtocolVersion { get; }

    /// <summary>How the auth field is to be read.</summary>
    public PeerAuthScheme AuthScheme { get; init; } = PeerAuthScheme.None;

    /// <summary>The auth field (empty with <see cref="PeerAuthScheme.None"/>); at most <see cref="MaxAuthBytes"/>.</summary>
    public ReadOnlyMemory<byte> Auth
    {
        get => _auth;
        init
        {
            if (value.Length > MaxAuthBytes)
            {
                throw new ArgumentOutOfRangeException(nameof(value), $"the auth field is longer than {MaxAuthBytes} bytes");
            }

            _auth = value;
        }
    }

    /// <summary>Bytes of the encoded payload.</summary>
    public int EncodedLength =>
        2 + 1 + Utf8Strict.GetByteCount(ClusterName) + 1 + Utf8Strict.GetByteCount(NodeId) + 1 + 2 + Auth.Length;

    /// <summary>Equal when every field is, the auth bytes compared by content.</summary>
    public bool Equals(PeerHello? other) =>
        other is not null
        && ClusterName == other.ClusterName
        && NodeId == other.NodeId
        && ProtocolVersion == other.ProtocolVersion
        && AuthScheme == other.AuthScheme
        && Auth.Span.SequenceEqual(other.Auth.Span);

    public override int GetHashCode() => HashCode.Combine(ClusterName, NodeId, ProtocolVersion, AuthScheme, Auth.Length);

    /// <summary>Writes the payload; returns its length. Requires: room for <see cref="EncodedLength"/> bytes.</summary>
    public int Encode(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, ProtocolVersion);
        var at = 2;
        at += WriteName(destination[at..], ClusterName);
        at += WriteName(destination[at..], NodeId);
        destination[at++] = (byte)AuthScheme;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[at..], (ushort)Auth.Length);
        at += 2;
        Auth.Span.CopyTo(destination[at..]);
        return at + Auth.Length;
    }

    /// <summary>Decodes a hello payload; false with a reason for anything malformed (never throws on hostile bytes).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> payload, out PeerHello? hello, out string? error)
    {
        hello = null;
        if (payload.Length < 2)
        {
            error = "hello is truncated";
            return false;
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(payload);
        var at = 2;
        if (!TryReadName(payload, ref at, out var clusterName) || !TryReadName(payload, ref at, out var nodeId))
        {
            error = "hello has a truncated, empty or non-UTF-8 cluster name or node id";
            return false;
        }

        if (payload.Length - at < 3)
        {
            error = "hello is truncated";
            return false;
        }

        var scheme = (PeerAuthScheme)payload[at++];
        int authLength = BinaryPrimitives.ReadUInt16LittleEndian(payload[at..]);
        at += 2;
        if (authLength > MaxAuthBytes || payload.Length - at != authLength)
        {
            error = "hello's auth field does not match its length";
            return false;
        }

        hello = new PeerHello(clusterName!, nodeId!, version) { AuthScheme = scheme, Auth = payload[at..].ToArray() };
        error = null;
        return true;
    }

    private static void CheckName(string name, string parameter)
    {
        ArgumentException.ThrowIfNullOrEmpty(name, parameter);
        int bytes;
        try
        {
            bytes = Utf8Strict.GetByteCount(name);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException("not encodable as UTF-8", parameter, e);
        }

        if (bytes > MaxNameBytes)
        {
            throw new ArgumentException($"longer than {MaxNameBytes} UTF-8 bytes", parameter);
        }
    }

    private static int WriteName(Span<byte> destination, string name)
    {
        var length = Utf8Strict.GetBytes(name, destination[1..]);
        destination[0] = (byte)length;
        return 1 + length;
    }

    private static bool TryReadName(ReadOnlySpan<byte> payload, ref int at, out string? name)
    {
        name = null;
        if (at >= payload.Length)
        {
            return false;
        }

        int length = payload[at];
        if (length == 0 || payload.Length - at - 1 < length)
        {
            return false;
        }

        var bytes = payload.Slice(at + 1, length);
        if (!Utf8.IsValid(bytes))
        {
            return false;
        }

        name = Utf8Strict.GetString(bytes);
        at += 1 + length;
        return true;
    }
}
