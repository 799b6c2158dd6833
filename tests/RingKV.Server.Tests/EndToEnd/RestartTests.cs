using System;
using System.Threading.Tasks;
using RingKV.Testing.Processes;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.EndToEnd;

/// <summary>Kill -9 and SIGTERM of a real server, then a restart on the same data directory.</summary>
[Trait("Category", "System")]
public sealed class RestartTests
{
    [Fact]
    public async Task Server_KilledAfterAcknowledgedWrites_KeepsEveryKey()
    {
        const int Count = 2000;
        using var server = new ServerProcess("--sync", "always");
        var db = server.Connect().GetDatabase();
        for (var i = 0; i < Count; i++)
        {
            Assert.True(await db.StringSetAsync($"restart:{i}", $"value-{i}"));
        }

        await db.ExecuteAsync("KV.PUT", "restart:siblings", "a");
        await db.ExecuteAsync("KV.PUT", "restart:siblings", "b");
        await db.StringSetAsync("restart:ttl", "v", TimeSpan.FromHours(1));
        await db.StringSetAsync("restart:deleted", "v");
        Assert.True(await db.KeyDeleteAsync("restart:deleted"));

        server.Kill();
        server.Restart();

        var after = server.Connect().GetDatabase();
        var keys = new RedisKey[Count];
        for (var i = 0; i < Count; i++)
        {
            keys[i] = $"restart:{i}";
        }

        var values = await after.StringGetAsync(keys);
        for (var i = 0; i < Count; i++)
        {
            Assert.True($"value-{i}" == (string?)values[i], $"restart:{i} is '{values[i]}' after kill -9 and restart");
        }

        var siblings = (RedisResult[])((RedisResult[])(await after.ExecuteAsync("KV.GET", "restart:siblings"))!)[1]!;
        Assert.Equal(2, siblings.Length);
        Assert.InRange((long)await after.ExecuteAsync("TTL", "restart:ttl"), 3000, 3600);
        Assert.False(await after.KeyExistsAsync("restart:deleted"));
        Assert.Equal(Count + 2L, (long)await after.ExecuteAsync("DBSIZE"));
    }

    [Fact]
    public void Server_RestartedAfterKill_LogsWhatRecoveryDid()
    {
        using var server = new ServerProcess("--sync", "always");
        Assert.Contains("recovery: replayed 0 commit-log records (0 operations, 0 bytes)", server.Log, StringComparison.Ordinal);
        using (var raw = server.ConnectRaw())
        {
            for (var i = 0; i < 50; i++)
            {
                Assert.Equal("+OK", raw.CallText("SET", $"recovery:{i}", "v")); // one commit-log record each
            }
        }

        server.Kill();
        server.Restart();
        Assert.Matches(@"recovery: replayed 50 commit-log records \(50 operations, [1-9][0-9]* bytes\) from [1-9][0-9]* segments into 1 new tables, opened 0 tables, in [0-9]+ ms", server.Log);

        Assert.Equal(0, server.StopGracefully());
        server.Restart();
        Assert.Matches(@"recovery: replayed 0 commit-log records \(0 operations, 0 bytes\) from [0-9]+ segments into 0 new tables, opened [1-9][0-9]* tables, in [0-9]+ ms", server.Log);
    }

    [Fact]
    public async Task Server_Sigterm_ExitsZeroAndKeepsData()
    {
        // --sync none: only the graceful shutdown's log sync makes these writes durable.
        using var server = new ServerProcess("--sync", "none");
        var db = server.Connect().GetDatabase();
        for (var i = 0; i < 500; i++)
        {
            db.StringSet($"term:{i}", $"v{i}", flags: CommandFlags.FireAndForget);
        }

        Assert.Equal("v499", (string?)await db.StringGetAsync("term:499"));

        // A client connected while the server stops.
        using var idle = server.ConnectRaw();
        Assert.Equal("+PONG", idle.CallText("PING"));

        Assert.Equal(0, server.StopGracefully());
        Assert.Contains("stopped; commit log synced", server.Log, StringComparison.Ordinal);
        Assert.True(idle.ReadUntilClosed(TimeSpan.FromSeconds(10)).Closed, "a connected client was not disconnected by the shutdown");

        server.Restart();
        var after = server.Connect().GetDatabase();
        for (var i = 0; i < 500; i++)
        {
            Assert.Equal($"v{i}", (string?)await after.StringGetAsync($"term:{i}"));
        }
    }

    [Fact]
    public async Task Shutdown_Command_StopsAsSigtermDoesAndKeepsData()
    {
        // --sync none: only the graceful shutdown's log sync makes these writes durable.
        using var server = new ServerProcess("--sync", "none");
        var db = server.Connect().GetDatabase();
        for (var i = 0; i < 300; i++)
        {
            db.StringSet($"shut:{i}", $"v{i}", flags: CommandFlags.FireAndForget);
        }

        Assert.Equal("v299", (string?)await db.StringGetAsync("shut:299"));
        using var raw = server.ConnectRaw();
        Assert.Equal("-ERR syntax error", raw.CallText("SHUTDOWN", "SAVE", "NOSAVE"));
        Assert.Equal("-ERR syntax error", raw.CallText("SHUTDOWN", "LATER"));
        Assert.Equal("-ERR No shutdown in progress.", raw.CallText("SHUTDOWN", "ABORT"));
        Assert.Equal("+PONG", raw.CallText("PING")); // none of those stopped it

        raw.Send(RawClient.Encode("SHUTDOWN", "NOSAVE"));
        var (text, closed) = raw.ReadUntilClosed(TimeSpan.FromSeconds(20));
        Assert.True(closed, "SHUTDOWN did not close the connection");
        Assert.Equal("", text); // no reply, as in Redis
        Assert.Equal(0, server.WaitForExit());
        Assert.Contains("stopped; commit log synced", server.Log, StringComparison.Ordinal);

        server.Restart();
        var after = server.Connect().GetDatabase();
        for (var i = 0; i < 300; i++)
        {
            Assert.Equal($"v{i}", (string?)await after.StringGetAsync($"shut:{i}"));
        }
    }
}
