using System;
using System.Collections.Generic;
using RingKV.Net.Peers;
using Xunit;

namespace RingKV.Net.Tests.Peers;

public sealed class OutgoingFramesTests
{
    [Fact]
    public void Append_ManyFrames_DecodeBackInOrderWithTheirIds()
    {
        using var frames = new OutgoingFrames();
        var expected = new List<DecodedFrame>();
        for (var i = 0; i < 500; i++)
        {
            var payload = new byte[i * 7 % 3000];
            payload.AsSpan().Fill((byte)i);
            frames.Append((byte)(16 + (i % 200)), (ulong)i * 1_000_003, payload);
            expected.Add(new DecodedFrame((byte)(16 + (i % 200)), (ulong)i * 1_000_003, payload));
        }

        var outcome = FrameStream.Whole(frames.Bytes.ToArray());

        Assert.Equal(expected, outcome.Frames);
        Assert.Equal(frames.ByteCount, outcome.ConsumedBytes);
        Assert.Equal(500, frames.Count);
        for (var i = 0; i < 500; i++)
        {
            Assert.Equal(new PeerFrameId(expected[i].Kind, expected[i].RequestId), frames.Ids[i]);
        }
    }

    [Fact]
    public void Clear_AfterABigBatch_KeepsNothingAndStartsOver()
    {
        using var frames = new OutgoingFrames();
        frames.Append(16, 1, new byte[2_000_000]);

        frames.Clear(retainBytes: 1024 * 1024);
        frames.Append(17, 2, "x"u8);

        Assert.Equal(1, frames.Count);
        Assert.Equal([new DecodedFrame(17, 2, "x"u8.ToArray())], FrameStream.Whole(frames.Bytes.ToArray()).Frames);
    }

    [Fact]
    public void AppendAndClear_SteadyState_AllocateNothing()
    {
        using var frames = new OutgoingFrames();
        var payload = new byte[100];
        long count = Fill(frames, payload, 10);

        var allocated = long.MaxValue; // fewest of three rounds, as in RespAllocationTests
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1_000; i++)
            {
                count += Fill(frames, payload, 16);
            }

            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, allocated);
        Assert.Equal(10 + (3 * 16_000), count);
    }

    private static int Fill(OutgoingFrames frames, byte[] payload, int count)
    {
        frames.Clear(1024 * 1024);
        for (var i = 0; i < count; i++)
        {
            frames.Append(16, (ulong)i, payload);
        }

        return frames.Count;
    }
}
