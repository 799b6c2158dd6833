using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using RingKV.Net.Peers;
using Xunit;
using static RingKV.Net.Tests.Peers.Peers;

namespace RingKV.Net.Tests.Peers;

/// <summary>Links and listeners over real loopback sockets.</summary>
public sealed class PeerLinkTests
{
    private static byte[] Payload(int i) => BitConverter.GetBytes(i * 7919L);

    [Fact]
    public async Task TrySend_ToListenerOfTheSameCluster_DeliversFramesInOrderWithTheSender()
    {
        var handler = new CollectingHandler();
        await using var listener = Listen(NodeB, handler);
        var observer = new RecordingObserver();
        await using var link = Link(listener, NodeA, observer);
        await Wait.UntilAsync(() => link.State == PeerLinkState.Connected, "connected");

        var expected = new List<DecodedFrame>();
        for (var i = 0; i < 100; i++)
        {
            Assert.True(link.TrySend((byte)(16 + (i % 3)), (ulong)i, Payload(i)));
            expected.Add(new DecodedFrame((byte)(16 + (i % 3)), (ulong)i, Payload(i)));
            if (i % 10 == 9)
            {
                link.Flush();
            }
        }

        await Wait.UntilAsync(() => handler.FrameCount == 100, "every frame arrived");
        Assert.Equal(expected, handler.Frames);
        Assert.Equal(["node-a"], handler.Senders);
        Assert.Equal("node-b", Assert.Single(observer.Connected).NodeId);
        Assert.Equal(NodeB, link.Remote);
        Assert.Equal(PeerLinkState.Connected, link.State);
        await Wait.UntilAsync(() => link.QueuedBytes == 0, "the queue drained");
        Assert.Equal(100, link.FramesSent);
        Assert.Empty(observer.Failed);
    }

    [Fact]
    public async Task TrySend_FramesQueuedTogether_LeaveInOneSocketSend()
    {
        var handler = new CollectingHandler();
        await using var listener = Listen(NodeB, handler);
        await using var link = Link(listener, NodeA);
        await Wait.UntilAsync(() => link.State == PeerLinkState.Connected, "connected");

        const int N = 64;
        for (var i = 0; i < N; i++)
        {
            Assert.True(link.TrySend(16, (ulong)i, Payload(i)));

            // Lets the send loop run between frames, as it would if queuing a frame woke it.
            await Task.Yield();
        }

        Assert.Equal(0, link.SocketSends); // nothing leaves before the flush
        link.Flush();

        await Wait.UntilAsync(() => handler.FrameCount == N, "every frame arrived");

        // The sender counts a socket send once it completes, which can be after the receiver has read the bytes.
        await Wait.UntilAsync(() => link.SocketSends >= 1, "the send counted");
        Assert.Equal(1, link.SocketSends);
        Assert.True(listener.BatchesReceived < N, $"{listener.BatchesReceived} batches for {N} frames");
        Assert.Equal(Enumerable.Range(0, N).Select(i => (ulong)i), handler.Frames.Select(f => f.RequestId));
    }

    [Fact]
    public async Task TrySend_RequestsBothWays_RepliesMatchedByRequestId()
    {
        // Node A sends requests over its link to B; B answers each over its own link to A, with the same request id.
        const int Requests = 20_000;
        var replies = new ConcurrentDictionary<ulong, byte[]>();
        var duplicates = 0;
        await using var listenerA = Listen(NodeA, new CallbackHandler(batch =>
        {
            for (var i = 0; i < batch.Count; i++)
            {
                if (!replies.TryAdd(batch[i].RequestId, batch[i].Payload.ToArray()))
                {
                    Interlocked.Increment(ref duplicates);
                }
            }
        }));

        PeerLink? linkBA = null;
        var busyReplies = 0;
        await using var listenerB = Listen(NodeB, new CallbackHandler(batch =>
        {
            Span<byte> reply = stackalloc byte[8];
            for (var i = 0; i < batch.Count; i++)
            {
                var frame = batch[i];
                BitConverter.TryWriteBytes(reply, BitConverter.ToInt64(frame.Payload.Span) + 1);
                if (!linkBA!.TrySend(17, frame.RequestId, reply))
                {
                    Interlocked.Increment(ref busyReplies);
                }
            }

            linkBA!.Flush(); // the replies of one batch leave together
        }));
        linkBA = Link(listenerA, NodeB);
        await using var linkAB = Link(listenerB, NodeA);
        await using var closeBA = linkBA;
        await Wait.UntilAsync(() => linkAB.State == PeerLinkState.Connected && linkBA.State == PeerLinkState.Connected, "both links up");

        var random = new Random(11);
        var sent = 0;
        while (sent < Requests)
        {
            // Bursts of 1 to 32, as a pipelining client would cause; a window of 2000 requests in flight.
            var burst = Math.Min(Requests - sent, random.Next(1, 33));
            await Wait.UntilAsync(() => sent - replies.Count < 2000, "the window has room");
            for (var i = 0; i < burst; i++, sent++)
            {
                Assert.True(linkAB.TrySend(16, (ulong)sent, Payload(sent)));
            }

            linkAB.Flush();
        }

        await Wait.UntilAsync(() => replies.Count == Requests, "every request answered");
        Assert.Equal(0, busyReplies);
        Assert.Equal(0, duplicates);
        for (var i = 0; i < Requests; i++)
        {
            Assert.Equal((i * 7919L) + 1, BitConverter.ToInt64(replies[(ulong)i]));
        }

        Assert.True(linkAB.SocketSends < Requests, $"{linkAB.SocketSends} sends for {Requests} requests");
        Assert.True(linkBA.SocketSends < Requests, $"{linkBA.SocketSends} sends for {Requests} replies");
    }

    [Fact]
    public async Task Handshake_OtherCluster_RefusedWithItsReasonLoggedAndSendsNotConnected()
    {
        var listenerLog = new ListLogger();
        var linkLog = new ListLogger();
        var handler = new CollectingHandler();
        await using var listener = Listen(NodeB, handler, listenerLog);
        var observer = new RecordingObserver();
        var stranger = new PeerHello("other-cluster", "node-x", 1);
        var link = new PeerLink(listener.LocalEndPoint, LinkOptions(stranger), observer, linkLog);
        await using var closeLink = link;
        Assert.Equal(PeerSendStatus.NotConnected, link.Send(16, 41, "before start"u8));
        link.Start();

        await Wait.UntilAsync(() => observer.Downs.Count >= 2, "refused twice (it retries)");
        var down = observer.Downs[0];
        Assert.Equal(PeerRefusalReason.OtherCluster, down.Refusal?.Reason);
        Assert.Contains("'test-cluster', not 'other-cluster'", down.Refusal!.Message, StringComparison.Ordinal);
        Assert.False(down.WasConnected);
        Assert.Equal(PeerSendStatus.NotConnected, link.Send(16, 42, "refused"u8));
        Assert.Empty(observer.Failed);
        Assert.Equal(0, link.QueuedBytes);
        Assert.Equal(0, link.Connects);
        Assert.Equal(2, link.RefusedSends);
        Assert.True(listener.Refusals >= 2);
        Assert.Equal(0, listener.Accepted);
        Assert.Equal(0, handler.FrameCount);
        Assert.True(listenerLog.Contains(LogLevel.Warning, "refused peer node-x"), string.Join("\n", listenerLog.Lines));
        Assert.True(linkLog.Contains(LogLevel.Warning, "refused this node (OtherCluster)"), string.Join("\n", linkLog.Lines));
    }

    [Fact]
    public async Task Handshake_OtherProtocolVersion_Refused()
    {
        var listenerLog = new ListLogger();
        await using var listener = Listen(NodeB, new CollectingHandler(), listenerLog);
        var observer = new RecordingObserver();
        await using var link = Link(listener, new PeerHello("test-cluster", "node-new", 2), observer);

        await Wait.UntilAsync(() => observer.Downs.Count >= 1, "refused");

        var refusal = observer.Downs[0].Refusal;
        Assert.Equal(PeerRefusalReason.OtherProtocolVersion, refusal?.Reason);
        Assert.Contains("speaks protocol version 1, not 2", refusal!.Message, StringComparison.Ordinal);
        Assert.Equal(0, link.Connects);
        Assert.True(listenerLog.Contains(LogLevel.Warning, "(OtherProtocolVersion)"), string.Join("\n", listenerLog.Lines));
    }

    [Fact]
    public async Task Handshake_ListenerOfAnotherClusterAccepting_LinkRefusesIt()
    {
        // A listener that skipped its check (an old or broken node): the link checks the accepted hello itself.
        using var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
        server.Bind(Loopback());
        server.Listen();
        var observer = new RecordingObserver();
        await using var link = new PeerLink(server.LocalEndPoint!, LinkOptions(NodeA), observer);
        link.Start();
        using var accepted = await server.AcceptAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(Wait.Deadline, TestContext.Current.CancellationToken);
        var buffer = new byte[4096];
        var received = 0;
        while (PeerFrameCodec.TryDecode(buffer.AsSpan(0, received), 4096, out _, out _, out _) != PeerFrameStatus.Complete)
        {
            received += await accepted.ReceiveAsync(buffer.AsMemory(received), TestContext.Current.CancellationToken);
        }

        await accepted.SendAsync(HandshakeFrames.Hello(PeerFrameKind.Accepted, new PeerHello("elsewhere", "node-z", 1)), TestContext.Current.CancellationToken);

        await Wait.UntilAsync(() => observer.Downs.Count >= 1, "the link gave up on it");
        Assert.Contains("of cluster 'elsewhere', not 'test-cluster'", observer.Downs[0].Reason, StringComparison.Ordinal);
        Assert.Equal(0, link.Connects);
    }

    [Fact]
    public async Task TrySend_PeerStopsReading_RefusedPastTheBoundThenAcceptedAfterItDrains()
    {
        var handler = new CollectingHandler();
        await using var listener = Listen(NodeB, handler);
        var options = LinkOptions(NodeA) with { MaxQueuedBytes = 256 * 1024, MaxPayloadBytes = 16 * 1024 };
        await using var link = Link(listener, NodeA, options: options);
        await Wait.UntilAsync(() => link.State == PeerLinkState.Connected, "connected");

        // The handler holds the listener's receive loop: the kernel buffers fill, then the link's queue.
        handler.Close();
        var payload = new byte[16 * 1024];
        var accepted = 0;
        var deadline = DateTime.UtcNow + Wait.Deadline;
        PeerSendStatus status;
        while ((status = link.Send(16, (ulong)accepted, payload)) == PeerSendStatus.Queued)
        {
            accepted++;
            link.Flush();
            Assert.True(accepted < 10_000 && DateTime.UtcNow < deadline, "the link never refused (160 MB queued)");
            await Task.Yield();
        }

        // The refusal itself is the check: a second send may find the queue a send shorter, as the kernel can still
        // take bytes from the send in flight (a later Send was seen Queued here, a flaky assertion).
        Assert.Equal(PeerSendStatus.Busy, status);
        Assert.InRange(link.QueuedBytes, 0, options.MaxQueuedBytes);
        Assert.Equal(PeerLinkState.Connected, link.State);

        handler.Open();
        await Wait.UntilAsync(() => link.TrySend(16, (ulong)accepted, payload), "the link takes frames again");
        accepted++;
        link.Flush();

        await Wait.UntilAsync(() => handler.FrameCount == accepted, "every accepted frame arrived");
        Assert.Equal(Enumerable.Range(0, accepted).Select(i => (ulong)i), handler.Frames.Select(f => f.RequestId));
        Assert.True(link.RefusedSends >= 1);
        Assert.Equal(0, link.FramesFailed);
    }

    [Fact]
    public async Task Reconnect_ListenerRestarts_SendsNotConnectedWhileDownThenReconnectsWithBackoffAndFramesFlow()
    {
        var handler = new CollectingHandler();
        var listener = Listen(NodeB, handler);
        var port = listener.LocalEndPoint.Port;
        var observer = new RecordingObserver();
        var jitter = new[] { 0.0, 0.5, 0.25, 0.75, 0.1 };
        var options = LinkOptions(NodeA) with
        {
            InitialBackoff = TimeSpan.FromMilliseconds(20),
            MaxBackoff = TimeSpan.FromMilliseconds(100),
            Jitter = new SequenceJitter(jitter).Next,
        };
        await using var link = Link(listener, NodeA, observer, options: options);
        await Wait.UntilAsync(() => link.State == PeerLinkState.Connected, "connected");
        Assert.Equal(PeerSendStatus.Queued, link.Send(16, 1, "before"u8));
        link.Flush();
        await Wait.UntilAsync(() => handler.FrameCount == 1, "the first frame arrived");

        // The peer dies: its listener closes every connection and its port.
        await listener.DisposeAsync();
        await Wait.UntilAsync(() => observer.Downs.Count >= 4, "the link lost the connection and failed three attempts");

        // While it is down a send is refused at once, and nothing is queued to be failed later.
        var refused = link.RefusedSends;
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(PeerSendStatus.NotConnected, link.Send(16, (ulong)(1000 + i), "while down"u8));
        }

        link.Flush();
        Assert.Equal(refused + 100, link.RefusedSends);
        Assert.Equal(0, link.QueuedBytes);

        listener = Listen(NodeB, handler, port: port);
        await using var restarted = listener;
        await Wait.UntilAsync(() => link.Connects == 2, "reconnected");
        Assert.Equal(PeerSendStatus.Queued, link.Send(16, 2, "after"u8));
        link.Flush();
        await Wait.UntilAsync(() => handler.FrameCount == 2, "a frame arrived over the new connection");

        var downs = observer.Downs;
        Assert.True(downs[0].WasConnected);
        for (var i = 0; i < downs.Count; i++)
        {
            // Attempt n waits Delay(n - 1) with the n-th jitter value: the first after a working connection starts over at 0.
            Assert.Equal(i + 1, downs[i].Attempt);
            Assert.Equal(ReconnectBackoff.Delay(i, options.InitialBackoff, options.MaxBackoff, jitter[i % jitter.Length]), downs[i].RetryIn);
            if (i > 0)
            {
                Assert.False(downs[i].WasConnected);
            }
        }

        Assert.Equal(["before", "after"], handler.Frames.Select(f => System.Text.Encoding.ASCII.GetString(f.Payload)));
        Assert.Equal(2, observer.Connected.Count);
        Assert.Empty(observer.Failed);
    }

    [Fact]
    public async Task Send_PeerUnreachable_NotConnectedAtOnceAndNothingFailedLater()
    {
        // A port nothing listens on: bind one, then close it.
        int port;
        using (var probe = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(Loopback());
            port = ((System.Net.IPEndPoint)probe.LocalEndPoint!).Port;
        }

        var observer = new RecordingObserver();
        await using var link = new PeerLink(Loopback(port), LinkOptions(NodeA), observer);
        link.Start();

        await Wait.UntilAsync(() => observer.Downs.Count >= 2, "two attempts failed");
        Assert.Contains("ConnectionRefused", observer.Downs[0].Reason, StringComparison.Ordinal);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(PeerSendStatus.NotConnected, link.Send(16, (ulong)(100 + i), Payload(i)));
        }

        link.Flush();
        await Wait.UntilAsync(() => observer.Downs.Count >= 4, "two more attempts failed");
        Assert.Empty(observer.Failed);
        Assert.Equal(0, link.FramesFailed);
        Assert.Equal(0, link.QueuedBytes);
        Assert.Equal(5, link.RefusedSends);
    }

    [Fact]
    public async Task DisposeAsync_FramesQueued_FailedBackAndNothingMoreAccepted()
    {
        var handler = new CollectingHandler();
        await using var listener = Listen(NodeB, handler);
        var observer = new RecordingObserver();
        var link = Link(listener, NodeA, observer);
        await Wait.UntilAsync(() => link.State == PeerLinkState.Connected, "connected");
        Assert.True(link.TrySend(16, 7, "unflushed"u8));

        await link.DisposeAsync();

        Assert.Equal([new PeerFrameId(16, 7)], observer.Failed);
        Assert.Equal(PeerSendStatus.Closed, link.Send(16, 8, "x"u8));
        Assert.Equal(PeerLinkState.Closed, link.State);
    }

    [Fact]
    public async Task SendTimeout_PeerNeverReads_ConnectionDeclaredDeadAndFramesFailedBack()
    {
        // A peer that accepts the handshake and then never reads.
        using var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
        server.Bind(Loopback());
        server.Listen();
        var observer = new RecordingObserver();
        var options = LinkOptions(NodeA) with { SendTimeout = TimeSpan.FromMilliseconds(300), MaxQueuedBytes = 64 * 1024 * 1024 };
        await using var link = new PeerLink(server.LocalEndPoint!, options, observer);
        link.Start();
        using var accepted = await server.AcceptAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(Wait.Deadline, TestContext.Current.CancellationToken);
        var buffer = new byte[4096];
        var received = 0;
        while (PeerFrameCodec.TryDecode(buffer.AsSpan(0, received), 4096, out _, out _, out _) != PeerFrameStatus.Complete)
        {
            received += await accepted.ReceiveAsync(buffer.AsMemory(received), TestContext.Current.CancellationToken);
        }

        await accepted.SendAsync(HandshakeFrames.Hello(PeerFrameKind.Accepted, NodeB), TestContext.Current.CancellationToken);
        await Wait.UntilAsync(() => link.State == PeerLinkState.Connected, "connected");

        // Far more than the kernel buffers hold, in one flush.
        var payload = new byte[1024 * 1024];
        for (var i = 0; i < 48; i++)
        {
            Assert.True(link.TrySend(16, (ulong)i, payload));
        }

        link.Flush();

        await Wait.UntilAsync(() => observer.Downs.Count >= 1, "the stalled connection was given up");
        Assert.Contains("made no progress for 300 ms", observer.Downs[0].Reason, StringComparison.Ordinal);
        Assert.True(observer.Downs[0].WasConnected);
        Assert.Equal(48, observer.Failed.Count);
        Assert.Equal(0, link.QueuedBytes);
    }

    [Fact]
    public async Task Send_ReservedKind_Throws()
    {
        await using var link = new PeerLink(Loopback(1), LinkOptions(NodeA));

        Assert.Throws<ArgumentOutOfRangeException>(() => link.Send((byte)PeerFrameKind.Hello, 1, "x"u8));
        Assert.Throws<ArgumentOutOfRangeException>(() => link.Send(15, 1, "x"u8));
    }

    [Fact]
    public async Task Send_PayloadOverTheLimit_TooLargeAndNothingQueuedThenTheLimitItselfArrives()
    {
        var handler = new CollectingHandler();
        await using var listener = Listen(NodeB, handler);
        await using var link = Link(listener, NodeA, options: LinkOptions(NodeA) with { MaxPayloadBytes = 100 });
        await Wait.UntilAsync(() => link.State == PeerLinkState.Connected, "connected");

        Assert.Equal(PeerSendStatus.TooLarge, link.Send(16, 1, new byte[101]));
        Assert.Equal(0, link.QueuedBytes);
        Assert.Equal(PeerSendStatus.Queued, link.Send(16, 2, new byte[100]));
        link.Flush();

        await Wait.UntilAsync(() => handler.FrameCount == 1, "the frame at the limit arrived");
        Assert.Equal(2UL, Assert.Single(handler.Frames).RequestId);
        Assert.Equal(1, link.RefusedSends);
    }

    [Fact]
    public async Task Send_OneMiBPayloadBetweenSmallOnes_ArrivesWholeAndInOrder()
    {
        var handler = new CollectingHandler();
        await using var listener = Listen(NodeB, handler);
        await using var link = Link(listener, NodeA);
        await Wait.UntilAsync(() => link.State == PeerLinkState.Connected, "connected");
        var big = new byte[1024 * 1024];
        new Random(3).NextBytes(big);

        Assert.Equal(PeerSendStatus.Queued, link.Send(16, 1, "small"u8));
        Assert.Equal(PeerSendStatus.Queued, link.Send(18, 2, big));
        Assert.Equal(PeerSendStatus.Queued, link.Send(16, 3, "after"u8));
        link.Flush();

        await Wait.UntilAsync(() => handler.FrameCount == 3, "three frames arrived");
        Assert.Equal([new DecodedFrame(16, 1, "small"u8.ToArray()), new DecodedFrame(18, 2, big), new DecodedFrame(16, 3, "after"u8.ToArray())], handler.Frames);
        Assert.Equal(0, listener.ProtocolErrors);
    }

    [Fact]
    public async Task Receive_ByteFlippedInFlight_ListenerClosesAndCountsItThenTheLinkReconnectsAndFramesFlow()
    {
        var log = new ListLogger();
        var handler = new CollectingHandler();
        await using var listener = Listen(NodeB, handler, log);
        await using var proxy = new FlippingProxy(listener.LocalEndPoint);

        // The first connection gets a byte of its first message frame's payload flipped, after the hello.
        proxy.FlipNextConnectionAt(HandshakeFrames.Hello(PeerFrameKind.Hello, NodeA).Length + PeerFrameCodec.HeaderBytes + 2);
        var observer = new RecordingObserver();
        await using var link = new PeerLink(proxy.EndPoint, LinkOptions(NodeA), observer);
        link.Start();
        await Wait.UntilAsync(() => link.State == PeerLinkState.Connected, "connected");
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(PeerSendStatus.Queued, link.Send(16, (ulong)i, Payload(i)));
        }

        link.Flush();

        await Wait.UntilAsync(() => listener.ProtocolErrors == 1, "the listener dropped the damaged connection");

        // The listener counts the error, then logs it: wait for the line rather than expect it with the count.
        await Wait.UntilAsync(() => log.Contains(LogLevel.Warning, "frame checksum mismatch"), "the listener logged the checksum mismatch");
        Assert.Equal(0, handler.FrameCount); // the damaged frame was the first: nothing of it or after it delivered
        await Wait.UntilAsync(() => link.Connects == 2, "the link reconnected");
        Assert.True(observer.Downs[0].WasConnected);

        // The listener stayed up and the new connection (relayed intact) carries frames.
        for (var i = 10; i < 20; i++)
        {
            Assert.Equal(PeerSendStatus.Queued, link.Send(16, (ulong)i, Payload(i)));
        }

        link.Flush();
        await Wait.UntilAsync(() => handler.FrameCount == 10, "the frames over the new connection arrived");
        Assert.Equal(Enumerable.Range(10, 10).Select(i => new DecodedFrame(16, (ulong)i, Payload(i))), handler.Frames);
        Assert.Equal(1, listener.ProtocolErrors);
        Assert.Equal(2, listener.Accepted);
        Assert.Equal(2, proxy.Connections);
    }

    private sealed class CallbackHandler(Action<PeerFrameBatch> onBatch) : IPeerFrameHandler
    {
        public ValueTask OnBatchAsync(PeerFrameBatch batch)
        {
            try
            {
                onBatch(batch);
            }
            finally
            {
                batch.Release();
            }

            return ValueTask.CompletedTask;
        }
    }
}
