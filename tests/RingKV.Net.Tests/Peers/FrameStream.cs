using System;
using System.Collections.Generic;
using System.Linq;
using RingKV.Net.Peers;
using Xunit;

namespace RingKV.Net.Tests.Peers;

/// <summary>A decoded frame with its payload copied, for comparing.</summary>
internal sealed record DecodedFrame(byte Kind, ulong RequestId, byte[] Payload)
{
    public bool Equals(DecodedFrame? other) =>
        other is not null && Kind == other.Kind && RequestId == other.RequestId && Payload.AsSpan().SequenceEqual(other.Payload);

    public override int GetHashCode() => HashCode.Combine(Kind, RequestId, Payload.Length);

    public override string ToString() => $"({Kind}, {RequestId}, {Payload.Length} bytes)";
}

/// <summary>What decoding a stream gave: its frames, and how it stopped.</summary>
internal sealed record StreamOutcome(List<DecodedFrame> Frames, PeerFrameStatus Final, PeerFrameError Error, int ConsumedBytes)
{
    public void AssertSameAs(StreamOutcome expected, string context)
    {
        Assert.True(
            expected.Final == Final && expected.Error == Error && expected.ConsumedBytes == ConsumedBytes,
            $"{context}: expected {expected.Final}/{expected.Error} after {expected.ConsumedBytes} bytes, got {Final}/{Error} after {ConsumedBytes}");
        Assert.Equal(expected.Frames, Frames);
    }
}

/// <summary>Feeds bytes to <see cref="PeerFrameCodec.TryDecode"/> as a socket loop does: chunks appended to the undecoded rest.</summary>
internal static class FrameStream
{
    public static byte[] Encode(params (byte Kind, ulong RequestId, byte[] Payload)[] frames)
    {
        var bytes = new List<byte>();
        foreach (var (kind, id, payload) in frames)
        {
            var frame = new byte[PeerFrameCodec.OverheadBytes + payload.Length];
            Assert.Equal(frame.Length, PeerFrameCodec.Encode(frame, kind, id, payload));
            bytes.AddRange(frame);
        }

        return [.. bytes];
    }

    /// <summary>Decodes the bytes arriving in the given chunks, each decode over exactly the undecoded bytes (no slack after them).</summary>
    public static StreamOutcome Decode(IEnumerable<byte[]> chunks, int maxPayloadBytes = 1 << 20)
    {
        var frames = new List<DecodedFrame>();
        var buffered = Array.Empty<byte>();
        var consumed = 0;
        var status = PeerFrameStatus.Incomplete;
        foreach (var chunk in chunks)
        {
            buffered = [.. buffered, .. chunk];
            while (true)
            {
                // A copy of exactly the buffered bytes: a read past them would throw.
                var view = buffered.ToArray().AsSpan();
                status = PeerFrameCodec.TryDecode(view, maxPayloadBytes, out var header, out var needBytes, out var error);
                if (status == PeerFrameStatus.Error)
                {
                    Assert.Equal(0, needBytes);
                    return new StreamOutcome(frames, status, error, consumed);
                }

                if (status == PeerFrameStatus.Incomplete)
                {
                    Assert.True(needBytes > buffered.Length, "an incomplete frame needs more than is buffered");
                    break;
                }

                Assert.Equal(header.FrameBytes, needBytes);
                frames.Add(new DecodedFrame(header.Kind, header.RequestId, view.Slice(PeerFrameCodec.HeaderBytes, header.PayloadLength).ToArray()));
                buffered = buffered[needBytes..];
                consumed += needBytes;
            }
        }

        return new StreamOutcome(frames, status, PeerFrameError.None, consumed);
    }

    public static StreamOutcome Whole(byte[] stream, int maxPayloadBytes = 1 << 20) => Decode([stream], maxPayloadBytes);

    public static StreamOutcome SplitAt(byte[] stream, int offset, int maxPayloadBytes = 1 << 20) =>
        Decode([stream[..offset], stream[offset..]], maxPayloadBytes);

    public static StreamOutcome OneByteAtATime(byte[] stream, int maxPayloadBytes = 1 << 20) =>
        Decode(stream.Select(b => new[] { b }), maxPayloadBytes);
}
