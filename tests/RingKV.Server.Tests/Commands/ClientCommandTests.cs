using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using RingKV.Server.Tests.Support;
using RingKV.Testing.Processes;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>CLIENT KILL, PAUSE, UNPAUSE and NO-EVICT over raw connections to a real server (this class's own: a pause stalls no other class).</summary>
public sealed class ClientCommandTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly ServerFixture _fixture = fixture;

    private static string Id(RawClient c) => c.CallText("CLIENT", "ID")[1..];

    /// <summary>The address the server sees for connection <paramref name="id"/>, from CLIENT LIST.</summary>
    private static string AddressOf(RawClient asker, string id)
    {
        var list = asker.CallText("CLIENT", "LIST", "ID", id);
        return list.Split(' ').Single(f => f.StartsWith("addr=", StringComparison.Ordinal))["addr=".Length..];
    }

    [Fact]
    public void Kill_ById_ClosesThatConnectionOnly()
    {
        using var killer = _fixture.Server.ConnectRaw();
        using var victim = _fixture.Server.ConnectRaw();
        Assert.Equal(":1", killer.CallText("CLIENT", "KILL", "ID", Id(victim)));
        Assert.True(victim.ReadUntilClosed(TimeSpan.FromSeconds(10)).Closed, "the killed connection stayed open");
        Assert.Equal("+PONG", killer.CallText("PING"));
        Assert.Equal(":0", killer.CallText("CLIENT", "KILL", "ID", "999999999"));
    }

    [Fact]
    public void Kill_ByAddressOldAndNewForm_AndNoSuchClient()
    {
        using var killer = _fixture.Server.ConnectRaw();
        using var first = _fixture.Server.ConnectRaw();
        using var second = _fixture.Server.ConnectRaw();
        Assert.Equal("+OK", killer.CallText("CLIENT", "KILL", AddressOf(killer, Id(first))));
        Assert.True(first.ReadUntilClosed(TimeSpan.FromSeconds(10)).Closed);
        Assert.Equal(":1", killer.CallText("CLIENT", "KILL", "ADDR", AddressOf(killer, Id(second)), "SKIPME", "yes"));
        Assert.True(second.ReadUntilClosed(TimeSpan.FromSeconds(10)).Closed);
        Assert.Equal("-ERR No such client", killer.CallText("CLIENT", "KILL", "127.0.0.1:1"));
        Assert.Equal("-ERR syntax error", killer.CallText("CLIENT", "KILL", "ID", "1", "SKIPME"));
        Assert.Equal("-ERR client-id should be greater than 0", killer.CallText("CLIENT", "KILL", "ID", "x"));
        Assert.Equal(":0", killer.CallText("CLIENT", "KILL", "TYPE", "master"));
    }

    [Fact]
    public void Kill_SkipMeNo_AnswersThenClosesItsOwnConnection()
    {
        using var self = _fixture.Server.ConnectRaw();
        Assert.Equal(":1", self.CallText("CLIENT", "KILL", "ID", Id(self), "SKIPME", "no"));
        Assert.True(self.ReadUntilClosed(TimeSpan.FromSeconds(10)).Closed, "CLIENT KILL of itself left the connection open");
    }

    [Fact]
    public void Pause_Write_HoldsWritesUntilUnpause_ReadsRun()
    {
        using var admin = _fixture.Server.ConnectRaw();
        using var client = _fixture.Server.ConnectRaw();
        client.CallText("SET", "pause:k", "before");
        try
        {
            Assert.Equal("+OK", admin.CallText("CLIENT", "PAUSE", "100000", "WRITE"));
            Assert.Equal("before", client.CallText("GET", "pause:k")); // reads are not paused
            client.Send(RawClient.Encode("SET", "pause:k", "after"));
            Thread.Sleep(500);
            Assert.Equal(0, client.Available); // the write waits
            Assert.Equal("+OK", admin.CallText("CLIENT", "UNPAUSE"));
            Assert.Equal("+OK", RawClient.Describe(client.Read()));
            Assert.Equal("after", client.CallText("GET", "pause:k"));
        }
        finally
        {
            admin.CallText("CLIENT", "UNPAUSE");
        }
    }

    [Fact]
    public void Pause_All_HoldsEveryCommandUntilTheTimeout()
    {
        using var admin = _fixture.Server.ConnectRaw();
        using var client = _fixture.Server.ConnectRaw();
        try
        {
            var watch = Stopwatch.StartNew();
            Assert.Equal("+OK", admin.CallText("CLIENT", "PAUSE", "800"));
            Assert.Equal("+PONG", client.CallText("PING"));
            Assert.True(watch.ElapsedMilliseconds >= 700, $"PING answered {watch.ElapsedMilliseconds} ms into an 800 ms pause");
            Assert.Equal("+PONG", client.CallText("PING")); // the pause is over
        }
        finally
        {
            admin.CallText("CLIENT", "UNPAUSE");
        }
    }

    [Fact]
    public void PauseAndNoEvict_BadArguments_AreErrors()
    {
        using var c = _fixture.Server.ConnectRaw();
        Assert.Equal("-ERR timeout is not an integer or out of range", c.CallText("CLIENT", "PAUSE", "x"));
        Assert.Equal("-ERR timeout is negative", c.CallText("CLIENT", "PAUSE", "-1"));
        Assert.Equal("-ERR CLIENT PAUSE mode must be WRITE or ALL", c.CallText("CLIENT", "PAUSE", "10", "READS"));
        Assert.Equal("+OK", c.CallText("CLIENT", "NO-EVICT", "on"));
        Assert.Equal("-ERR syntax error", c.CallText("CLIENT", "NO-EVICT", "maybe"));
    }
}
