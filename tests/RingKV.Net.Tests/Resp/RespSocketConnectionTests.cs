using System;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Net.Resp;
using Xunit;

namespace RingKV.Net.Tests.Resp;

public sealed class RespSocketConnectionTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData( // pipelined commands, inline and multibulk, answered in order; QUIT ends it, the PING after is not run
        "PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*1\r\n$4\r\nping\r\nECHO \"a b\"\r\n*1\r\n$4\r\nQUIT\r\nPING\r\n",
        "+PONG\r\n$2\r\nhi\r\n+PONG\r\n$3\r\na b\r\n+OK\r\n")]
    [InlineData( // a protocol error is answered after the replies before it, and ends it
        "PING\r\n*1\r\n$x\r\nPING\r\n",
        "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n")]
    [InlineData("*1\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'\r\n")]
    public async Task RunAsync_RequestsThatEndTheConnection_RepliesThenReturns(string request, string expected)
    {
        await using var connection = await Connection.StartAsync(new EchoHandler());

        await connection.SendAsync(request);

        Assert.Equal(expected, await connection.ReadToEndAsync());
        await connection.Run.WaitAsync(Deadline, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task RunAsync_CommandSentByteByByte_RepliesOnce()
    {
        await using var connection = await Connection.StartAsync(new EchoHandler());
        var payload = "*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n";
        foreach (var c in payload)
        {
            await connection.SendAsync(c.ToString());
        }

        await connection.CompleteInputAsync();

        Assert.Equal("$5\r\nhello\r\n", await connection.ReadToEndAsync());
        await connection.Run.WaitAsync(Deadline, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task RunAsync_ValuesLargerThanTheReceiveBuffer_EchoesThemThenSmallOnes()
    {
        await using var connection = await Connection.StartAsync(new EchoHandler());
        var big = new string('v', 3_000_000); // grows both buffers past what a connection keeps
        var text = new StringBuilder();
        text.Append($"*2\r\n$4\r\nECHO\r\n${big.Length}\r\n{big}\r\nECHO x\r\n");
        var expected = $"${big.Length}\r\n{big}\r\n$1\r\nx\r\n";

        var send = connection.SendAsync(text.ToString());
        Assert.Equal(expected, await connection.ReadAsync(expected.Length));
        await send;

        await connection.SendAsync("ECHO y\r\n");
        await connection.CompleteInputAsync();
        Assert.Equal(expected + "$1\r\ny\r\n", await connection.ReadToEndAsync());
    }

    [Fact]
    public async Task RunAsync_ManyPipelinedCommandsSplitAnywhere_RepliesToEachInOrder()
    {
        await using var connection = await Connection.StartAsync(new EchoHandler());
        var request = new StringBuilder();
        var expected = new StringBuilder();
        for (var i = 0; i < 5000; i++)
        {
            var value = new string((char)('a' + (i % 26)), i % 300);
            request.Append($"*2\r\n$4\r\nECHO\r\n${value.Length}\r\n{value}\r\n");
            expected.Append($"${value.Length}\r\n{value}\r\n");
        }

        var all = request.ToString();
        var rng = new Random(7);
        var sending = Task.Run(
            async () =>
            {
                for (var at = 0; at < all.Length;)
                {
                    var n = Math.Min(all.Length - at, rng.Next(1, 40_000));
                    await connection.SendAsync(all.Substring(at, n));
                    at += n;
                }

                await connection.CompleteInputAsync();
            },
            TestContext.Current.CancellationToken);

        Assert.Equal(expected.ToString(), await connection.ReadToEndAsync());
        await sending;
    }

    [Fact]
    public async Task RunAsync_AsyncHandler_KeepsReplyOrder()
    {
        await using var connection = await Connection.StartAsync(new EchoHandler());

        await connection.SendAsync("SLOW a\r\nECHO b\r\nSLOW c\r\n");
        await connection.CompleteInputAsync();

        Assert.Equal("$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", await connection.ReadToEndAsync());
    }

    [Fact]
    public async Task RunAsync_ClientEof_ReturnsAndCompletesOutput()
    {
        await using var connection = await Connection.StartAsync(new EchoHandler());

        await connection.SendAsync("PING\r\n*1\r\n$4\r\nPI");
        await connection.CompleteInputAsync();

        Assert.Equal("+PONG\r\n", await connection.ReadToEndAsync());
        await connection.Run.WaitAsync(Deadline, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task RunAsync_HandlerThrows_RethrowsAndTheClientSeesTheConnectionEnd()
    {
        await using var connection = await Connection.StartAsync(new EchoHandler());

        await connection.SendAsync("PING\r\nBOOM\r\n");

        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.Run.WaitAsync(Deadline, TestContext.Current.CancellationToken));
        Assert.Equal(string.Empty, await connection.ReadToEndAsync()); // the replies of the failed batch are not sent
    }

    [Fact]
    public async Task RunAsync_ReceiveShutDown_ReturnsNormally()
    {
        await using var connection = await Connection.StartAsync(new EchoHandler());
        await connection.SendAsync("PING\r\n");
        Assert.Equal("+PONG\r\n", await connection.ReadAsync(7));

        connection.ShutDownServerReceive();

        await connection.Run.WaitAsync(Deadline, TestContext.Current.CancellationToken);
        Assert.Equal("+PONG\r\n", await connection.ReadToEndAsync());
    }

    [Fact]
    public async Task RunAsync_HandlerAllowsOverlap_LaterCommandsRunWhileAnEarlierOneWaits_RepliesInRequestOrder()
    {
        // WAIT blocks until OPEN runs: it can finish only if OPEN starts while WAIT is still in flight.
        var handler = new GateHandler();
        await using var connection = await Connection.StartAsync(handler);

        await connection.SendAsync("WAIT a\r\nECHO b\r\nWAIT c\r\nOPEN d\r\nECHO e\r\n");
        await connection.CompleteInputAsync();

        Assert.Equal("$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n", await connection.ReadToEndAsync());
        Assert.Equal(3, handler.MaxInFlight); // WAIT a, WAIT c and OPEN d were running together
    }

    [Fact]
    public async Task RunAsync_BarrierCommand_WaitsForEverythingInFlight()
    {
        var handler = new GateHandler();
        await using var connection = await Connection.StartAsync(handler);

        // SYNC is a barrier: it starts only once WAIT has finished (its gate opens by timer), so it sees nothing in flight.
        await connection.SendAsync("WAIT a\r\nSYNC b\r\n");
        handler.OpenLater();
        await connection.CompleteInputAsync();

        Assert.Equal("$1\r\na\r\n$1\r\n0\r\n", await connection.ReadToEndAsync());
    }

    /// <summary>WAIT echoes once the gate opens; OPEN opens it and echoes; ECHO echoes; SYNC (a barrier) echoes how many run.</summary>
    private sealed class GateHandler : IRespHandler
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _inFlight;

        public int MaxInFlight { get; private set; }

        public void OpenLater() => _ = Task.Delay(200).ContinueWith(_ => _gate.TrySetResult(), TaskScheduler.Default);

        public bool MayOverlap(RespCommand command) => !command.IsCommand("SYNC"u8);

        public ValueTask<RespAction> ExecuteAsync(RespCommand command, RespWriter writer, CancellationToken cancellationToken)
        {
            var running = Interlocked.Increment(ref _inFlight);
            MaxInFlight = Math.Max(MaxInFlight, running);
            if (command.IsCommand("WAIT"u8))
            {
                return WaitAsync(command, writer);
            }

            if (command.IsCommand("OPEN"u8))
            {
                _gate.TrySetResult();
            }

            if (command.IsCommand("SYNC"u8))
            {
                writer.WriteBulkString(Encoding.ASCII.GetBytes((running - 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
            else
            {
                writer.WriteBulkString(command[1]);
            }

            Interlocked.Decrement(ref _inFlight);
            return new ValueTask<RespAction>(RespAction.Continue);
        }

        private async ValueTask<RespAction> WaitAsync(RespCommand command, RespWriter writer)
        {
            await _gate.Task.WaitAsync(Deadline);
            writer.WriteBulkString(command[1]); // the arguments stay valid while the command is in flight
            Interlocked.Decrement(ref _inFlight);
            return RespAction.Continue;
        }
    }

    /// <summary>PING, ECHO, QUIT; SLOW echoes after yielding; BOOM throws.</summary>
    private sealed class EchoHandler : IRespHandler
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
            else if (command.IsCommand("QUIT"u8))
            {
                writer.WriteOk();
                return new ValueTask<RespAction>(RespAction.Close);
            }
            else if (command.IsCommand("SLOW"u8))
            {
                return SlowAsync(command, writer);
            }
            else if (command.IsCommand("BOOM"u8))
            {
                throw new InvalidOperationException("boom");
            }
            else
            {
                writer.WriteError("ERR unknown command"u8);
            }

            return new ValueTask<RespAction>(RespAction.Continue);
        }

        private static async ValueTask<RespAction> SlowAsync(RespCommand command, RespWriter writer)
        {
            await Task.Yield();
            writer.WriteBulkString(command[1]);
            return RespAction.Continue;
        }
    }

    /// <summary>A client socket and a server socket on loopback, the server end running <see cref="RespSocketConnection.RunAsync"/>.</summary>
    private sealed class Connection : IAsyncDisposable
    {
        private readonly Socket _client;
        private readonly Socket _server;
        private readonly StringBuilder _received = new();
        private bool _ended;

        private Connection(Socket client, Socket server, IRespHandler handler)
        {
            _client = client;
            _server = server;
            Run = RunAndCloseAsync(server, handler);
        }

        public Task Run { get; }

        public static async Task<Connection> StartAsync(IRespHandler handler)
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            var accepting = listener.AcceptAsync(TestContext.Current.CancellationToken);
            await client.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
            return new Connection(client, await accepting, handler);
        }

        public async Task SendAsync(string text)
        {
            var bytes = Encoding.Latin1.GetBytes(text);
            for (var at = 0; at < bytes.Length;)
            {
                at += await _client.SendAsync(bytes.AsMemory(at), SocketFlags.None, TestContext.Current.CancellationToken);
            }
        }

        public Task CompleteInputAsync()
        {
            _client.Shutdown(SocketShutdown.Send);
            return Task.CompletedTask;
        }

        public void ShutDownServerReceive() => _server.Shutdown(SocketShutdown.Receive);

        /// <summary>Everything the server sent until it closed.</summary>
        public Task<string> ReadToEndAsync() => ReadAsync(int.MaxValue);

        /// <summary>Everything the server sent, once it is at least <paramref name="length"/> characters or the server closed.</summary>
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

            try
            {
                await Run.WaitAsync(Deadline);
            }
            catch (InvalidOperationException)
            {
                // The handler-throws test expects this failure and asserts it itself.
            }

            _client.Dispose();
        }

        private static async Task RunAndCloseAsync(Socket server, IRespHandler handler)
        {
            try
            {
                await RespSocketConnection.RunAsync(server, handler, RespLimits.Default);
            }
            finally
            {
                server.Dispose(); // as the listener does
            }
        }
    }
}
