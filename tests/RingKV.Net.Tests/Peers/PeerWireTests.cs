using System;
using RingKV.Net.Peers;
using Xunit;

namespace RingKV.Net.Tests.Peers;

/// <summary>Pins every wire value of the peer frame layer (docs/formats/peer-frame.md): a change here breaks mixed-version clusters.</summary>
public sealed class PeerWireTests
{
    [Fact]
    public void FrameConstants_ArePinned()
    {
        Assert.Equal((byte)'R', PeerFrameCodec.Magic0);
        Assert.Equal((byte)'K', PeerFrameCodec.Magic1);
        Assert.Equal(1, PeerFrameCodec.Version);
        Assert.Equal(16, PeerFrameCodec.HeaderBytes);
        Assert.Equal(4, PeerFrameCodec.TrailerBytes);
        Assert.Equal(16, PeerFrameCodec.FirstMessageKind);
        Assert.Equal(1541, HandshakeFrames.MaxPayloadBytes);
    }

    [Fact]
    public void WireEnums_ArePinned()
    {
        Assert.Equal(1, (byte)PeerFrameKind.Hello);
        Assert.Equal(2, (byte)PeerFrameKind.Accepted);
        Assert.Equal(3, (byte)PeerFrameKind.Refused);
        Assert.Equal(3, Enum.GetValues<PeerFrameKind>().Length);

        Assert.Equal(1, (byte)PeerRefusalReason.OtherCluster);
        Assert.Equal(2, (byte)PeerRefusalReason.OtherProtocolVersion);
        Assert.Equal(3, (byte)PeerRefusalReason.BadHandshake);
        Assert.Equal(4, (byte)PeerRefusalReason.AuthenticationFailed);
        Assert.Equal(4, Enum.GetValues<PeerRefusalReason>().Length);

        Assert.Equal(0, (byte)PeerAuthScheme.None);
        Assert.Single(Enum.GetValues<PeerAuthScheme>());
    }

    [Fact]
    public void Encode_KnownFrame_IsPinned()
    {
        // CRC32C computed independently of the code under test.
        var frame = FrameStream.Encode((16, 0x0102030405060708, "abc"u8.ToArray()));

        Assert.Equal("524b01100807060504030201030000006162636cca97ce", Convert.ToHexStringLower(frame));
    }

    [Fact]
    public void Encode_KnownHello_IsPinned()
    {
        var frame = HandshakeFrames.Hello(PeerFrameKind.Hello, new PeerHello("prod", "n1", 3));

        Assert.Equal("524b010100000000000000000d00000003000470726f64026e310000001b0c2790", Convert.ToHexStringLower(frame));
    }

    [Fact]
    public void Encode_KnownRefusal_IsPinned()
    {
        var frame = HandshakeFrames.Refused(new PeerRefusal(PeerRefusalReason.OtherCluster, "no"));

        Assert.Equal("524b01030000000000000000050000000102006e6fed89230d", Convert.ToHexStringLower(frame));
    }
}
