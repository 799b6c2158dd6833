using System;
using System.Collections.Generic;
using System.Linq;
using RingKV.Server.Tests.Support;
using RingKV.Testing.Processes;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>Key-space, introspection and connection commands against a real server.</summary>
/// <remarks>
/// Commands that change the connection's own state (SELECT, CLIENT SETNAME, HELLO, RESET, QUIT) go over a raw
/// socket: on StackExchange.Redis' shared connection they would change it under the library's feet.
/// </remarks>
public sealed class ServerCommandTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly IDatabase _db = fixture.Db;
    private readonly IServer _admin = fixture.Admin;

    [Fact]
    public async System.Threading.Tasks.Task Scan_MoreKeysThanAPage_ReturnsEveryKeyAndMatchFilters()
    {
        const int Count = 2500;
        var expected = new HashSet<string>(StringComparer.Ordinal);
        var batch = _db.CreateBatch();
        var writes = new List<System.Threading.Tasks.Task>();
        for (var i = 0; i < Count; i++)
        {
            var key = $"scan:{i}";
            expected.Add(key);
            writes.Add(batch.StringSetAsync(key, i));
        }

        batch.Execute();
        await System.Threading.Tasks.Task.WhenAll(writes);

        // The library's SCAN loop, 100 per page.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in _admin.Keys(pattern: "scan:*", pageSize: 100))
        {
            seen.Add(key!);
        }

        Assert.Equal(Count, seen.Count);
        Assert.Subset(expected, seen);

        // A raw SCAN loop: a key may come twice in Redis, but here every one must come at least once, and the cursor ends at 0.
        var raw = new HashSet<string>(StringComparer.Ordinal);
        var pages = 0;
        var cursor = "0";
        do
        {
            var reply = (RedisResult[])_db.Execute("SCAN", cursor, "MATCH", "scan:1*", "COUNT", 100)!;
            cursor = (string)reply[0]!;
            foreach (var key in (string[])reply[1]!)
            {
                Assert.StartsWith("scan:1", key, StringComparison.Ordinal);
                raw.Add(key);
            }

            pages++;
            Assert.True(pages < 10_000, "SCAN never returned cursor 0");
        }
        while (cursor != "0");

        var expectedMatches = expected.Where(k => k.StartsWith("scan:1", StringComparison.Ordinal)).ToHashSet();
        Assert.Equal(expectedMatches.Count, raw.Count);
        Assert.Subset(expectedMatches, raw);
        Assert.True(pages > 1, "2500 keys with COUNT 100 fit in one page");

        // MATCH with a character class and '?': scan:1?? is 100..199 (and 10..19 is not, it has one digit less).
        var narrow = _admin.Keys(pattern: "scan:1[0-9]?", pageSize: 250).Select(k => (string)k!).ToHashSet();
        Assert.Equal(100, narrow.Count);
        Assert.Contains("scan:150", narrow);
        Assert.DoesNotContain("scan:15", narrow);
    }

    [Fact]
    public void Scan_BadCursor_Error()
    {
        var e = Assert.Throws<RedisServerException>(() => _db.Execute("SCAN", "not-a-number"));
        Assert.Contains("invalid cursor", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DbSize_AfterWritesAndDeletes_Counts()
    {
        var before = (long)_db.Execute("DBSIZE");
        for (var i = 0; i < 5; i++)
        {
            _db.StringSet($"dbsize:{i}", "v");
        }

        Assert.Equal(before + 5, (long)_db.Execute("DBSIZE"));
        Assert.Equal(before + 5, _admin.DatabaseSize());
        _db.KeyDelete(["dbsize:0", "dbsize:1"]);
        Assert.Equal(before + 3, (long)_db.Execute("DBSIZE"));
    }

    [Fact]
    public void Info_All_HasEverySection()
    {
        _db.StringSet("info:key", "v");
        _db.StringSet("info:expiring", "v", TimeSpan.FromSeconds(1000));
        var text = (string)_db.Execute("INFO")!;
        foreach (var section in new[] { "# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Keyspace" })
        {
            Assert.Contains(section + "\r\n", text, StringComparison.Ordinal);
        }

        Assert.Contains("redis_version:", text, StringComparison.Ordinal);
        Assert.Contains($"tcp_port:{fixture.Server.Port}\r\n", text, StringComparison.Ordinal);
        Assert.Contains("connected_clients:", text, StringComparison.Ordinal);
        Assert.Matches(@"db0:keys=[1-9][0-9]*,expires=[1-9][0-9]*,avg_ttl=[1-9][0-9]*\r\n", text);
        Assert.Matches(@"gc_gen0_collections:[0-9]+\r\n", text);
        Assert.Matches(@"gc_pause_total_ms:[0-9]+\r\n", text);

        var server = (string)_db.Execute("INFO", "server")!;
        Assert.Contains("# Server", server, StringComparison.Ordinal);
        Assert.DoesNotContain("# Stats", server, StringComparison.Ordinal);

        // The library's own parse of INFO.
        var groups = _admin.Info();
        Assert.Contains(groups, g => g.Key == "Persistence");
    }

    [Fact]
    public void Client_SetNameGetNameIdList_Consistent()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("(nil)", raw.CallText("CLIENT", "GETNAME"));
        Assert.Equal("+OK", raw.CallText("CLIENT", "SETNAME", "tester-1"));
        Assert.Equal("tester-1", raw.CallText("CLIENT", "GETNAME"));
        var id = Assert.IsType<long>(raw.Call("CLIENT", "ID"));
        Assert.True(id > 0);

        var list = raw.CallText("CLIENT", "LIST");
        var line = list.Split('\n').SingleOrDefault(l => l.StartsWith($"id={id} ", StringComparison.Ordinal));
        Assert.True(line is not null, $"CLIENT LIST has no line for id {id}: {list}");
        Assert.Contains(" name=tester-1 ", line, StringComparison.Ordinal);
        Assert.Contains($" laddr={fixture.Server.EndPoint} ", line, StringComparison.Ordinal);

        Assert.Contains(" cmd=client ", line, StringComparison.Ordinal);

        // Another connection's last command, and how long it has been idle.
        using var other = fixture.Server.ConnectRaw();
        Assert.Equal("hi", other.CallText("ECHO", "hi"));
        var otherId = Assert.IsType<long>(other.Call("CLIENT", "ID"));
        Assert.Equal("hi", other.CallText("ECHO", "hi"));
        System.Threading.Thread.Sleep(1100);
        var otherLine = raw.CallText("CLIENT", "LIST").Split('\n').Single(l => l.StartsWith($"id={otherId} ", StringComparison.Ordinal));
        Assert.Contains(" cmd=echo ", otherLine, StringComparison.Ordinal);
        Assert.Matches(" idle=[1-9][0-9]* ", otherLine);

        Assert.StartsWith("-ERR", raw.CallText("CLIENT", "SETNAME", "has space"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR unknown subcommand", raw.CallText("CLIENT", "NOSUCH"), StringComparison.Ordinal);
    }

    [Fact]
    public void ConfigGet_KnownAndPattern_ReturnsPairs()
    {
        var maxClients = _admin.ConfigGet("maxclients");
        Assert.Equal("10000", Assert.Single(maxClients).Value);
        var databases = (RedisResult[])_db.Execute("CONFIG", "GET", "databases")!;
        Assert.Equal(["databases", "1"], databases.Select(r => (string)r!).ToArray());
        Assert.Contains(_admin.ConfigGet("max*"), p => p.Key == "maxmemory");
        Assert.Empty(_admin.ConfigGet("no-such-setting"));
        Assert.Throws<RedisServerException>(() => _db.Execute("CONFIG", "SET", "maxclients", "5"));
    }

    [Fact]
    public void CommandCount_Positive_MatchesCommandList()
    {
        var count = (long)_db.Execute("COMMAND", "COUNT");
        Assert.True(count >= 30, $"COMMAND COUNT {count}");
        var all = (RedisResult[])_db.Execute("COMMAND")!;
        Assert.Equal(count, all.Length);
        var info = (RedisResult[])_db.Execute("COMMAND", "INFO", "get", "no-such-command")!;
        Assert.Equal("get", (string)((RedisResult[])info[0]!)[0]!);
        Assert.True(info[1].IsNull);
    }

    [Fact]
    public void CommandList_AllAndFiltered_FromTheOneTable()
    {
        var count = (long)_db.Execute("COMMAND", "COUNT");
        var all = ((RedisResult[])_db.Execute("COMMAND", "LIST")!).Select(r => (string)r!).ToArray();
        Assert.Equal(count, all.Length);
        Assert.Contains("lcs", all);
        Assert.Equal(["getbit", "getdel", "getex", "getrange", "getset"], ((RedisResult[])_db.Execute("COMMAND", "LIST", "FILTERBY", "PATTERN", "GET?*")!).Select(r => (string)r!).Order(StringComparer.Ordinal));
        Assert.Empty((RedisResult[])_db.Execute("COMMAND", "LIST", "FILTERBY", "MODULE", "json")!);
        var writes = ((RedisResult[])_db.Execute("COMMAND", "LIST", "FILTERBY", "ACLCAT", "write")!).Select(r => (string)r!).ToArray();
        Assert.Contains("set", writes);
        Assert.DoesNotContain("get", writes);
        Assert.Equal("ERR syntax error", Assert.Throws<RedisServerException>(() => _db.Execute("COMMAND", "LIST", "FILTERBY", "COLOR", "x")).Message);
    }

    [Fact]
    public void CommandGetKeys_KeyPositionsOfTheTable_ErrorsAsRedis()
    {
        string[] Keys(params object[] args) => ((RedisResult[])_db.Execute("COMMAND", ["GETKEYS", .. args])!).Select(r => (string)r!).ToArray();
        Assert.Equal(["a"], Keys("SET", "a", "1", "EX", "10"));
        Assert.Equal(["a", "b"], Keys("MSET", "a", "1", "b", "2"));
        Assert.Equal(["x", "y", "z"], Keys("DEL", "x", "y", "z"));
        Assert.Equal(["k1", "k2"], Keys("LCS", "k1", "k2", "IDX"));
        Assert.Equal(["k"], Keys("OBJECT", "ENCODING", "k"));
        string Error(params object[] args) => Assert.Throws<RedisServerException>(() => _db.Execute("COMMAND", ["GETKEYS", .. args])).Message;
        Assert.Equal("ERR Invalid command specified", Error("NOSUCH", "a"));
        Assert.Equal("ERR Invalid number of arguments specified for command", Error("GET", "a", "b"));
        Assert.Equal("ERR The command has no key arguments", Error("PING", "x"));
    }

    [Theory]
    [InlineData("INCR DECR INCRBY DECRBY INCRBYFLOAT APPEND STRLEN GETRANGE SUBSTR SETRANGE GETSET LCS SETBIT GETBIT BITCOUNT")]
    [InlineData("KEYS RENAME RENAMENX COPY TOUCH RANDOMKEY EXPIRETIME PEXPIRETIME OBJECT MEMORY")]
    [InlineData("MULTI EXEC DISCARD WATCH UNWATCH TIME")]
    public void Commands_UsersReachFor_AreKnown(string names)
    {
        // Issue 14 found these answering "ERR unknown command".
        var info = (RedisResult[])_db.Execute("COMMAND", ["INFO", .. names.Split(' ')])!;
        Assert.All(info, (entry, i) => Assert.False(entry.IsNull, names.Split(' ')[i] + " is not in COMMAND INFO"));
    }

    [Fact]
    public void Select_ZeroAndOne_OkAndError()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("SELECT", "0"));
        Assert.Equal("-ERR DB index is out of range", raw.CallText("SELECT", "1"));
        Assert.StartsWith("-ERR value is not an integer", raw.CallText("SELECT", "x"), StringComparison.Ordinal);
        Assert.Equal("+PONG", raw.CallText("PING"));
    }

    [Fact]
    public void Hello3_RawSocket_MapReplyAndResp3Nulls()
    {
        using var raw = fixture.Server.ConnectRaw();
        raw.Send(RawClient.Encode("HELLO", "3"));
        var reply = Assert.IsType<object?[]>(raw.Read());
        var map = new Dictionary<string, object?>();
        for (var i = 0; i < reply.Length; i += 2)
        {
            map[RawClient.Describe(reply[i])] = reply[i + 1];
        }

        Assert.Equal(3L, map["proto"]);
        Assert.Equal("redis", RawClient.Describe(map["server"]));
        Assert.IsType<long>(map["id"]);

        // RESP3 null is "_", not "$-1".
        raw.Send(RawClient.Encode("GET", "hello:missing"));
        Assert.Equal("_\r\n", raw.ReadRawLine());
        Assert.StartsWith("NOPROTO", Assert.IsType<RespError>(raw.Call("HELLO", "4")).Message, StringComparison.Ordinal);

        // Back to RESP2.
        Assert.Equal(2L, ((object?[])raw.Call("HELLO", "2")!)[5]);
        raw.Send(RawClient.Encode("GET", "hello:missing"));
        Assert.Equal("$-1\r\n", raw.ReadRawLine());
    }

    [Fact]
    public void Reset_AfterHelloAndName_RestoresDefaults()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("CLIENT", "SETNAME", "before-reset"));
        Assert.IsType<object?[]>(raw.Call("HELLO", "3"));
        Assert.Equal("+RESET", raw.CallText("RESET"));
        raw.Send(RawClient.Encode("CLIENT", "GETNAME"));
        Assert.Equal("$-1\r\n", raw.ReadRawLine()); // RESP2 again, and no name
    }

    [Fact]
    public void Quit_Raw_OkThenClosed()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("QUIT"));
        var (text, closed) = raw.ReadUntilClosed(TimeSpan.FromSeconds(10));
        Assert.True(closed, "the server kept the connection open after QUIT");
        Assert.Equal("", text);
    }

    [Fact]
    public void FlushAll_Default_Refused()
    {
        _db.StringSet("flush:kept", "v");
        var e = Assert.Throws<RedisServerException>(() => _db.Execute("FLUSHALL"));
        Assert.StartsWith("ERR", e.Message, StringComparison.Ordinal);
        Assert.Contains("disabled", e.Message, StringComparison.Ordinal);
        Assert.Throws<RedisServerException>(() => _db.Execute("FLUSHDB"));
        Assert.Equal("v", (string?)_db.StringGet("flush:kept"));
    }

    [Fact]
    public void UnknownCommand_Any_ErrUnknownCommand()
    {
        var e = Assert.Throws<RedisServerException>(() => _db.Execute("NOSUCHCOMMAND", "a1", "b2"));
        Assert.StartsWith("ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'a1' 'b2'", e.Message, StringComparison.Ordinal);
        Assert.Equal("PONG", (string?)_db.Execute("PING"));
    }

    [Fact]
    public void InlineCommands_TypedByHand_Work()
    {
        using var raw = fixture.Server.ConnectRaw();
        raw.Send("PING\r\n");
        Assert.Equal("+PONG", RawClient.Describe(raw.Read()));
        raw.Send("SET inline:a b\r\n");
        Assert.Equal("+OK", RawClient.Describe(raw.Read()));
        raw.Send("GET inline:a\r\n");
        Assert.Equal("b", RawClient.Describe(raw.Read()));

        // A bare LF ends a line too, and quotes group words, as redis-cli and telnet users type them.
        raw.Send("SET inline:q \"two words\"\n");
        Assert.Equal("+OK", RawClient.Describe(raw.Read()));
        Assert.Equal("two words", (string?)_db.StringGet("inline:q"));
    }
}
