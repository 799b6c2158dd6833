using System;
using System.Collections.Immutable;
using System.Linq;
using RingKV.Cluster.Membership;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Cluster.Tests.Membership;

public sealed class GossipCodecTests
{
    // format 1, kind Ping; heartbeat "a" g1 v2 s1 load (3,4,5, cpu 6) no suspects; from "a:1"; sent at 0x0102030405060708 (i64 LE).
    private static readonly byte[] GoldenPing =
    [
        0x01, 0x01,
        0x01, (byte)'a', 0x01, 0x02, 0x01, 0x03, 0x04, 0x05, 0x06, 0x00,
        0x03, (byte)'a', (byte)':', (byte)'1',
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
    ];

    // format 1, kind Ack2 from "b" at "p"; one record: "b" g2 v3 s3 Normal, dc "d", rack "r", capacity 300, client "c",
    // peer "p", one token 1 (u64 LE), load (0,0,0,0), suspects ["a"]; no heartbeats.
    private static readonly byte[] GoldenAck2 =
    [
        0x01, 0x05,
        0x01, (byte)'b', 0x01, (byte)'p',
        0x01,
        0x01, (byte)'b', 0x02, 0x03, 0x03, 0x02, 0x01, (byte)'d', 0x01, (byte)'r', 0xAC, 0x02, 0x01, (byte)'c', 0x01, (byte)'p',
        0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,
        0x01, 0x01, (byte)'a',
        0x00,
    ];

    [Fact]
    public void WireValues_AreNeverRenumbered()
    {
        Assert.Equal(1, GossipCodec.FormatVersion);
        Assert.Equal([1, 2, 3, 4], Enum.GetValues<NodeState>().Select(s => (int)s).ToArray());
        Assert.Equal(["Joining", "Normal", "Leaving", "Left"], Enum.GetNames<NodeState>());
        Assert.Equal([1, 2, 3, 4, 5], Enum.GetValues<GossipMessageKind>().Select(k => (int)k).ToArray());
        Assert.Equal(["Ping", "Pong", "Syn", "Ack", "Ack2"], Enum.GetNames<GossipMessageKind>());
    }

    [Fact]
    public void Encode_Ping_MatchesTheDocumentedLayout()
    {
        var ping = new GossipPing(new HeartbeatUpdate(new NodeId("a"), 1, 2, 1, new LoadFigures(3, 4, 5, 6), []), "a:1", 0x0102030405060708);

        Assert.Equal(GoldenPing, GossipCodec.Encode(ping));
    }

    [Fact]
    public void Encode_Ack2WithRecord_MatchesTheDocumentedLayout()
    {
        var record = new NodeRecord(new NodeId("b"), 2, 3, 3, NodeState.Normal, [1UL], "d", "r", 300, "c", "p", default, [new NodeId("a")]);
        var ack2 = new GossipAck2(new NodeId("b"), "p", [record], []);

        Assert.Equal(GoldenAck2, GossipCodec.Encode(ack2));
        Assert.True(GossipCodec.TryDecode(GoldenAck2, out var decoded, out var error), error.ToString());
        var back = Assert.IsType<GossipAck2>(decoded);
        Assert.Equal(record, Assert.Single(back.Records));
        Assert.Empty(back.Heartbeats);
    }

    [Fact]
    public void TryDecode_RandomMessages_RoundTripExactly()
    {
        var run = SeededRun.Start(nameof(TryDecode_RandomMessages_RoundTripExactly));
        run.Run(() =>
        {
            for (var i = 0; i < 500; i++)
            {
                var message = MembershipSamples.RandomMessage(run.Random);
                run.Step($"{message.Kind} from {message.From}");
                var bytes = GossipCodec.Encode(message);

                Assert.True(GossipCodec.TryDecode(bytes, out var decoded, out var error), error.ToString());
                Assert.Equal(message.Kind, decoded.Kind);
                Assert.Equal(message.From, decoded.From);
                Assert.Equal(message.FromAddress, decoded.FromAddress);
                Assert.Equal(bytes, GossipCodec.Encode(decoded));
                AssertSameContent(message, decoded);
            }
        });
    }

    [Fact]
    public void TryDecode_EveryStrictPrefix_IsTruncatedNeverThrows()
    {
        var run = SeededRun.Start(nameof(TryDecode_EveryStrictPrefix_IsTruncatedNeverThrows));
        run.Run(() =>
        {
            for (var i = 0; i < 60; i++)
            {
                var bytes = GossipCodec.Encode(MembershipSamples.RandomMessage(run.Random));
                for (var length = 0; length < bytes.Length; length++)
                {
                    run.Step($"message {i}, prefix {length} of {bytes.Length}");
                    Assert.False(GossipCodec.TryDecode(bytes.AsSpan(0, length), out var message, out var error));
                    Assert.Null(message);
                    Assert.Equal(GossipDecodeStatus.Truncated, error.Status);
                }
            }
        });
    }

    [Fact]
    public void TryDecode_RandomAndMutatedBytes_NeverThrows()
    {
        var run = SeededRun.Start(nameof(TryDecode_RandomAndMutatedBytes_NeverThrows));
        run.Run(() =>
        {
            var refused = 0;
            for (var i = 0; i < 20_000; i++)
            {
                byte[] bytes;
                if (i % 2 == 0)
                {
                    bytes = run.Random.NextBytes(run.Random.Next(0, 200));
                    if (bytes.Length >= 2 && run.Random.Chance(80))
                    {
                        bytes[0] = GossipCodec.FormatVersion;
                        bytes[1] = (byte)run.Random.Next(1, 6);
                    }
                }
                else
                {
                    bytes = GossipCodec.Encode(MembershipSamples.RandomMessage(run.Random));
                    for (var flips = run.Random.Next(1, 4); flips > 0; flips--)
                    {
                        bytes[run.Random.Next(bytes.Length)] ^= (byte)run.Random.Next(1, 256);
                    }
                }

                run.Step($"input {i}: {bytes.Length} bytes");
                if (GossipCodec.TryDecode(bytes, out var message, out var error))
                {
                    // Whatever decodes is a valid message: it encodes again to the same bytes.
                    var again = GossipCodec.Encode(message);
                    Assert.True(bytes.AsSpan().SequenceEqual(again), $"{Convert.ToHexString(bytes)} decoded as a {message.Kind} that encodes as {Convert.ToHexString(again)}");
                }
                else
                {
                    Assert.NotEqual(GossipDecodeStatus.Ok, error.Status);
                    Assert.False(string.IsNullOrEmpty(error.Detail));
                    refused++;
                }
            }

            Assert.True(refused > 10_000, $"only {refused} refused");
        });
    }

    [Fact]
    public void TryDecode_TrailingByte_IsRefused()
    {
        AssertRefused([.. GoldenPing, 0x00], GossipDecodeStatus.TrailingBytes);
    }

    [Theory]
    [InlineData((byte)0)]
    [InlineData((byte)2)]
    [InlineData((byte)255)]
    public void TryDecode_OtherFormatVersion_IsUnsupported(byte format)
    {
        var bytes = GoldenPing.ToArray();
        bytes[0] = format;

        AssertRefused(bytes, GossipDecodeStatus.UnsupportedFormat);
    }

    [Theory]
    [InlineData((byte)0)]
    [InlineData((byte)6)]
    [InlineData((byte)255)]
    public void TryDecode_UnknownKind_IsRefused(byte kind)
    {
        var bytes = GoldenPing.ToArray();
        bytes[1] = kind;

        AssertRefused(bytes, GossipDecodeStatus.UnknownKind);
    }

    [Theory]
    [InlineData((byte)0)]
    [InlineData((byte)5)]
    [InlineData((byte)200)]
    public void TryDecode_UnknownNodeState_IsInvalid(byte state)
    {
        var bytes = GoldenAck2.ToArray();
        bytes[12] = state;

        AssertRefused(bytes, GossipDecodeStatus.InvalidValue);
    }

    [Fact]
    public void TryDecode_GenerationZeroOrStateVersionAboveVersion_IsInvalid()
    {
        var zeroGeneration = GoldenPing.ToArray();
        zeroGeneration[4] = 0x00;
        AssertRefused(zeroGeneration, GossipDecodeStatus.InvalidValue);

        var stateAfterVersion = GoldenPing.ToArray();
        stateAfterVersion[6] = 0x03;
        AssertRefused(stateAfterVersion, GossipDecodeStatus.InvalidValue);
    }

    [Fact]
    public void TryDecode_SuspectsUnsortedDuplicatedOrSelf_IsInvalid()
    {
        var heartbeat = new byte[] { 0x01, (byte)'m', 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00 };
        byte[] Ping(params byte[] suspects) => [0x01, 0x01, .. heartbeat, .. suspects, 0x01, (byte)'m', 0, 0, 0, 0, 0, 0, 0, 0];

        Assert.True(GossipCodec.TryDecode(Ping(0x02, 0x01, (byte)'a', 0x01, (byte)'b'), out _, out var ok), ok.ToString());
        AssertRefused(Ping(0x02, 0x01, (byte)'b', 0x01, (byte)'a'), GossipDecodeStatus.InvalidValue);
        AssertRefused(Ping(0x02, 0x01, (byte)'a', 0x01, (byte)'a'), GossipDecodeStatus.InvalidValue);
        AssertRefused(Ping(0x01, 0x01, (byte)'m'), GossipDecodeStatus.InvalidValue);
    }

    [Fact]
    public void TryDecode_BlankOrEmptyNodeName_IsInvalid()
    {
        var blank = GoldenPing.ToArray();
        blank[3] = (byte)' ';
        AssertRefused(blank, GossipDecodeStatus.InvalidValue);

        // An empty name: the length byte 0, then the rest shifted by the missing character.
        AssertRefused([0x01, 0x01, 0x00, .. GoldenPing.AsSpan(4)], GossipDecodeStatus.InvalidValue);
    }

    [Fact]
    public void TryDecode_InvalidUtf8_IsInvalidText()
    {
        var bytes = GoldenPing.ToArray();
        bytes[3] = 0xC3; // a lead byte with no continuation
        AssertRefused(bytes, GossipDecodeStatus.InvalidText);

        bytes[3] = 0xFF;
        AssertRefused(bytes, GossipDecodeStatus.InvalidText);
    }

    [Fact]
    public void TryDecode_StringOrCountOverTheLimit_IsRefusedBeforeReading()
    {
        // A 256-byte name, followed by nothing: the limit is checked before the bytes are looked for.
        AssertRefused([0x01, 0x01, 0x80, 0x02], GossipDecodeStatus.LimitExceeded);

        // A syn declaring MaxNodes + 1 digests, and one declaring far more than its bytes can hold.
        var over = (ulong)GossipCodec.MaxNodes + 1;
        AssertRefused([0x01, 0x03, 0x01, (byte)'a', 0x01, (byte)'p', 0x00, (byte)(0x80 | (over & 0x7F)), (byte)(over >> 7)], GossipDecodeStatus.LimitExceeded);
        AssertRefused([0x01, 0x03, 0x01, (byte)'a', 0x01, (byte)'p', 0x00, 0xE8, 0x07, 0x01, (byte)'a', 0x01, 0x01], GossipDecodeStatus.Truncated);

        // A record declaring MaxTokens + 1 tokens.
        var tokens = GoldenAck2.ToArray();
        var overTokens = (ulong)GossipCodec.MaxTokens + 1;
        byte[] withCount = [.. tokens.AsSpan(0, 23), (byte)(0x80 | (overTokens & 0x7F)), (byte)(overTokens >> 7), .. tokens.AsSpan(24)];
        AssertRefused(withCount, GossipDecodeStatus.LimitExceeded);
    }

    [Fact]
    public void TryDecode_OverlongOrOversizedVarint_IsBadVarint()
    {
        // Eleven continuation bytes as the generation.
        AssertRefused([0x01, 0x01, 0x01, (byte)'a', .. Enumerable.Repeat((byte)0x80, 11), 0x01], GossipDecodeStatus.BadVarint);

        // A generation over 64 bits (a tenth byte above 1), and one in a longer form than needed.
        AssertRefused([0x01, 0x01, 0x01, (byte)'a', .. Enumerable.Repeat((byte)0xFF, 9), 0x03, 0x01, 0x01, 0, 0, 0, 0, 0x01, (byte)'a', 0, 0, 0, 0, 0, 0, 0, 0], GossipDecodeStatus.BadVarint);
        AssertRefused([0x01, 0x01, 0x01, (byte)'a', 0x81, 0x00, 0x02, 0x01, 0, 0, 0, 0, 0x01, (byte)'a', 0, 0, 0, 0, 0, 0, 0, 0], GossipDecodeStatus.BadVarint);

        // A capacity of 2^32 (a 32-bit field).
        byte[] bytes = [.. GoldenAck2.AsSpan(0, 17), 0x80, 0x80, 0x80, 0x80, 0x10, .. GoldenAck2.AsSpan(19)];
        AssertRefused(bytes, GossipDecodeStatus.BadVarint);
    }

    [Fact]
    public void Encode_StringOverTheLimit_Throws()
    {
        Assert.Throws<ArgumentException>(() => new GossipSyn(new NodeId("a"), new string('p', 256), "", []));
        Assert.Throws<ArgumentException>(() => new GossipSyn(new NodeId(new string('n', 256)), "p", "", []));
    }

    private static void AssertRefused(byte[] bytes, GossipDecodeStatus expected)
    {
        Assert.False(GossipCodec.TryDecode(bytes, out var message, out var error), $"decoded {message?.Kind}");
        Assert.Null(message);
        Assert.True(expected == error.Status, $"expected {expected}, got {error}");
        Assert.False(string.IsNullOrEmpty(error.Detail));
    }

    private static void AssertSameContent(GossipMessage expected, GossipMessage actual)
    {
        switch (expected)
        {
            case GossipPing ping:
                var p = Assert.IsType<GossipPing>(actual);
                AssertSameHeartbeat(ping.Heartbeat, p.Heartbeat);
                Assert.Equal(ping.SentAtTicks, p.SentAtTicks);
                break;
            case GossipPong pong:
                var q = Assert.IsType<GossipPong>(actual);
                AssertSameHeartbeat(pong.Heartbeat, q.Heartbeat);
                Assert.Equal(pong.EchoSentAtTicks, q.EchoSentAtTicks);
                break;
            case GossipSyn syn:
                var s = Assert.IsType<GossipSyn>(actual);
                Assert.Equal(syn.SeedAddress, s.SeedAddress);
                Assert.Equal(syn.Digests.ToArray(), s.Digests.ToArray());
                break;
            case GossipAck ack:
                var a = Assert.IsType<GossipAck>(actual);
                Assert.Equal(ack.SeedAddress, a.SeedAddress);
                Assert.Equal(ack.Records.ToArray(), a.Records.ToArray());
                AssertSameHeartbeats(ack.Heartbeats, a.Heartbeats);
                Assert.Equal(ack.Requests.ToArray(), a.Requests.ToArray());
                break;
            case GossipAck2 ack2:
                var b = Assert.IsType<GossipAck2>(actual);
                Assert.Equal(ack2.Records.ToArray(), b.Records.ToArray());
                AssertSameHeartbeats(ack2.Heartbeats, b.Heartbeats);
                break;
        }
    }

    private static void AssertSameHeartbeats(ImmutableArray<HeartbeatUpdate> expected, ImmutableArray<HeartbeatUpdate> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            AssertSameHeartbeat(expected[i], actual[i]);
        }
    }

    private static void AssertSameHeartbeat(HeartbeatUpdate expected, HeartbeatUpdate actual)
    {
        Assert.Equal(expected.Node, actual.Node);
        Assert.Equal(expected.Generation, actual.Generation);
        Assert.Equal(expected.Version, actual.Version);
        Assert.Equal(expected.StateVersion, actual.StateVersion);
        Assert.Equal(expected.Load, actual.Load);
        Assert.Equal(expected.Suspects.ToArray(), actual.Suspects.ToArray());
    }
}
