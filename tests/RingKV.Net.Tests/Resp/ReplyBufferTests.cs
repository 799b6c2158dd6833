using System;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using RingKV.Net.Resp;
using Xunit;

namespace RingKV.Net.Tests.Resp;

/// <summary>The reply buffer: small replies wait for the loop's one send, big ones stream to the socket, and it holds at most its limit.</summary>
public sealed class ReplyBufferTests
{
    private const int Mib = 1024 * 1024;

    [Fact]
    public async Task Write_SmallReplies_StayForTheLoopsOneSend()
    {
        var (client, server) = await ConnectedAsync(smallKernelBuffers: false);
        using (client)
        using (server)
        using (var output = new ReplyBuffer(16 * 1024, Mib, server))
        {
            Write(output, 40 * 1024, 100);

            Assert.Equal(40 * 1024, output.UnsentCount);
            Assert.Equal(0, output.PushedBytes);
            Assert.Equal(0, client.Available);
        }
    }

    [Fact]
    public async Task Write_BigReplyToAClientWithRoom_StreamsThroughASmallBuffer()
    {
        var (client, server) = await ConnectedAsync(smallKernelBuffers: false);
        using (client)
        using (server)
        using (var output = new ReplyBuffer(16 * 1024, 64 * Mib, server))
        {
            Write(output, Mib, 1000);

            Assert.Equal(Mib, output.PushedBytes + output.UnsentCount);
            Assert.True(output.PushedBytes > 0, "nothing was pushed");
            Assert.True(output.Capacity <= 2 * ReplyBuffer.PushBytes, $"the buffer grew to {output.Capacity}");
            var received = new byte[output.PushedBytes];
            for (var at = 0; at < received.Length;)
            {
                at += await client.ReceiveAsync(received.AsMemory(at), SocketFlags.None, TestContext.Current.CancellationToken);
            }

            for (var i = 0; i < received.Length; i++)
            {
                Assert.Equal((byte)(i % 251), received[i]); // in order, nothing lost or repeated
            }
        }
    }

    [Fact]
    public async Task Write_PastTheLimitToAClientThatDoesNotRead_OverflowsAndKeepsNoMore()
    {
        var (client, server) = await ConnectedAsync(smallKernelBuffers: true);
        using (client)
        using (server)
        using (var output = new ReplyBuffer(16 * 1024, 256 * 1024, server))
        {
            Write(output, 4 * Mib, 1000);

            Assert.True(output.Overflowed);
            Assert.True(output.UnsentCount <= 256 * 1024, $"held {output.UnsentCount}");
            Assert.True(output.Capacity <= 256 * 1024, $"grew to {output.Capacity}");
        }
    }

    [Fact]
    public void Clear_AfterABigReply_GivesTheGrownStorageBack()
    {
        var memory = new RespConnectionMemory(long.MaxValue);
        using var output = new ReplyBuffer(16 * 1024, 64 * Mib, socket: null, memory);
        Write(output, 3 * Mib, 4096);
        Assert.True(output.Capacity >= 3 * Mib);
        Assert.True(memory.RecentMaxOutputBytes >= 3 * Mib);

        output.Clear(ReplyBuffer.PushBytes);

        Assert.Equal(16 * 1024, output.Capacity);
        Assert.Equal(0, output.UnsentCount);
        Assert.Equal(1, memory.BuffersReleased);
    }

    /// <summary>Writes <paramref name="total"/> bytes of the pattern i % 251 in pieces of <paramref name="piece"/>.</summary>
    private static void Write(ReplyBuffer output, int total, int piece)
    {
        for (var at = 0; at < total;)
        {
            var n = Math.Min(piece, total - at);
            var span = output.GetSpan(n);
            for (var i = 0; i < n; i++)
            {
                span[i] = (byte)((at + i) % 251);
            }

            output.Advance(n);
            at += n;
        }
    }

    private static async Task<(Socket Client, Socket Server)> ConnectedAsync(bool smallKernelBuffers)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (smallKernelBuffers)
        {
            client.ReceiveBufferSize = 16 * 1024;
        }

        var accepting = listener.AcceptAsync(TestContext.Current.CancellationToken);
        await client.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
        var server = await accepting;
        server.Blocking = false; // as the connection loop makes it: a push never waits
        if (smallKernelBuffers)
        {
            server.SendBufferSize = 16 * 1024;
        }

        return (client, server);
    }
}
