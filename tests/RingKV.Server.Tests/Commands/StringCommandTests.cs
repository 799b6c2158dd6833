using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using RingKV.Server.Tests.Support;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>GET/SET and its options, the multi-key commands and expiry commands, through StackExchange.Redis against a real server.</summary>
public sealed class StringCommandTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly IDatabase _db = fixture.Db;

    private static long NowUnixMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    [Fact]
    public void Ping_NoArgument_ReturnsPong()
    {
        Assert.Equal("PONG", (string?)_db.Execute("PING"));
        Assert.True(_db.Ping() < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Echo_Message_ReturnsIt()
    {
        Assert.Equal("hello world", (string?)_db.Execute("ECHO", "hello world"));
    }

    [Fact]
    public void Set_ThenGet_ReturnsValueBytes()
    {
        var value = new byte[] { 0, 1, 2, 13, 10, 255, 0 };
        Assert.True(_db.StringSet("str:binary", value));
        Assert.Equal(value, (byte[]?)_db.StringGet("str:binary"));
        Assert.True(_db.StringGet("str:never-written").IsNull);
    }

    [Fact]
    public void Set_Overwrite_ReturnsLatest()
    {
        _db.StringSet("str:over", "one");
        _db.StringSet("str:over", "two");
        Assert.Equal("two", (string?)_db.StringGet("str:over"));
    }

    [Fact]
    public void SetEx_Seconds_SetsTtl()
    {
        Assert.True(_db.StringSet("str:ex", "v", TimeSpan.FromSeconds(100)));
        var ttl = (long)_db.Execute("TTL", "str:ex");
        Assert.InRange(ttl, 99, 100);
        var pttl = (long)_db.Execute("PTTL", "str:ex");
        Assert.InRange(pttl, 90_000, 100_000);
    }

    [Fact]
    public void SetPx_Milliseconds_SetsTtl()
    {
        Assert.Equal("OK", (string?)_db.Execute("SET", "str:px", "v", "PX", 50_000));
        Assert.InRange((long)_db.Execute("PTTL", "str:px"), 40_000, 50_000);
    }

    [Fact]
    public void SetExAt_UnixSeconds_SetsTtl()
    {
        var at = DateTimeOffset.UtcNow.AddSeconds(200).ToUnixTimeSeconds();
        Assert.Equal("OK", (string?)_db.Execute("SET", "str:exat", "v", "EXAT", at));
        Assert.InRange((long)_db.Execute("TTL", "str:exat"), 195, 201);
    }

    [Fact]
    public void SetPxAt_UnixMilliseconds_SetsTtl()
    {
        var at = NowUnixMs + 300_000;
        Assert.Equal("OK", (string?)_db.Execute("SET", "str:pxat", "v", "PXAT", at));
        Assert.InRange((long)_db.Execute("PTTL", "str:pxat"), 290_000, 300_000);
    }

    [Fact]
    public void SetExAt_InThePast_KeyGone()
    {
        _db.StringSet("str:exat-past", "old");
        // Redis accepts a past EXAT and the key expires at once.
        var reply = _db.Execute("SET", "str:exat-past", "v", "PXAT", NowUnixMs - 10_000);
        Assert.Equal("OK", (string?)reply);
        Assert.True(_db.StringGet("str:exat-past").IsNull);
        Assert.Equal(-2L, (long)_db.Execute("TTL", "str:exat-past"));
    }

    [Fact]
    public void SetEx_ZeroOrNegative_Error()
    {
        var zero = Assert.Throws<RedisServerException>(() => _db.Execute("SET", "str:bad-ex", "v", "EX", 0));
        Assert.Contains("invalid expire time", zero.Message, StringComparison.Ordinal);
        var negative = Assert.Throws<RedisServerException>(() => _db.Execute("SET", "str:bad-ex", "v", "PX", -5));
        Assert.Contains("invalid expire time", negative.Message, StringComparison.Ordinal);
        var text = Assert.Throws<RedisServerException>(() => _db.Execute("SET", "str:bad-ex", "v", "EX", "soon"));
        Assert.Contains("not an integer", text.Message, StringComparison.Ordinal);
        Assert.True(_db.StringGet("str:bad-ex").IsNull);
    }

    [Fact]
    public void SetNx_ExistingKey_NotWritten()
    {
        Assert.True(_db.StringSet("str:nx", "first", when: When.NotExists));
        Assert.False(_db.StringSet("str:nx", "second", when: When.NotExists));
        Assert.Equal("first", (string?)_db.StringGet("str:nx"));
    }

    [Fact]
    public void SetXx_MissingKey_NotWritten()
    {
        Assert.False(_db.StringSet("str:xx", "v", when: When.Exists));
        Assert.True(_db.StringGet("str:xx").IsNull);
        _db.StringSet("str:xx", "a");
        Assert.True(_db.StringSet("str:xx", "b", when: When.Exists));
        Assert.Equal("b", (string?)_db.StringGet("str:xx"));
    }

    [Fact]
    public void SetNxXx_Together_SyntaxError()
    {
        var e = Assert.Throws<RedisServerException>(() => _db.Execute("SET", "str:nxxx", "v", "NX", "XX"));
        Assert.Contains("syntax error", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SetGet_ExistingKey_ReturnsOldValue()
    {
        Assert.True(_db.StringSetAndGet("str:get", "one").IsNull);
        Assert.Equal("one", (string?)_db.StringSetAndGet("str:get", "two"));
        Assert.Equal("two", (string?)_db.StringGet("str:get"));
    }

    [Fact]
    public void SetKeepTtl_ExistingExpiry_Kept()
    {
        _db.StringSet("str:keepttl", "a", TimeSpan.FromSeconds(500));
        Assert.Equal("OK", (string?)_db.Execute("SET", "str:keepttl", "b", "KEEPTTL"));
        Assert.Equal("b", (string?)_db.StringGet("str:keepttl"));
        Assert.InRange((long)_db.Execute("TTL", "str:keepttl"), 490, 500);

        // Without KEEPTTL a plain SET clears the expiry, as in Redis.
        _db.StringSet("str:keepttl", "c");
        Assert.Equal(-1L, (long)_db.Execute("TTL", "str:keepttl"));
    }

    [Fact]
    public void GetDel_ExistingKey_ReturnsAndDeletes()
    {
        _db.StringSet("str:getdel", "v");
        Assert.Equal("v", (string?)_db.StringGetDelete("str:getdel"));
        Assert.False(_db.KeyExists("str:getdel"));
        Assert.True(_db.StringGetDelete("str:getdel").IsNull);
    }

    [Fact]
    public void GetEx_ExThenPersist_ChangesTtl()
    {
        _db.StringSet("str:getex", "v");
        Assert.Equal("v", (string?)_db.StringGetSetExpiry("str:getex", TimeSpan.FromSeconds(100)));
        Assert.InRange((long)_db.Execute("TTL", "str:getex"), 99, 100);
        Assert.Equal("v", (string?)_db.Execute("GETEX", "str:getex", "PERSIST"));
        Assert.Equal(-1L, (long)_db.Execute("TTL", "str:getex"));
        Assert.Equal("v", (string?)_db.Execute("GETEX", "str:getex"));
        Assert.True(_db.Execute("GETEX", "str:getex-missing", "EX", 10).IsNull);
    }

    [Fact]
    public void Del_SomeKeysExist_CountsDeleted()
    {
        _db.StringSet("str:del1", "a");
        _db.StringSet("str:del2", "b");
        Assert.Equal(2L, _db.KeyDelete(["str:del1", "str:del2", "str:del-missing"]));
        Assert.False(_db.KeyExists("str:del1"));
        Assert.False(_db.KeyDelete("str:del1"));
    }

    [Fact]
    public void Unlink_ExistingKey_Deletes()
    {
        _db.StringSet("str:unlink", "a");
        Assert.Equal(1L, (long)_db.Execute("UNLINK", "str:unlink", "str:unlink-missing"));
        Assert.True(_db.StringGet("str:unlink").IsNull);
    }

    [Fact]
    public void Exists_RepeatedKey_CountsEachTime()
    {
        _db.StringSet("str:exists", "a");
        Assert.Equal(2L, (long)_db.Execute("EXISTS", "str:exists", "str:exists", "str:exists-missing"));
        Assert.True(_db.KeyExists("str:exists"));
        Assert.False(_db.KeyExists("str:exists-missing"));
    }

    [Fact]
    public void MSetMGet_ManyKeys_RoundTrip()
    {
        var pairs = new KeyValuePair<RedisKey, RedisValue>[50];
        for (var i = 0; i < pairs.Length; i++)
        {
            pairs[i] = new($"str:m{i}", $"value-{i}");
        }

        Assert.True(_db.StringSet(pairs));
        var keys = new RedisKey[pairs.Length + 1];
        for (var i = 0; i < pairs.Length; i++)
        {
            keys[i] = pairs[i].Key;
        }

        keys[^1] = "str:m-missing";
        var values = _db.StringGet(keys);
        Assert.Equal(keys.Length, values.Length);
        for (var i = 0; i < pairs.Length; i++)
        {
            Assert.Equal($"value-{i}", (string?)values[i]);
        }

        Assert.True(values[^1].IsNull);
    }

    [Fact]
    public void MSet_OddArguments_Error()
    {
        var e = Assert.Throws<RedisServerException>(() => _db.Execute("MSET", "str:odd1", "a", "str:odd2"));
        Assert.Contains("wrong number of arguments", e.Message, StringComparison.Ordinal);
        Assert.False(_db.KeyExists("str:odd1"));
    }

    [Fact]
    public void MSetNx_OneKeyExists_WritesNone()
    {
        _db.StringSet("str:msetnx-b", "old");
        Assert.False(_db.StringSet([new("str:msetnx-a", "1"), new("str:msetnx-b", "2")], When.NotExists));
        Assert.False(_db.KeyExists("str:msetnx-a"));
        Assert.Equal("old", (string?)_db.StringGet("str:msetnx-b"));

        Assert.True(_db.StringSet([new("str:msetnx-c", "3"), new("str:msetnx-d", "4")], When.NotExists));
        Assert.Equal("4", (string?)_db.StringGet("str:msetnx-d"));
    }

    [Fact]
    public async Task MSetNx_TwoClientsRacingOnTheSameKeys_ExactlyOneWritesAll()
    {
        using var second = fixture.Server.Connect();
        var other = second.GetDatabase();
        for (var round = 0; round < 100; round++)
        {
            RedisKey a = $"str:race{round}:a", b = $"str:race{round}:b";
            var first = _db.StringSetAsync([new(a, "first"), new(b, "first")], When.NotExists);
            var late = other.StringSetAsync([new(b, "second"), new(a, "second")], When.NotExists);
            var results = await Task.WhenAll(first, late);
            Assert.Equal(1, results.Count(won => won));
            // Both keys come from the one winner: the check and the writes were one step.
            Assert.Equal((string?)await _db.StringGetAsync(a), (string?)await _db.StringGetAsync(b));
        }
    }

    [Fact]
    public void Expire_ExistingKey_SetsTtlAndPersistClears()
    {
        _db.StringSet("str:expire", "v");
        Assert.Equal(-1L, (long)_db.Execute("TTL", "str:expire"));
        Assert.True(_db.KeyExpire("str:expire", TimeSpan.FromSeconds(1000)));
        Assert.InRange((long)_db.Execute("TTL", "str:expire"), 999, 1000);
        Assert.Equal(1L, (long)_db.Execute("PEXPIRE", "str:expire", 70_000));
        Assert.InRange((long)_db.Execute("PTTL", "str:expire"), 60_000, 70_000);
        Assert.True(_db.KeyPersist("str:expire"));
        Assert.Equal(-1L, (long)_db.Execute("TTL", "str:expire"));
        Assert.False(_db.KeyPersist("str:expire"));
        Assert.Equal("v", (string?)_db.StringGet("str:expire"));
    }

    [Fact]
    public void ExpireAt_FutureAndPast_SetsOrDeletes()
    {
        _db.StringSet("str:expireat", "v");
        var at = DateTimeOffset.UtcNow.AddSeconds(600).ToUnixTimeSeconds();
        Assert.Equal(1L, (long)_db.Execute("EXPIREAT", "str:expireat", at));
        Assert.InRange((long)_db.Execute("TTL", "str:expireat"), 595, 601);

        Assert.Equal(1L, (long)_db.Execute("EXPIREAT", "str:expireat", DateTimeOffset.UtcNow.AddSeconds(-60).ToUnixTimeSeconds()));
        Assert.False(_db.KeyExists("str:expireat"));
        Assert.Equal(0L, (long)_db.Execute("EXPIRE", "str:expireat", 100));
    }

    [Fact]
    public void Ttl_MissingKey_MinusTwo()
    {
        Assert.Equal(-2L, (long)_db.Execute("TTL", "str:ttl-missing"));
        Assert.Equal(-2L, (long)_db.Execute("PTTL", "str:ttl-missing"));
        Assert.Null(_db.KeyTimeToLive("str:ttl-missing"));
    }

    [Fact]
    public void Type_StringAndMissing_StringAndNone()
    {
        _db.StringSet("str:type", "v");
        Assert.Equal(RedisType.String, _db.KeyType("str:type"));
        Assert.Equal(RedisType.None, _db.KeyType("str:type-missing"));
    }

    [Fact]
    public void Get_WrongArity_Error()
    {
        var e = Assert.Throws<RedisServerException>(() => _db.Execute("GET", "a", "b"));
        Assert.Contains("wrong number of arguments for 'get' command", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Set_EmptyKey_Error()
    {
        var e = Assert.Throws<RedisServerException>(() => _db.Execute("SET", "", "v"));
        Assert.StartsWith("ERR", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Set_EmptyValue_StoredAsEmpty()
    {
        _db.StringSet("str:empty-value", "");
        var value = _db.StringGet("str:empty-value");
        Assert.False(value.IsNull);
        Assert.Equal("", (string?)value);
        Assert.True(_db.KeyExists("str:empty-value"));
    }

    [Fact]
    public void SetNxSetExPSetEx_LegacyForms_Work()
    {
        Assert.Equal(1L, (long)_db.Execute("SETNX", "str:legacy-nx", "a"));
        Assert.Equal(0L, (long)_db.Execute("SETNX", "str:legacy-nx", "b"));
        Assert.Equal("a", (string?)_db.StringGet("str:legacy-nx"));

        Assert.Equal("OK", (string?)_db.Execute("SETEX", "str:legacy-ex", 100, "v"));
        Assert.InRange((long)_db.Execute("TTL", "str:legacy-ex"), 99, 100);
        Assert.Equal("OK", (string?)_db.Execute("PSETEX", "str:legacy-px", 100_000, "v"));
        Assert.InRange((long)_db.Execute("PTTL", "str:legacy-px"), 90_000, 100_000);
        var e = Assert.Throws<RedisServerException>(() => _db.Execute("SETEX", "str:legacy-ex", 0, "v"));
        Assert.Contains("invalid expire time in 'setex' command", e.Message, StringComparison.Ordinal);
    }
}
