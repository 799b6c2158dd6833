using System;
using RingKV.Net.Peers;
using Xunit;

namespace RingKV.Net.Tests.Peers;

public sealed class PeerHandshakeCodecTests
{
    private static byte[] Encoded(PeerHello hello)
    {
        var payload = new byte[hello.EncodedLength];
        Assert.Equal(payload.Length, hello.Encode(payload));
        return payload;
    }

    [Fact]
    public void Hello_RoundTrip_KeepsEveryField()
    {
        var hello = new PeerHello("clüster-ä", new string('n', PeerHello.MaxNameBytes), ushort.MaxValue);

        Assert.True(PeerHello.TryDecode(Encoded(hello), out var decoded, out var error), error);

        Assert.Equal(hello.ClusterName, decoded!.ClusterName);
        Assert.Equal(hello.NodeId, decoded.NodeId);
        Assert.Equal(hello.ProtocolVersion, decoded.ProtocolVersion);
        Assert.Equal(PeerAuthScheme.None, decoded.AuthScheme);
        Assert.True(decoded.Auth.IsEmpty);
    }

    [Fact]
    public void Hello_WithAuthField_RoundTrips()
    {
        var hello = new PeerHello("c", "n", 1) { AuthScheme = (PeerAuthScheme)7, Auth = new byte[] { 1, 2, 3 } };

        Assert.True(PeerHello.TryDecode(Encoded(hello), out var decoded, out _));

        Assert.Equal((PeerAuthScheme)7, decoded!.AuthScheme);
        Assert.Equal([1, 2, 3], decoded.Auth.ToArray());
    }

    [Fact]
    public void Hello_EveryTruncationAndTrailingByte_RefusedWithoutThrowing()
    {
        var payload = Encoded(new PeerHello("prod", "node-1", 2) { AuthScheme = (PeerAuthScheme)1, Auth = new byte[] { 9, 9 } });
        for (var length = 0; length < payload.Length; length++)
        {
            Assert.False(PeerHello.TryDecode(payload.AsSpan(0, length), out var hello, out var error), $"truncated to {length}");
            Assert.Null(hello);
            Assert.NotNull(error);
        }

        Assert.False(PeerHello.TryDecode([.. payload, 0], out _, out _));
    }

    [Theory]
    [InlineData("0200" + "00" + "01" + "6e" + "000000")] // empty cluster name
    [InlineData("0200" + "01" + "63" + "00" + "000000")] // empty node id
    [InlineData("0200" + "01" + "ff" + "01" + "6e" + "000000")] // cluster name not UTF-8
    [InlineData("0200" + "01" + "63" + "01" + "6e" + "00" + "0104")] // auth length over the limit
    public void Hello_Malformed_Refused(string hex)
    {
        Assert.False(PeerHello.TryDecode(Convert.FromHexString(hex), out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void Hello_NamesOutOfRange_Throw()
    {
        Assert.Throws<ArgumentException>(() => new PeerHello("", "n", 1));
        Assert.Throws<ArgumentException>(() => new PeerHello("c", new string('ä', 128), 1)); // 256 UTF-8 bytes
        Assert.Throws<ArgumentOutOfRangeException>(() => new PeerHello("c", "n", 1) { Auth = new byte[PeerHello.MaxAuthBytes + 1] });
    }

    [Fact]
    public void Refusal_RoundTripAndTruncations()
    {
        var refusal = new PeerRefusal(PeerRefusalReason.OtherProtocolVersion, "speaks version 2, not 3");
        var payload = new byte[PeerRefusal.MaxPayloadBytes];
        var length = refusal.Encode(payload);

        Assert.True(PeerRefusal.TryDecode(payload.AsSpan(0, length), out var decoded));
        Assert.Equal(refusal, decoded);
        for (var cut = 0; cut < length; cut++)
        {
            Assert.False(PeerRefusal.TryDecode(payload.AsSpan(0, cut), out _), $"truncated to {cut}");
        }
    }

    [Fact]
    public void Refusal_LongMessage_CutAtAWholeCharacter()
    {
        var refusal = new PeerRefusal(PeerRefusalReason.BadHandshake, new string('ä', 600)); // 1200 UTF-8 bytes
        var payload = new byte[PeerRefusal.MaxPayloadBytes];
        var length = refusal.Encode(payload);

        Assert.True(PeerRefusal.TryDecode(payload.AsSpan(0, length), out var decoded));
        Assert.Equal(new string('ä', 512), decoded!.Message);
    }
}
