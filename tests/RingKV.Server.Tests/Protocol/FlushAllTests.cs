using RingKV.Testing.Processes;
using Xunit;

namespace RingKV.Server.Tests.Protocol;

/// <summary>FLUSHALL on a server started with --enable-flushall true.</summary>
public sealed class FlushAllTests
{
    [Fact]
    public void FlushAll_Enabled_EmptiesTheStore()
    {
        using var server = new ServerProcess("--enable-flushall", "true");
        var db = server.Connect().GetDatabase();
        for (var i = 0; i < 1500; i++)
        {
            db.StringSet($"flush:{i}", i, flags: StackExchange.Redis.CommandFlags.FireAndForget);
        }

        db.Execute("KV.PUT", "flush:kv", "a");
        db.Execute("KV.PUT", "flush:kv", "b");
        Assert.Equal(1501L, (long)db.Execute("DBSIZE"));
        Assert.Equal("OK", (string?)db.Execute("FLUSHALL"));
        Assert.Equal(0L, (long)db.Execute("DBSIZE"));
        Assert.True(db.StringGet("flush:7").IsNull);
        Assert.True(db.Execute("KV.GET", "flush:kv").IsNull);

        db.StringSet("flush:after", "v");
        Assert.Equal("OK", (string?)db.Execute("FLUSHDB"));
        Assert.False(db.KeyExists("flush:after"));
    }

    [Fact]
    public void FlushAll_UnknownOption_SyntaxErrorAndFlushesNothing()
    {
        using var server = new ServerProcess("--enable-flushall", "true");
        using var raw = server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("SET", "flush:kept", "v"));
        Assert.Equal("-ERR syntax error", raw.CallText("FLUSHALL", "BOGUS"));
        Assert.Equal("-ERR syntax error", raw.CallText("FLUSHDB", "BOGUS"));
        Assert.Equal("-ERR syntax error", raw.CallText("FLUSHALL", "SYNC", "ASYNC"));
        Assert.Equal(":1", raw.CallText("DBSIZE"));
        Assert.Equal("v", raw.CallText("GET", "flush:kept"));

        Assert.Equal("+OK", raw.CallText("FLUSHALL", "SYNC"));
        Assert.Equal(":0", raw.CallText("DBSIZE"));
    }
}
