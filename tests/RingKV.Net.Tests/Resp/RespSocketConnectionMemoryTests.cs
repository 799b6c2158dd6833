using System;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Net.Resp;
using Xunit;

namespace RingKV.Net.Tests.Resp;

/// <summary>The connection loop's memory bounds: request size, the shared request budget, and unread replies.</summary>
public sealed class RespSocketConnectionMemoryTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private const int Mib = 1024 * 1024;

    [Fact]
    public async Task RunAsync_RequestOverMaxRequestBytes_ErrorThenClosedAndCounted()
    {
        var memory = new RespConnectionMemory(64 * Mib);
        var limits = RespLimits.Default with { MaxRequestBytes = Mib };
        await using var pair = await SocketPair.StartAsync(limits, memory);

        var sending = pair.SendIgnoringResetAsync(Echo(new string('v', 2 * Mib)));

        Assert.Equal("-ERR Protocol error: request larger than max-request-mb (1048576 bytes)\r\n", await pair.ReadToEndAsync());
        Assert.Equal(RespCloseReason.RequestTooLarge, await pair.Run.WaitAsync(Deadline, TestContext.Current.CancellationToken));
        await sending;
        Assert.Equal(1, memory.RequestLimitRejections);
        Assert.Equal(0, memory.RequestBytes);
    }

    [Fact]
    public async Task RunAsync_BigRequest_ItsBufferIsGivenBackOnceItIsDone()
    {
        var memory = new RespConnectionMemory(64 * Mib);
        await using var pair = await SocketPair.StartAsync(RespLimits.Default, memory);
        var value = new string('v', 3 * Mib);

        await pair.SendAsync(Echo(value));
        var reply = $"${value.Length}\r\n{value}\r\n";
        Assert.Equal(reply, await pair.ReadAsync(reply.Length));
        await pair.SendAsync("PING\r\n");
        Assert.Equal(reply + "+PONG\r\n", await pair.ReadAsync(reply.Length + 7));

        // Still connected, and holding no more than its first buffers: the 3 MiB receive buffer went back.
        Assert.False(pair.Run.IsCompleted);
        Assert.Equal(0, memory.RequestBytes);
        Assert.True(memory.BuffersReleased >= 1, $"released {memory.BuffersReleased}");
        Assert.True(memory.RecentMaxInputBytes >= 3 * Mib, $"recent max input {memory.RecentMaxInputBytes}");
    }

    [Fact]
    public async Task RunAsync_RequestBudgetUsedUpUntilTheWaitEnds_ErrorThenClosed()
    {
        var memory = new RespConnectionMemory(2 * Mib);
        Assert.True(memory.TryReserve((3 * Mib) / 2)); // another connection's big request, held throughout
        var limits = RespLimits.Default with { RequestMemoryWait = TimeSpan.FromMilliseconds(200) };
        await using var pair = await SocketPair.StartAsync(limits, memory);

        var sending = pair.SendIgnoringResetAsync(Echo(new string('v', Mib)));

        Assert.Equal("-" + RespErrors.RequestMemoryBusy + "\r\n", await pair.ReadToEndAsync());
        Assert.Equal(RespCloseReason.RequestMemoryBusy, await pair.Run.WaitAsync(Deadline, TestContext.Current.CancellationToken));
        await sending;
        Assert.Equal(1, memory.RequestWaits);
        Assert.Equal(1, memory.RequestWaitTimeouts);
        Assert.Equal((3 * Mib) / 2, memory.RequestBytes); // the refused connection gave back what it held
    }

    [Fact]
    public async Task RunAsync_RequestBudgetGivenBackWhileWaiting_RequestIsServed()
    {
        var memory = new RespConnectionMemory(2 * Mib);
        Assert.True(memory.TryReserve((3 * Mib) / 2));
        await using var pair = await SocketPair.StartAsync(RespLimits.Default, memory);
        var value = new string('v', Mib);

        var sending = pair.SendAsync(Echo(value));
        await WaitUntil(() => memory.RequestWaits == 1, "the request to wait for the budget");
        Assert.Equal(0, pair.Available);
        memory.Release((3 * Mib) / 2);

        var reply = $"${value.Length}\r\n{value}\r\n";
        Assert.Equal(reply, await pair.ReadAsync(reply.Length));
        await sending;
        Assert.Equal(0, memory.RequestWaitTimeouts);
    }

    [Fact]
    public async Task RunAsync_ClientThatDoesNotRead_DisconnectedOnceItHoldsHalfTheLimitWithoutReading()
    {
        var memory = new RespConnectionMemory(64 * Mib);
        var limits = RespLimits.Default with { MaxReplyBytes = Mib, ReplyStallTimeout = TimeSpan.FromMilliseconds(300) };
        await using var pair = await SocketPair.StartAsync(limits, memory, smallSocketBuffers: true);
        var request = new StringBuilder();
        for (var i = 0; i < 200; i++)
        {
            request.Append("BIG 65536\r\n"); // 13 MB of replies in all
        }

        await pair.SendAsync(request.ToString());

        Assert.Equal(RespCloseReason.ReplyBufferLimit, await pair.Run.WaitAsync(Deadline, TestContext.Current.CancellationToken));
        Assert.Equal(1, memory.ReplyLimitDisconnections);
        Assert.True(memory.RecentMaxOutputBytes <= Mib, $"the reply buffer grew to {memory.RecentMaxOutputBytes}");
    }

    [Fact]
    public async Task RunAsync_SingleReplyOverTheLimitToAClientThatDoesNotRead_DisconnectedAtOnce()
    {
        var memory = new RespConnectionMemory(64 * Mib);
        var limits = RespLimits.Default with { MaxReplyBytes = Mib, ReplyStallTimeout = TimeSpan.FromMinutes(10) };
        await using var pair = await SocketPair.StartAsync(limits, memory, smallSocketBuffers: true);

        await pair.SendAsync("BIG 8388608\r\n");

        // Not the (ten-minute) stall timeout: the one reply does not fit the limit at all.
        Assert.Equal(RespCloseReason.ReplyBufferLimit, await pair.Run.WaitAsync(Deadline, TestContext.Current.CancellationToken));
        Assert.Equal(1, memory.ReplyLimitDisconnections);
    }

    [Fact]
    public async Task RunAsync_ClientThatReads_GetsRepliesFarBeyondTheLimit()
    {
        var memory = new RespConnectionMemory(64 * Mib);
        var limits = RespLimits.Default with { MaxReplyBytes = Mib };
        await using var pair = await SocketPair.StartAsync(limits, memory, smallSocketBuffers: true);
        var request = new StringBuilder();
        for (var i = 0; i < 300; i++)
        {
            request.Append("BIG 65536\r\n");
        }

        var expected = 300 * ("$65536\r\n".Length + 65536 + 2);
        await pair.SendAsync(request.ToString());
        await pair.CompleteInputAsync();

        Assert.Equal(expected, (await pair.ReadToEndAsync()).Length);
        Assert.Equal(RespCloseReason.ClientClosed, await pair.Run.WaitAsync(Deadline, TestContext.Current.CancellationToken));
        Assert.Equal(0, memory.ReplyLimitDisconnections);
        Assert.True(memory.RecentMaxOutputBytes <= Mib, $"the reply buffer grew to {memory.RecentMaxOutputBytes}");
    }

    private static string Echo(string value) => $"*2\r\n$4\r\nECHO\r\n${value.Length}\r\n{value}\r\n";

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Deadline, $"timed out waiting for {what}");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>PING, ECHO x, BIG n (a bulk string of n bytes).</summary>
    private sealed class Handler : IRespHandler
    {
        public ValueTask<RespAction> ExecuteAsync(RespCommand command, RespWriter writer, CancellationToken cancellationToken)
        {
            if (command.IsCommand("PING"u8))
            {
                writer.WriteSimpleString("PONG"u8);
            }
            else if (command.IsCommand("ECHO"u8) && command.Count == 2)
            {
                writer.WriteBulkString(command[1]);
            }
            else if (command.IsCommand("BIG"u8) && command.TryGetInt64(1, out var length))
            {
                writer.WriteBulkString(new byte[length]);
            }
            else
            {
                writer.WriteError("ERR unknown command"u8);
            }

            return new ValueTask<RespAction>(RespAction.Continue);
        }
    }

    /// <summary>A loopback client socket and the server end running <see cref="RespSocketConnection.RunAsync"/> with the given limits.</summary>
    private sealed class SocketPair : IAsyncDisposable
    {
        private readonly Socket _client;
        private readonly StringBuilder _received = new();
        private bool _ended;

        private SocketPair(Socket client, Socket server, RespLimits limits, RespConnectionMemory memory)
        {
            _client = client;
            Run = RunAndCloseAsync(server, limits, memory);
        }

        public Task<RespCloseReason> Run { get; }

        public int Available => _client.Available;

        /// <summary>Connects; with <paramref name="smallSocketBuffers"/> the kernel's buffers (client receive, server send) are small, so a client that does not read fills them fast.</summary>
        public static async Task<SocketPair> StartAsync(RespLimits limits, RespConnectionMemory memory, bool smallSocketBuffers = false)
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            if (smallSocketBuffers)
            {
                client.ReceiveBufferSize = 64 * 1024; // before connect, so the window is negotiated for it
            }

            var accepting = listener.AcceptAsync(TestContext.Current.CancellationToken);
            await client.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
            var server = await accepting;
            if (smallSocketBuffers)
            {
                server.SendBufferSize = 64 * 1024;
            }

            return new SocketPair(client, server, limits, memory);
        }

        public async Task SendAsync(string text)
        {
            var bytes = Encoding.Latin1.GetBytes(text);
            for (var at = 0; at < bytes.Length;)
            {
                at += await _client.SendAsync(bytes.AsMemory(at), SocketFlags.None, TestContext.Current.CancellationToken);
            }
        }

        /// <summary>Sends on a background task; a server that closes in the middle is what some tests expect.</summary>
        public Task SendIgnoringResetAsync(string text) => Task.Run(async () =>
        {
            try
            {
                await SendAsync(text);
            }
            catch (SocketException)
            {
            }
        });

        public Task CompleteInputAsync()
        {
            _client.Shutdown(SocketShutdown.Send);
            return Task.CompletedTask;
        }

        public Task<string> ReadToEndAsync() => ReadAsync(int.MaxValue);

        public async Task<string> ReadAsync(int length)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            deadline.CancelAfter(Deadline);
            var buffer = new byte[64 * 1024];
            while (_received.Length < length && !_ended)
            {
                int n;
                try
                {
                    n = await _client.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                }
                catch (SocketException)
                {
                    n = 0; // reset by the server's close
                }

                _received.Append(Encoding.Latin1.GetString(buffer, 0, n));
                _ended = n == 0;
            }

            return _received.ToString();
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                _client.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }

            _client.Dispose();
            await Run.WaitAsync(Deadline);
        }

        private static async Task<RespCloseReason> RunAndCloseAsync(Socket server, RespLimits limits, RespConnectionMemory memory)
        {
            try
            {
                return await RespSocketConnection.RunAsync(server, new Handler(), limits, memory);
            }
            finally
            {
                server.Dispose();
            }
        }
    }
}
