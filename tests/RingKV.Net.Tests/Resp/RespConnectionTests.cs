using System;
using System.IO.Pipelines;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Net.Resp;
using Xunit;

namespace RingKV.Net.Tests.Resp;

public sealed class RespConnectionTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task RunAsync_PipelinedCommands_RepliesInOrderThenClosesOnQuit()
    {
        await using var connection = Connection.Start(new EchoHandler());

        await connection.SendAsync("PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*1\r\n$4\r\nping\r\nECHO \"a b\"\r\n*1\r\n$4\r\nQUIT\r\nPING\r\n");

        Assert.Equal("+PONG\r\n$2\r\nhi\r\n+PONG\r\n$3\r\na b\r\n+OK\r\n", await connection.ReadToEndAsync());
        await connection.Run.WaitAsync(Deadline, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task RunAsync_ProtocolError_RepliesErrorAndCompletesOutput()
    {
        await using var connection = Connection.Start(new EchoHandler());

        await connection.SendAsync("PING\r\n*1\r\n$x\r\nPING\r\n");

        Assert.Equal("+PONG\r\n-ERR Protocol error: invalid bulk length\r\n", await connection.ReadToEndAsync());
        await connection.Run.WaitAsync(Deadline, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task RunAsync_ExpectedDollar_RepliesRedisText()
    {
        await using var connection = Connection.Start(new EchoHandler());

        await connection.SendAsync("*1\r\n:1\r\n");

        Assert.Equal("-ERR Protocol error: expected '$', got ':'\r\n", await connection.ReadToEndAsync());
    }

    [Fact]
    public async Task RunAsync_CommandSentByteByByte_RepliesOnce()
    {
        await using var connection = Connection.Start(new EchoHandler());
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
    public async Task RunAsync_LargeValueAcrossSegments_EchoesIt()
    {
        var options = new PipeOptions(pauseWriterThreshold: 4 * 1024 * 1024, resumeWriterThreshold: 2 * 1024 * 1024, useSynchronizationContext: false);
        await using var connection = Connection.Start(new EchoHandler(), options);
        var value = new string('v', 200_000);

        await connection.SendAsync($"*2\r\n$4\r\nECHO\r\n${value.Length}\r\n{value}\r\n");
        await connection.CompleteInputAsync();

        Assert.Equal($"${value.Length}\r\n{value}\r\n", await connection.ReadToEndAsync());
    }

    [Fact]
    public async Task RunAsync_AsyncHandler_KeepsReplyOrder()
    {
        await using var connection = Connection.Start(new EchoHandler());

        await connection.SendAsync("SLOW a\r\nECHO b\r\nSLOW c\r\n");
        await connection.CompleteInputAsync();

        Assert.Equal("$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", await connection.ReadToEndAsync());
    }

    [Fact]
    public async Task RunAsync_ClientEof_ReturnsAndCompletesOutput()
    {
        await using var connection = Connection.Start(new EchoHandler());

        await connection.SendAsync("PING\r\n*1\r\n$4\r\nPI");
        await connection.CompleteInputAsync();

        Assert.Equal("+PONG\r\n", await connection.ReadToEndAsync());
        await connection.Run.WaitAsync(Deadline, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task RunAsync_HandlerThrows_RethrowsAndFailsOutput()
    {
        await using var connection = Connection.Start(new EchoHandler());

        await connection.SendAsync("PING\r\nBOOM\r\n");

        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.Run.WaitAsync(Deadline, TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.ReadToEndAsync());
    }

    [Fact]
    public async Task RunAsync_Canceled_ReturnsNormally()
    {
        await using var connection = Connection.Start(new EchoHandler());
        await connection.SendAsync("PING\r\n");
        Assert.Equal("+PONG\r\n", await connection.ReadAsync(7));

        await connection.CancelAsync();

        await connection.Run.WaitAsync(Deadline, TestContext.Current.CancellationToken);
        Assert.Equal("+PONG\r\n", await connection.ReadToEndAsync());
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

    /// <summary>A client and a server end joined by two pipes, the server running <see cref="RespConnection.RunAsync"/>.</summary>
    private sealed class Connection : IAsyncDisposable
    {
        private readonly Pipe _toServer;
        private readonly Pipe _fromServer;
        private readonly CancellationTokenSource _cancellation = new();
        private readonly StringBuilder _received = new();
        private bool _outputCompleted;

        private Connection(Pipe toServer, Pipe fromServer, Task run)
        {
            _toServer = toServer;
            _fromServer = fromServer;
            Run = run;
        }

        public Task Run { get; private set; }

        public static Connection Start(IRespHandler handler, PipeOptions? options = null)
        {
            var toServer = new Pipe(options ?? PipeOptions.Default);
            var fromServer = new Pipe(options ?? PipeOptions.Default);
            var connection = new Connection(toServer, fromServer, Task.CompletedTask);
            connection.Run = RespConnection.RunAsync(toServer.Reader, fromServer.Writer, handler, RespLimits.Default, connection._cancellation.Token);
            return connection;
        }

        public async Task SendAsync(string text)
        {
            await _toServer.Writer.WriteAsync(Encoding.Latin1.GetBytes(text), TestContext.Current.CancellationToken);
        }

        public async Task CompleteInputAsync() => await _toServer.Writer.CompleteAsync();

        public async Task CancelAsync() => await _cancellation.CancelAsync();

        /// <summary>Everything the server wrote until it completed its output.</summary>
        public Task<string> ReadToEndAsync() => ReadAsync(int.MaxValue);

        /// <summary>Everything the server wrote, once it is at least <paramref name="length"/> characters or the output completed.</summary>
        public async Task<string> ReadAsync(int length)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            deadline.CancelAfter(Deadline);
            while (_received.Length < length && !_outputCompleted)
            {
                var result = await _fromServer.Reader.ReadAsync(deadline.Token);
                foreach (var segment in result.Buffer)
                {
                    _received.Append(Encoding.Latin1.GetString(segment.Span));
                }

                _fromServer.Reader.AdvanceTo(result.Buffer.End);
                _outputCompleted = result.IsCompleted;
            }

            return _received.ToString();
        }

        public async ValueTask DisposeAsync()
        {
            await _toServer.Writer.CompleteAsync();
            await _cancellation.CancelAsync();
            try
            {
                await Run.WaitAsync(Deadline);
            }
            catch (InvalidOperationException)
            {
                // The handler-throws test expects this failure and asserts it itself.
            }

            _cancellation.Dispose();
        }
    }
}
