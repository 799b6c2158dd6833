using System;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using RingKV.Net.Peers;
using Xunit;
using static RingKV.Net.Tests.Peers.Peers;

namespace RingKV.Net.Tests.Peers;

/// <summary>The listener against hand-written bytes over a real socket.</summary>
public sealed class PeerListenerTests
{
    private static async Task<Socket> ConnectAsync(PeerListener listener)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(listener.LocalEndPoint, TestContext.Current.CancellationToken);
        return socket;
    }

    /// <summary>Every byte until the listener closes the connection.</summary>
    private static async Task<byte[]> ReadToEndAsync(Socket socket)
    {
        var all = new System.Collections.Generic.List<byte>();
        var buffer = new byte[4096];
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, TestContext.Current.CancellationToken).AsTask().WaitAsync(Wait.Deadline, TestContext.Current.CancellationToken);
            if (n == 0)
            {
                return [.. all];
            }

            all.AddRange(buffer[..n]);
        }
    }

    /// <summary>A new peer handshakes and gets a frame through: the listener outlived what closed the connection before.</summary>
    private static async Task AssertStillServesAsync(PeerListener listener, CollectingHandler handler, int expectedFrames)
    {
        using var socket = await HandshakenAsync(listener);
        await socket.SendAsync(FrameStream.Encode((16, 99, "next peer"u8.ToArray())), TestContext.Current.CancellationToken);
        await Wait.UntilAsync(() => handler.FrameCount == expectedFrames, "the next peer's frame arrived");
        Assert.Equal(new DecodedFrame(16, 99, "next peer"u8.ToArray()), handler.Frames[^1]);
    }

    private static async Task<Socket> HandshakenAsync(PeerListener listener)
    {
        var socket = await ConnectAsync(listener);
        await socket.SendAsync(HandshakeFrames.Hello(PeerFrameKind.Hello, NodeA), TestContext.Current.CancellationToken);
        var buffer = new byte[4096];
        var received = 0;
        PeerFrameHeader header;
        while (PeerFrameCodec.TryDecode(buffer.AsSpan(0, received), 4096, out header, out _, out _) != PeerFrameStatus.Complete)
        {
            received += await socket.ReceiveAsync(buffer.AsMemory(received), TestContext.Current.CancellationToken);
        }

        Assert.Equal((byte)PeerFrameKind.Accepted, header.Kind);
        Assert.True(PeerHello.TryDecode(buffer.AsSpan(PeerFrameCodec.HeaderBytes, header.PayloadLength), out var hello, out _));
        Assert.Equal(NodeB, hello);
        return socket;
    }

    [Fact]
    public async Task Handshake_RespClientOnThePeerPort_ClosedWithoutAnswer()
    {
        var log = new ListLogger();
        await using var listener = Listen(NodeB, new CollectingHandler(), log);
        using var socket = await ConnectAsync(listener);

        await socket.SendAsync("*1\r\n$4\r\nPING\r\n"u8.ToArray(), TestContext.Current.CancellationToken);

        Assert.Empty(await ReadToEndAsync(socket));
        Assert.True(log.Contains(LogLevel.Warning, "bad magic"), string.Join("\n", log.Lines));
    }

    [Fact]
    public async Task Handshake_FirstFrameNotAHello_RefusedAsBadHandshake()
    {
        await using var listener = Listen(NodeB, new CollectingHandler());
        using var socket = await ConnectAsync(listener);

        await socket.SendAsync(FrameStream.Encode((16, 1, "data"u8.ToArray())), TestContext.Current.CancellationToken);

        var reply = FrameStream.Whole(await ReadToEndAsync(socket), HandshakeFrames.MaxPayloadBytes);
        var frame = Assert.Single(reply.Frames);
        Assert.Equal((byte)PeerFrameKind.Refused, frame.Kind);
        Assert.True(PeerRefusal.TryDecode(frame.Payload, out var refusal));
        Assert.Equal(PeerRefusalReason.BadHandshake, refusal!.Reason);
        Assert.Equal(1, listener.Refusals);
    }

    [Fact]
    public async Task Handshake_HugeFirstFrame_RefusedFromItsHeader()
    {
        await using var listener = Listen(NodeB, new CollectingHandler());
        using var socket = await ConnectAsync(listener);
        var header = FrameStream.Encode(((byte)PeerFrameKind.Hello, 0, new byte[HandshakeFrames.MaxPayloadBytes + 1]))[..PeerFrameCodec.HeaderBytes];

        // Only the header: an unauthenticated peer cannot make the listener wait for (or buffer) a big payload.
        await socket.SendAsync(header, TestContext.Current.CancellationToken);

        var reply = FrameStream.Whole(await ReadToEndAsync(socket), HandshakeFrames.MaxPayloadBytes);
        Assert.True(PeerRefusal.TryDecode(Assert.Single(reply.Frames).Payload, out var refusal));
        Assert.Equal(PeerRefusalReason.BadHandshake, refusal!.Reason);
        Assert.Contains("over the limit of 1541", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handshake_UnknownAuthScheme_Refused()
    {
        await using var listener = Listen(NodeB, new CollectingHandler());
        using var socket = await ConnectAsync(listener);
        var hello = NodeA with { AuthScheme = (PeerAuthScheme)1, Auth = new byte[] { 1, 2 } };

        await socket.SendAsync(HandshakeFrames.Hello(PeerFrameKind.Hello, hello), TestContext.Current.CancellationToken);

        var reply = FrameStream.Whole(await ReadToEndAsync(socket), HandshakeFrames.MaxPayloadBytes);
        Assert.True(PeerRefusal.TryDecode(Assert.Single(reply.Frames).Payload, out var refusal));
        Assert.Equal(PeerRefusalReason.AuthenticationFailed, refusal!.Reason);
    }

    [Fact]
    public async Task Handshake_NoHelloWithinTheTimeout_Closed()
    {
        var log = new ListLogger();
        var options = new PeerListenerOptions(NodeB) { HandshakeTimeout = TimeSpan.FromMilliseconds(200) };
        await using var listener = new PeerListener(Loopback(), options, new CollectingHandler(), log);
        listener.Start();
        using var socket = await ConnectAsync(listener);

        await socket.SendAsync("RK"u8.ToArray(), TestContext.Current.CancellationToken);

        Assert.Empty(await ReadToEndAsync(socket));
        Assert.True(log.Contains(LogLevel.Warning, "no hello within 200 ms"), string.Join("\n", log.Lines));
    }

    [Fact]
    public async Task Receive_DamagedFrameAfterGoodOnes_DeliversThemThenCloses()
    {
        var log = new ListLogger();
        var handler = new CollectingHandler();
        await using var listener = Listen(NodeB, handler, log);
        using var socket = await HandshakenAsync(listener);
        var damaged = FrameStream.Encode((16, 3, "three"u8.ToArray()));
        damaged[^1] ^= 0x40;

        await socket.SendAsync(
            (byte[])[.. FrameStream.Encode((16, 1, "one"u8.ToArray()), (17, 2, "two"u8.ToArray())), .. damaged, .. FrameStream.Encode((16, 4, "four"u8.ToArray()))],
            TestContext.Current.CancellationToken);

        Assert.Empty(await ReadToEndAsync(socket));
        Assert.Equal(["one", "two"], handler.Frames.ConvertAll(f => Encoding.ASCII.GetString(f.Payload)));
        Assert.Equal(1, listener.ProtocolErrors);
        Assert.True(log.Contains(LogLevel.Warning, "frame checksum mismatch"), string.Join("\n", log.Lines));
        await AssertStillServesAsync(listener, handler, 3);
    }

    [Fact]
    public async Task Receive_FrameOfAnUnknownVersion_ClosesLoggedCountedAndTheListenerServesOthers()
    {
        var log = new ListLogger();
        var handler = new CollectingHandler();
        await using var listener = Listen(NodeB, handler, log);
        using var socket = await HandshakenAsync(listener);
        var future = FrameStream.Encode((16, 1, "from a newer node"u8.ToArray()));
        future[2] = PeerFrameCodec.Version + 1;

        await socket.SendAsync(future, TestContext.Current.CancellationToken);

        Assert.Empty(await ReadToEndAsync(socket));
        Assert.Equal(0, handler.FrameCount);
        Assert.Equal(1, listener.ProtocolErrors);
        Assert.True(log.Contains(LogLevel.Warning, "unsupported frame version 2"), string.Join("\n", log.Lines));
        await AssertStillServesAsync(listener, handler, 1);
    }

    [Fact]
    public async Task Receive_ReservedKindAfterTheHandshake_Closes()
    {
        var handler = new CollectingHandler();
        await using var listener = Listen(NodeB, handler);
        using var socket = await HandshakenAsync(listener);

        await socket.SendAsync(FrameStream.Encode(((byte)PeerFrameKind.Hello, 0, "again"u8.ToArray())), TestContext.Current.CancellationToken);

        Assert.Empty(await ReadToEndAsync(socket));
        Assert.Equal(0, handler.FrameCount);
        Assert.Equal(1, listener.ProtocolErrors);
    }

    [Fact]
    public async Task Receive_FramesSentOneByteAtATimeAndOverTheBufferSize_DeliveredWhole()
    {
        var handler = new CollectingHandler();
        await using var listener = Listen(NodeB, handler);
        using var socket = await HandshakenAsync(listener);
        var big = new byte[3 * 1024 * 1024]; // grows the receive buffer past what a connection keeps
        new Random(5).NextBytes(big);
        var small = FrameStream.Encode((16, 1, "tiny"u8.ToArray()));

        foreach (var b in small)
        {
            await socket.SendAsync(new[] { b }, TestContext.Current.CancellationToken);
        }

        await socket.SendAsync(FrameStream.Encode((18, 2, big), (16, 3, "after"u8.ToArray())), TestContext.Current.CancellationToken);

        await Wait.UntilAsync(() => handler.FrameCount == 3, "three frames");
        Assert.Equal(
            [new DecodedFrame(16, 1, "tiny"u8.ToArray()), new DecodedFrame(18, 2, big), new DecodedFrame(16, 3, "after"u8.ToArray())],
            handler.Frames);
    }

    [Fact]
    public async Task Receive_FrameOverThePayloadLimit_ClosedFromItsHeader()
    {
        var handler = new CollectingHandler();
        var options = new PeerListenerOptions(NodeB) { MaxPayloadBytes = 1000 };
        await using var listener = new PeerListener(Loopback(), options, handler);
        listener.Start();
        using var socket = await HandshakenAsync(listener);

        await socket.SendAsync(FrameStream.Encode((16, 1, new byte[1001])).AsMemory(0, PeerFrameCodec.HeaderBytes), TestContext.Current.CancellationToken);

        Assert.Empty(await ReadToEndAsync(socket));
        Assert.Equal(1, listener.ProtocolErrors);
    }

    [Fact]
    public async Task OnBatchAsync_HandlerKeepsBatchesAcrossReceives_PayloadsIntactUntilReleased()
    {
        var kept = new System.Collections.Concurrent.ConcurrentQueue<PeerFrameBatch>();
        await using var listener = Listen(NodeB, new KeepingHandler(kept.Enqueue));
        using var socket = await HandshakenAsync(listener);

        // One receive per frame (each waits for the one before to be delivered), so later receives reuse buffers.
        for (var i = 0; i < 20; i++)
        {
            var payload = new byte[1000 + i];
            payload.AsSpan().Fill((byte)i);
            await socket.SendAsync(FrameStream.Encode((16, (ulong)i, payload)), TestContext.Current.CancellationToken);
            await Wait.UntilAsync(() => listener.FramesReceived == i + 1, $"frame {i} delivered");
        }

        var seen = 0;
        foreach (var batch in kept)
        {
            for (var f = 0; f < batch.Count; f++, seen++)
            {
                Assert.Equal((ulong)seen, batch[f].RequestId);
                Assert.Equal(1000 + seen, batch[f].Payload.Length);
                Assert.True(batch[f].Payload.Span.IndexOfAnyExcept((byte)seen) < 0, $"frame {seen} payload overwritten");
            }

            batch.Release();
        }

        Assert.Equal(20, seen);
    }

    [Fact]
    public async Task Release_Twice_Throws()
    {
        PeerFrameBatch? kept = null;
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var listener = Listen(NodeB, new KeepingHandler(batch =>
        {
            kept = batch;
            received.TrySetResult();
        }));
        using var socket = await HandshakenAsync(listener);
        await socket.SendAsync(FrameStream.Encode((16, 1, "x"u8.ToArray())), TestContext.Current.CancellationToken);
        await received.Task.WaitAsync(Wait.Deadline, TestContext.Current.CancellationToken);

        // The handler kept the batch past its call; the payload is still there, on another thread.
        Assert.Equal("x", Encoding.ASCII.GetString(kept![0].Payload.Span));
        kept.Release();
        Assert.Throws<InvalidOperationException>(kept.Release);
    }

    private sealed class KeepingHandler(Action<PeerFrameBatch> onBatch) : IPeerFrameHandler
    {
        public ValueTask OnBatchAsync(PeerFrameBatch batch)
        {
            onBatch(batch);
            return ValueTask.CompletedTask;
        }
    }
}
