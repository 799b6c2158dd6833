using System;
using System.Buffers.Binary;
using System.Globalization;
using RingKV.Net.Peers;
using RingKV.Testing.Support;
using Xunit;
using static RingKV.Net.Tests.Peers.FrameStream;

namespace RingKV.Net.Tests.Peers;

public sealed class PeerFrameCodecTests
{
    private static byte[] Payload(int length, int seed)
    {
        var payload = new byte[length];
        for (var i = 0; i < length; i++)
        {
            payload[i] = (byte)((i * 31) + seed);
        }

        return payload;
    }

    private static byte[] ThreeFrames() => Encode(
        (16, 1, Payload(0, 0)),
        (200, ulong.MaxValue, Payload(37, 1)),
        (255, 0x0102030405060708, Payload(300, 2)));

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(70_000)]
    public void Encode_ThenDecode_RoundTrips(int payloadLength)
    {
        var payload = Payload(payloadLength, 7);
        var frame = Encode((42, 123_456_789_012UL, payload));
        Assert.Equal(PeerFrameCodec.OverheadBytes + payloadLength, frame.Length);

        var outcome = Whole(frame);

        Assert.Equal(PeerFrameStatus.Incomplete, outcome.Final); // all consumed, nothing after it
        Assert.Equal(frame.Length, outcome.ConsumedBytes);
        Assert.Equal([new DecodedFrame(42, 123_456_789_012UL, payload)], outcome.Frames);
    }

    [Fact]
    public void TryDecode_SplitAtEveryOffset_SameFramesAsWhole()
    {
        var stream = ThreeFrames();
        var whole = Whole(stream);
        Assert.Equal(3, whole.Frames.Count);

        for (var offset = 0; offset <= stream.Length; offset++)
        {
            SplitAt(stream, offset).AssertSameAs(whole, $"split at {offset}");
        }

        OneByteAtATime(stream).AssertSameAs(whole, "one byte at a time");
    }

    [Fact]
    public void TryDecode_DamageAfterGoodFrames_DeliversThemThenTheSameErrorWhereverSplit()
    {
        var good = ThreeFrames();
        var damaged = Encode((16, 9, Payload(50, 3)));
        damaged[PeerFrameCodec.HeaderBytes + 10] ^= 0x01;
        var stream = (byte[])[.. good, .. damaged, .. good];
        var whole = Whole(stream);
        Assert.Equal(PeerFrameStatus.Error, whole.Final);
        Assert.Equal(PeerFrameError.ChecksumMismatch, whole.Error);
        Assert.Equal(3, whole.Frames.Count);
        Assert.Equal(good.Length, whole.ConsumedBytes);

        for (var offset = 0; offset <= stream.Length; offset++)
        {
            SplitAt(stream, offset).AssertSameAs(whole, $"split at {offset}");
        }

        OneByteAtATime(stream).AssertSameAs(whole, "one byte at a time");
    }

    [Fact]
    public void TryDecode_AnyByteFlipped_NeverAFrame()
    {
        const int Limit = 128 * 1024;
        var frame = Encode((77, 0xABCDEF, Payload(64, 5)));

        // Bytes behind it, so a length made longer (within the limit) still reaches its (wrong) checksum.
        var next = new byte[70_000];
        for (var position = 0; position < frame.Length; position++)
        {
            foreach (var mask in new byte[] { 0x01, 0x80, 0xFF })
            {
                var damaged = (byte[])frame.Clone();
                damaged[position] ^= mask;
                var length = BinaryPrimitives.ReadUInt32LittleEndian(damaged.AsSpan(12));

                var outcome = Whole([.. damaged, .. next], Limit);

                var context = string.Create(CultureInfo.InvariantCulture, $"byte {position} ^ {mask:X2}");
                Assert.True(outcome.Frames.Count == 0, context);
                Assert.True(outcome.Final == PeerFrameStatus.Error, $"{context}: {outcome.Final}");
                var expected = position switch
                {
                    0 or 1 => PeerFrameError.BadMagic,
                    2 => PeerFrameError.UnsupportedVersion,
                    _ when length > Limit => PeerFrameError.PayloadTooLarge,
                    _ => PeerFrameError.ChecksumMismatch,
                };
                Assert.True(expected == outcome.Error, $"{context}: {outcome.Error}");
            }
        }
    }

    [Fact]
    public void TryDecode_LengthOverTheLimit_ErrorFromTheHeaderAlone()
    {
        var frame = Encode((16, 1, Payload(1001, 0)));

        // Only the header: the error does not wait for the payload.
        var status = PeerFrameCodec.TryDecode(frame.AsSpan(0, PeerFrameCodec.HeaderBytes), 1000, out _, out _, out var error);

        Assert.Equal(PeerFrameStatus.Error, status);
        Assert.Equal(PeerFrameError.PayloadTooLarge, error);
        Assert.Equal("frame payload of 1001 bytes is over the limit of 1000", PeerFrameCodec.Describe(error, frame, 1000));
    }

    [Fact]
    public void TryDecode_HostileLength_NeverAsksForMoreThanTheLimit()
    {
        var header = Encode((16, 1, Payload(0, 0)))[..PeerFrameCodec.HeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), uint.MaxValue);
        Assert.Equal(PeerFrameStatus.Error, PeerFrameCodec.TryDecode(header, PeerFrameCodec.MaxPayloadLimit, out _, out _, out var error));
        Assert.Equal(PeerFrameError.PayloadTooLarge, error);

        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), 1000);
        Assert.Equal(PeerFrameStatus.Incomplete, PeerFrameCodec.TryDecode(header, 1000, out _, out var need, out _));
        Assert.Equal(1000 + PeerFrameCodec.OverheadBytes, need);
    }

    [Fact]
    public void TryDecode_PayloadAtTheLimit_Accepted()
    {
        var frame = Encode((16, 1, Payload(1000, 0)));

        Assert.Equal(PeerFrameStatus.Complete, PeerFrameCodec.TryDecode(frame, 1000, out var header, out _, out _));
        Assert.Equal(1000, header.PayloadLength);
    }

    [Theory]
    [InlineData("*1\r\n$4\r\nPING\r\n", (byte)PeerFrameError.BadMagic)]
    [InlineData("R", (byte)PeerFrameError.None)]
    [InlineData("RX", (byte)PeerFrameError.BadMagic)]
    [InlineData("RK\u0002", (byte)PeerFrameError.UnsupportedVersion)]
    [InlineData("RK\u0001", (byte)PeerFrameError.None)]
    public void TryDecode_Prefix_ErrorAsSoonAsItsBytesAreThere(string latin1, byte expectedError)
    {
        var expected = (PeerFrameError)expectedError;
        var bytes = System.Text.Encoding.Latin1.GetBytes(latin1);

        var status = PeerFrameCodec.TryDecode(bytes, 1000, out _, out _, out var error);

        Assert.Equal(expected == PeerFrameError.None ? PeerFrameStatus.Incomplete : PeerFrameStatus.Error, status);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void TryDecode_RandomBytes_NeverThrowsAndNeverAFrame()
    {
        var run = SeededRun.Start(nameof(TryDecode_RandomBytes_NeverThrowsAndNeverAFrame));
        var random = run.Random;
        var buffer = new byte[256];
        for (var i = 0; i < 20_000; i++)
        {
            random.NextBytes(buffer);
            var length = random.Next(buffer.Length + 1);
            if (i % 2 == 0 && length >= 3)
            {
                // Past the magic and version checks, to reach the length and checksum ones.
                buffer[0] = PeerFrameCodec.Magic0;
                buffer[1] = PeerFrameCodec.Magic1;
                buffer[2] = PeerFrameCodec.Version;
            }

            var status = PeerFrameCodec.TryDecode(buffer.AsSpan(0, length), random.Next(0, 300), out _, out _, out var error);

            Assert.True(status != PeerFrameStatus.Complete, $"RINGKV_SEED={run.Seed}: random bytes decoded as a frame");
            _ = PeerFrameCodec.Describe(error, buffer.AsSpan(0, length), 100);
        }
    }

    [Fact]
    public void EncodeAndDecode_SteadyState_AllocateNothing()
    {
        var payload = Payload(200, 1);
        var buffer = new byte[PeerFrameCodec.OverheadBytes + payload.Length];
        long checksum = RoundTrips(buffer, payload, 100);

        // The fewest bytes any of three rounds allocated (a one-off allocation while the loop tiers up shows in one round at most).
        var allocated = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            checksum += RoundTrips(buffer, payload, 10_000);
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, allocated);
        Assert.Equal(30_100L * 200, checksum);
    }

    private static long RoundTrips(byte[] buffer, byte[] payload, int count)
    {
        long total = 0;
        for (var i = 0; i < count; i++)
        {
            PeerFrameCodec.Encode(buffer, 16, (ulong)i, payload);
            if (PeerFrameCodec.TryDecode(buffer, 1000, out var header, out _, out _) == PeerFrameStatus.Complete && header.RequestId == (ulong)i)
            {
                total += header.PayloadLength;
            }
        }

        return total;
    }
}
