using System;
using System.Collections.Generic;
using System.Linq;
using RingKV.Server.Tests.Support;
using RingKV.Testing.Processes;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>
/// KEYS, RANDOMKEY, RENAME, RENAMENX, COPY, OBJECT and MEMORY USAGE, on a single node and through a 3-node cluster
/// (written through node 0, read through node 2). Replies and errors are redis-server 7.0's for the same commands,
/// checked side by side, except COPY ... DB n for n other than 0 (RingKV has one database).
/// </summary>
public abstract class KeySpaceCases : CommandCases
{
    private static string[] Strings(RedisResult r) => ((RedisResult[])r!).Select(x => (string)x!).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void Keys_WholeKeyspace_MatchesThePattern()
    {
        var written = Enumerable.Range(0, 60).Select(i => $"ks:{i}").ToArray();
        foreach (var key in written)
        {
            W("SET", key, "v");
        }

        W("SET", "ks:x-with-ttl", "v", "PX", 1);
        System.Threading.Thread.Sleep(20);
        Assert.Equal(written.Order(StringComparer.Ordinal), Strings(R("KEYS", "ks:[0-9]*")));
        Assert.Equal(["ks:1", "ks:10", "ks:11", "ks:12", "ks:13", "ks:14", "ks:15", "ks:16", "ks:17", "ks:18", "ks:19"], Strings(R("KEYS", "ks:1*")));
        Assert.Empty(Strings(R("KEYS", "ks:x*"))); // expired
        Assert.Empty(Strings(R("KEYS", "ks-none:*")));
    }

    [Fact]
    public void RandomKey_AnswersLiveKeys_NotAlwaysTheSame()
    {
        W("SET", "rk:probe", "v");
        var seen = new HashSet<string>();
        for (var i = 0; i < 100; i++)
        {
            var key = (string?)R("RANDOMKEY");
            Assert.NotNull(key);
            Assert.Equal(1, (long)R("EXISTS", key!));
            seen.Add(key!);
        }

        Assert.True(seen.Count > 1, "100 RANDOMKEYs over many keys answered one key: " + string.Join(",", seen));
    }

    [Fact]
    public void Rename_MovesValueAndTtl_DestinationOverwritten()
    {
        W("SET", "rn:src", "v1", "EX", 1000);
        W("SET", "rn:dst", "old");
        Assert.Equal("OK", (string?)W("RENAME", "rn:src", "rn:dst"));
        Assert.Equal("v1", (string?)R("GET", "rn:dst"));
        Assert.InRange((long)R("TTL", "rn:dst"), 990, 1000);
        Assert.Equal(0, (long)R("EXISTS", "rn:src"));
    }

    [Fact]
    public void Rename_AbsentSourceIsAnError_SameKeyChangesNothing()
    {
        Assert.Equal("ERR no such key", Error(Writer, "RENAME", "rn:absent", "rn:x"));
        Assert.Equal("ERR no such key", Error(Writer, "RENAMENX", "rn:absent", "rn:x"));
        W("SET", "rn:same", "v");
        Assert.Equal("OK", (string?)W("RENAME", "rn:same", "rn:same"));
        Assert.Equal(0, (long)W("RENAMENX", "rn:same", "rn:same"));
        Assert.Equal("v", (string?)R("GET", "rn:same"));
    }

    [Fact]
    public void RenameNx_OnlyOntoAnAbsentKey()
    {
        W("SET", "rnx:src", "v");
        W("SET", "rnx:taken", "t");
        Assert.Equal(0, (long)W("RENAMENX", "rnx:src", "rnx:taken"));
        Assert.Equal("t", (string?)R("GET", "rnx:taken"));
        Assert.Equal("v", (string?)R("GET", "rnx:src"));
        Assert.Equal(1, (long)W("RENAMENX", "rnx:src", "rnx:free"));
        Assert.Equal("v", (string?)R("GET", "rnx:free"));
        Assert.Equal(0, (long)R("EXISTS", "rnx:src"));
    }

    [Fact]
    public void Copy_CopiesValueAndTtl_ReplaceOverwrites()
    {
        W("SET", "cp:src", "v", "EX", 1000);
        W("SET", "cp:taken", "t");
        Assert.Equal(1, (long)W("COPY", "cp:src", "cp:dst"));
        Assert.Equal("v", (string?)R("GET", "cp:dst"));
        Assert.InRange((long)R("TTL", "cp:dst"), 990, 1000);
        Assert.Equal("v", (string?)R("GET", "cp:src"));
        Assert.Equal(0, (long)W("COPY", "cp:src", "cp:taken"));
        Assert.Equal("t", (string?)R("GET", "cp:taken"));
        Assert.Equal(1, (long)W("COPY", "cp:src", "cp:taken", "REPLACE"));
        Assert.Equal("v", (string?)R("GET", "cp:taken"));
        Assert.Equal(0, (long)W("COPY", "cp:absent", "cp:x"));
        Assert.Equal(1, (long)W("COPY", "cp:src", "cp:db0", "DB", 0));
    }

    [Fact]
    public void Copy_BadArguments_AreErrors()
    {
        W("SET", "cpb:src", "v");
        Assert.Equal("ERR source and destination objects are the same", Error(Writer, "COPY", "cpb:src", "cpb:src"));
        Assert.Equal("ERR DB index is out of range", Error(Writer, "COPY", "cpb:src", "cpb:x", "DB", 1));
        Assert.Equal("ERR value is not an integer or out of range", Error(Writer, "COPY", "cpb:src", "cpb:x", "DB", "x"));
        Assert.Equal("ERR syntax error", Error(Writer, "COPY", "cpb:src", "cpb:x", "BAD"));
        Assert.Equal(0, (long)R("EXISTS", "cpb:x"));
    }

    [Theory]
    [InlineData("1", "int")]
    [InlineData("-5", "int")]
    [InlineData("01", "embstr")]
    [InlineData("hello", "embstr")]
    [InlineData("12345678901234567890123", "embstr")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "raw")]
    public void Object_Encoding_AsRedisWouldHoldTheString(string value, string encoding)
    {
        W("SET", "obj:" + value, value);
        Assert.Equal(encoding, (string?)R("OBJECT", "ENCODING", "obj:" + value));
        Assert.Equal(1, (long)R("OBJECT", "REFCOUNT", "obj:" + value));
    }

    [Fact]
    public void Object_AbsentKeyIsNil_UntrackedAndUnknownSubcommandsAreErrors()
    {
        Assert.True(R("OBJECT", "ENCODING", "obj:absent").IsNull);
        W("SET", "obj:k", "v");
        Assert.StartsWith("ERR RingKV does not track access", Error(Reader, "OBJECT", "IDLETIME", "obj:k"), StringComparison.Ordinal);
        Assert.StartsWith("ERR RingKV does not track access", Error(Reader, "OBJECT", "FREQ", "obj:k"), StringComparison.Ordinal);
        Assert.StartsWith("ERR unknown subcommand 'BOGUS'", Error(Reader, "OBJECT", "BOGUS", "obj:k"), StringComparison.Ordinal);
        Assert.Contains("ENCODING <key>", Strings(R("OBJECT", "HELP")));
    }

    [Fact]
    public void MemoryUsage_GrowsWithTheValue_NilForNoKey()
    {
        W("SET", "mem:small", "v");
        W("SET", "mem:big", new string('x', 10_000));
        var small = (long)R("MEMORY", "USAGE", "mem:small");
        var big = (long)R("MEMORY", "USAGE", "mem:big", "SAMPLES", 5);
        Assert.InRange(small, "mem:small".Length + 1, 200);
        Assert.Equal(10_000 - 1, big - small - ("mem:big".Length - "mem:small".Length));
        Assert.True(R("MEMORY", "USAGE", "mem:absent").IsNull);
        Assert.Equal("ERR value is not an integer or out of range", Error(Reader, "MEMORY", "USAGE", "mem:small", "SAMPLES", "x"));
        Assert.Equal("ERR syntax error", Error(Reader, "MEMORY", "USAGE", "mem:small", "BAD"));
    }
}

public sealed class KeySpaceSingleNodeTests(ServerFixture fixture) : KeySpaceCases, IClassFixture<ServerFixture>
{
    protected override IDatabase Writer => fixture.Db;

    protected override IDatabase Reader => fixture.Db;

    [Fact]
    public void RandomKey_EmptyKeyspace_IsNil()
    {
        using var server = new ServerProcess([]);
        using var redis = server.Connect();
        Assert.True(redis.GetDatabase().Execute("RANDOMKEY").IsNull);
        redis.GetDatabase().StringSet("only", "v");
        Assert.Equal("only", (string?)redis.GetDatabase().Execute("RANDOMKEY"));
    }
}

[Collection(ThreeNodeCluster.Collection)]
public sealed class KeySpaceClusterTests(ThreeNodeCluster fixture) : KeySpaceCases
{
    protected override IDatabase Writer => fixture.Writer;

    protected override IDatabase Reader => fixture.Reader;
}
