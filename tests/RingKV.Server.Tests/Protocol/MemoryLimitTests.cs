using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Server.Tests.Support;
using RingKV.Testing.Processes;
using Xunit;

namespace RingKV.Server.Tests.Protocol;

/// <summary>
/// Memory bounds on raw sockets: --max-request-mb per connection, --max-request-memory-mb over all of them, and
/// --max-reply-buffer-mb per client; each limit gets its error or disconnect, is counted in INFO, and the server
/// keeps serving everyone else.
/// </summary>
public sealed partial class MemoryLimitTests(MemoryLimitTests.SmallMemoryServer fixture) : IClassFixture<MemoryLimitTests.SmallMemoryServer>
{
    private const int Mib = 1024 * 1024;
    private const int ValueBytes = 100_000;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public void Mset_OverMaxRequestMb_ErrorClosedCountedAndNothingStored()
    {
        var before = Stat("client_query_buffer_limit_disconnections");
        using var bystander = fixture.Server.ConnectRaw();
        Assert.Equal("+PONG", bystander.CallText("PING"));

        using var raw = fixture.Server.ConnectRaw();
        var (text, closed) = raw.SendAndReadUntilClosed(Mset("memory:over", 30), TimeSpan.FromSeconds(30)); // 3 MB > 2 MiB

        Assert.Equal("-ERR Protocol error: request larger than max-request-mb (2097152 bytes)\r\n", text);
        Assert.True(closed, "the connection stayed open after a request over max-request-mb");
        Assert.Equal(before + 1, Stat("client_query_buffer_limit_disconnections"));
        Assert.Equal("+PONG", bystander.CallText("PING"));
        Assert.Equal("(nil)", bystander.CallText("GET", "memory:over:0"));
        WaitUntil(() => Stat("request_memory_bytes") == 0, "the refused request's buffer to be given back");
    }

    [Fact]
    public async Task TwoRequestsTogetherOverMaxRequestMemoryMb_SecondWaitsForTheFirst_BothServed()
    {
        var waitsBefore = Stat("request_memory_waits");
        using var first = fixture.Server.ConnectRaw();
        using var second = fixture.Server.ConnectRaw();
        var firstRequest = Mset("memory:first", 15); // 1.5 MB: its buffer grows to 2 MiB
        var secondRequest = Mset("memory:second", 12); // 1.2 MB: 2 MiB too, and 4 MiB together are over the 3 MiB budget

        // The first request arrives all but its last bytes and holds its buffer.
        first.Send(firstRequest.AsSpan(0, firstRequest.Length - 10));
        WaitUntil(() => Stat("request_memory_bytes") >= (3 * Mib) / 2, "the first request to be buffered");

        var sending = Task.Run(() => second.Send(secondRequest), TestContext.Current.CancellationToken);
        WaitUntil(() => Stat("request_memory_waits") > waitsBefore, "the second request to wait for the budget");
        Assert.Equal(0, second.Available);

        first.Send(firstRequest.AsSpan(firstRequest.Length - 10));
        Assert.Equal("+OK", RawClient.Describe(first.Read()));
        Assert.Equal("+OK", RawClient.Describe(second.Read()));
        await sending.WaitAsync(Deadline, TestContext.Current.CancellationToken);
        Assert.Equal(ValueBytes, ((byte[])first.Call("GET", "memory:second:11")!).Length);
        Assert.Equal(ValueBytes, ((byte[])second.Call("GET", "memory:first:14")!).Length);
        WaitUntil(() => Stat("request_memory_bytes") == 0, "both buffers to be given back");
    }

    [Fact]
    public void ClientThatDoesNotRead_DisconnectedLoggedAndCounted_OthersServed()
    {
        var before = Stat("client_output_buffer_limit_disconnections");
        using var other = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", other.CallText("SET", "memory:big", new byte[ValueBytes]));

        using var slow = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 64 * 1024 };
        slow.Connect(fixture.Server.EndPoint);
        var gets = new List<byte>();
        for (var i = 0; i < 500; i++)
        {
            gets.AddRange(RawClient.Encode("GET", "memory:big")); // 50 MB of replies, never read
        }

        slow.Send(gets.ToArray());

        WaitUntil(() => Stat("client_output_buffer_limit_disconnections") == before + 1, "the client that does not read to be disconnected");
        Assert.Equal(ValueBytes, ((byte[])other.Call("GET", "memory:big")!).Length);
        WaitUntil(() => DisconnectLogged().IsMatch(fixture.Server.Log), "the disconnect to be logged"); // logged just after it is counted
        Assert.True(Stat("client_recent_max_output_buffer") <= 2 * Mib, "the reply buffer grew past max-reply-buffer-mb");
        Assert.True(ReadsToEnd(slow), "the disconnected client's socket did not end");
    }

    [Fact]
    public void Info_ReportsTheLimitsInBytes()
    {
        Assert.Equal(2 * Mib, Stat("client_query_buffer_limit"));
        Assert.Equal(3 * Mib, Stat("request_memory_limit"));
        Assert.Equal(2 * Mib, Stat("client_output_buffer_limit"));
    }

    /// <summary>MSET of <paramref name="pairs"/> keys prefix:i, each with a 100,000-byte value.</summary>
    private static byte[] Mset(string prefix, int pairs)
    {
        var arguments = new List<object> { "MSET" };
        for (var i = 0; i < pairs; i++)
        {
            arguments.Add($"{prefix}:{i}");
            arguments.Add(new byte[ValueBytes]);
        }

        return RawClient.Encode([.. arguments]);
    }

    private long Stat(string name)
    {
        using var raw = fixture.Server.ConnectRaw();
        var info = System.Text.Encoding.UTF8.GetString((byte[])raw.Call("INFO")!);
        foreach (var line in info.Split("\r\n"))
        {
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(name.Length + 1), CultureInfo.InvariantCulture);
            }
        }

        Assert.Fail($"INFO has no {name}");
        return 0;
    }

    private static void WaitUntil(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Deadline, $"timed out after {Deadline} waiting for {what}");
            Thread.Sleep(20);
        }
    }

    /// <summary>Reads what the socket still holds; true once it ends (EOF or reset) within the deadline.</summary>
    private static bool ReadsToEnd(Socket socket)
    {
        socket.ReceiveTimeout = (int)Deadline.TotalMilliseconds;
        var buffer = new byte[1 << 20];
        try
        {
            while (socket.Receive(buffer) > 0)
            {
            }

            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
        {
            return false;
        }
    }

    [GeneratedRegex(@"client id=\d+ addr=127\.0\.0\.1:\d+ disconnected: it did not read its replies")]
    private static partial Regex DisconnectLogged();

    public sealed class SmallMemoryServer : ServerFixture
    {
        public SmallMemoryServer()
            : base(["--max-value-bytes", "100000", "--max-request-mb", "2", "--max-request-memory-mb", "3", "--max-reply-buffer-mb", "2"])
        {
        }
    }
}
