using System;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Cli.Admin;
using Xunit;

namespace RingKV.Cli.Tests.Admin;

/// <summary>The admin client against a loopback listener that answers with canned bytes.</summary>
public sealed class RespClientTests
{
    [Fact]
    public async Task Call_NestedArraySentOneByteAtATime_ReadsEveryType()
    {
        const string Reply = "*5\r\n+OK\r\n:-42\r\n$4\r\nh\u00e9y\r\n$-1\r\n*2\r\n*0\r\n-ERR no\r\n";
        using var server = new CannedServer(Encoding.UTF8.GetBytes(Reply), oneByteAtATime: true);
        using var client = RespClient.Connect(server.Address, TimeSpan.FromSeconds(10));

        var reply = client.Call("KV.RING");

        Assert.Equal("*1\r\n$7\r\nKV.RING\r\n", await server.Request);
        Assert.Equal(RespReplyKind.Array, reply.Kind);
        var e = reply.Elements!;
        Assert.Equal(RespReply.Simple("OK"), e[0]);
        Assert.Equal(RespReply.Integer(-42), e[1]);
        Assert.Equal("h\u00e9y", e[2].Text);
        Assert.Equal(RespReplyKind.Nil, e[3].Kind);
        Assert.Empty(e[4].Elements![0].Elements!);
        Assert.Equal(RespReply.Error("ERR no"), e[4].Elements![1]);
    }

    [Theory]
    [InlineData("HTTP/1.1 400 Bad Request\r\n", "does not look like a RingKV node")]
    [InlineData("$999999999\r\n", "larger than")]
    [InlineData("*999999999\r\n", "larger than")]
    [InlineData("$3\r\nabcXY", "not ended by CRLF")]
    [InlineData("+OK", "closed the connection")]
    public void Call_NotRespOrTooLarge_ThrowsNamingTheNode(string bytes, string expected)
    {
        using var server = new CannedServer(Encoding.ASCII.GetBytes(bytes), oneByteAtATime: false);
        using var client = RespClient.Connect(server.Address, TimeSpan.FromSeconds(10));

        var e = Assert.Throws<RespClientException>(() => client.Call("PING"));

        Assert.Contains(server.Address, e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Call_NodeThatNeverAnswers_ThrowsAfterTheTimeout()
    {
        using var server = new CannedServer(null, oneByteAtATime: false);
        using var client = RespClient.Connect(server.Address, TimeSpan.FromMilliseconds(300));

        var e = Assert.Throws<RespClientException>(() => client.Call("PING"));

        Assert.Contains("no reply within", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Connect_NothingListening_ThrowsNamingTheAddress()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var address = $"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        listener.Stop();

        var e = Assert.Throws<RespClientException>(() => RespClient.Connect(address, TimeSpan.FromSeconds(10)));

        Assert.Contains($"{address} does not answer", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Accepts one connection, reads one request and answers with the bytes given (then closes), or never answers when null.</summary>
    private sealed class CannedServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();

        public CannedServer(byte[]? reply, bool oneByteAtATime)
        {
            _listener.Start();
            Address = $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
            Request = ServeAsync(reply, oneByteAtATime);
        }

        public string Address { get; }

        public Task<string> Request { get; }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }

        private async Task<string> ServeAsync(byte[]? reply, bool oneByteAtATime)
        {
            using var socket = await _listener.AcceptSocketAsync(_stop.Token);
            var buffer = new byte[4096];
            var n = await socket.ReceiveAsync(buffer, _stop.Token);
            if (reply is null)
            {
                await Task.Delay(Timeout.Infinite, _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                return "";
            }

            for (var sent = 0; sent < reply.Length;)
            {
                sent += await socket.SendAsync(reply.AsMemory(sent, oneByteAtATime ? 1 : reply.Length - sent), _stop.Token);
            }

            socket.Shutdown(SocketShutdown.Send);
            return Encoding.ASCII.GetString(buffer, 0, n);
        }
    }
}
