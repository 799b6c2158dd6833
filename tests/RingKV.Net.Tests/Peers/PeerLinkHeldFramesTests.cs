using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using RingKV.Net.Peers;
using Xunit;
using static RingKV.Net.Tests.Peers.Peers;

namespace RingKV.Net.Tests.Peers;

/// <summary>Frames sent while a link makes its first connection, or its first reconnect after a break, wait for it (bounded).</summary>
public sealed class PeerLinkHeldFramesTests
{
    private const int PayloadBytes = 100;
    private const int FrameBytes = PeerFrameCodec.OverheadBytes + PayloadBytes;

    // The gate, not the handshake timeout, decides when a held connection goes on.
    private static PeerLinkOptions Options(int maxHeldBytes = 256 * 1024) =>
        LinkOptions(NodeA) with { HandshakeTimeout = TimeSpan.FromSeconds(60), MaxHeldBytes = maxHeldBytes };

    private static byte[] Payload(int i)
    {
        var payload = new byte[PayloadBytes];
        payload.AsSpan().Fill((byte)i);
        return payload;
    }

    [Fact]
    public async Task Send_DuringTheFirstConnect_HeldUpToTheBoundThenDeliveredInOrderOnceAccepted()
    {
        var handler = new CollectingHandler();
        await using var listener = Listen(NodeB, handler);
        await using var proxy = new GatedProxy(listener.LocalEndPoint);
        var observer = new RecordingObserver();
        await using var link = new PeerLink(proxy.EndPoint, Options(maxHeldBytes: 10 * FrameBytes), observer);
        link.Start();
        await Wait.UntilAsync(() => proxy.Accepted == 1, "the link connected to the proxy and waits for the handshake");

        var expected = new List<DecodedFrame>();
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(PeerSendStatus.Queued, link.Send(16, (ulong)i, Payload(i)));
            expected.Add(new DecodedFrame(16, (ulong)i, Payload(i)));
            if (i == 4)
            {
                link.Flush();
            }
        }

        // The bound: the eleventh would pass it.
        Assert.Equal(PeerSendStatus.NotConnected, link.Send(16, 10, Payload(10)));
        link.Flush();
        Assert.Equal(PeerLinkState.Connecting, link.State);
        Assert.Equal(10 * FrameBytes, link.QueuedBytes);
        Assert.Equal(0, handler.FrameCount);

        proxy.Release();
        await Wait.UntilAsync(() => handler.FrameCount == 10, "the held frames arrived");
        Assert.Equal(expected, handler.Frames);
        await Wait.UntilAsync(() => link.QueuedBytes == 0, "the queue drained");
        Assert.Equal(10, link.FramesSent);
        Assert.Equal(1, link.RefusedSends);
        Assert.Empty(observer.Failed);
    }

    [Fact]
    public async Task Send_DuringAFirstConnectThatFails_FailedBackThenRefusedAtOnce()
    {
        var handler = new CollectingHandler();
        await using var listener = Listen(NodeB, handler);
        await using var proxy = new GatedProxy(listener.LocalEndPoint);
        var observer = new RecordingObserver();
        await using var link = new PeerLink(proxy.EndPoint, Options(), observer);
        link.Start();
        await Wait.UntilAsync(() => proxy.Accepted == 1, "the link waits for the handshake");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(PeerSendStatus.Queued, link.Send(16, (ulong)(50 + i), Payload(i)));
        }

        link.Flush();
        proxy.Reject(); // the handshake fails: the peer closed the connection
        await Wait.UntilAsync(() => observer.Failed.Count == 3, "the held frames were failed back");
        Assert.Equal([new PeerFrameId(16, 50), new PeerFrameId(16, 51), new PeerFrameId(16, 52)], observer.Failed);

        // The down is reported on its own, after the frames are failed back: waited for (CI found it not there yet).
        await Wait.UntilAsync(() => observer.Downs.Count >= 1, "the link reported the failed connect");
        Assert.False(observer.Downs[0].WasConnected);

        // Later attempts hold nothing: the next one is held at the proxy, and a send is refused at once meanwhile.
        await Wait.UntilAsync(() => proxy.Accepted == 2, "the link tries again");
        Assert.Equal(PeerSendStatus.NotConnected, link.Send(16, 60, Payload(0)));
        Assert.Equal(0, link.QueuedBytes);
        proxy.Release();
        await Wait.UntilAsync(() => link.State == PeerLinkState.Connected, "connected");
        Assert.Equal(0, handler.FrameCount);
    }

    [Fact]
    public async Task Send_RightAfterAWorkingConnectionBroke_HeldForTheReconnectAndDelivered()
    {
        var handler = new CollectingHandler();
        await using var listener = Listen(NodeB, handler);
        await using var proxy = new GatedProxy(listener.LocalEndPoint);
        var observer = new RecordingObserver();
        await using var link = new PeerLink(proxy.EndPoint, Options(), observer);
        proxy.Release();
        link.Start();
        await Wait.UntilAsync(() => link.State == PeerLinkState.Connected, "connected");
        Assert.Equal(PeerSendStatus.Queued, link.Send(16, 1, Payload(1)));
        link.Flush();
        await Wait.UntilAsync(() => handler.FrameCount == 1, "a frame over the first connection");

        proxy.BreakAll();
        await Wait.UntilAsync(() => proxy.Accepted == 2, "the link reconnects and waits for the handshake");
        Assert.True(observer.Downs[0].WasConnected);
        Assert.Equal(PeerSendStatus.Queued, link.Send(16, 2, Payload(2)));
        Assert.Equal(PeerSendStatus.Queued, link.Send(16, 3, Payload(3)));
        link.Flush();

        proxy.Release();
        await Wait.UntilAsync(() => handler.FrameCount == 3, "the held frames arrived over the new connection");
        Assert.Equal([1UL, 2UL, 3UL], handler.Frames.Select(f => f.RequestId));
        Assert.Empty(observer.Failed);
        Assert.Equal(2, link.Connects);
    }
}
