using System;
using System.Linq;
using RingKV.Server.Tests.Support;
using RingKV.Testing.Processes;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>KV.GET, KV.PUT and KV.DEL: sibling sets and contexts, and how plain GET/SET see them.</summary>
public sealed class VersionedCommandTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly IDatabase _db = fixture.Db;

    [Fact]
    public void Consistency_StrictAndRepairQualifiers_ParsedWhereTheyApply_RefusedElsewhere()
    {
        Assert.Equal("OK", (string?)_db.Execute("KV.PUT", "kv:q", "v", "CONSISTENCY", "QUORUM", "STRICT"));
        var read = (RedisResult[])_db.Execute("KV.GET", "kv:q", "CONSISTENCY", "ALL", "repair", "strict")!;
        Assert.Equal(["v"], ((RedisResult[])read[1]!).Select(v => (string?)v));

        // REPAIR is a read's; a word that is no qualifier is a syntax error; a level repeats no qualifier.
        Assert.StartsWith("ERR syntax error", Assert.Throws<RedisServerException>(() => _db.Execute("KV.PUT", "kv:q", "v", "CONSISTENCY", "QUORUM", "REPAIR")).Message, StringComparison.Ordinal);
        Assert.StartsWith("ERR syntax error", Assert.Throws<RedisServerException>(() => _db.Execute("KV.GET", "kv:q", "CONSISTENCY", "QUORUM", "LOOSE")).Message, StringComparison.Ordinal);
        Assert.StartsWith("ERR syntax error", Assert.Throws<RedisServerException>(() => _db.Execute("KV.GET", "kv:q", "CONSISTENCY", "QUORUM", "STRICT", "STRICT")).Message, StringComparison.Ordinal);
        Assert.StartsWith("ERR invalid CONSISTENCY", Assert.Throws<RedisServerException>(() => _db.Execute("KV.GET", "kv:q", "CONSISTENCY", "STRICT")).Message, StringComparison.Ordinal);

        // Per connection: READ takes STRICT and REPAIR, WRITE only STRICT.
        Assert.Equal("OK", (string?)_db.Execute("KV.CONSISTENCY", "READ", "QUORUM", "STRICT", "REPAIR", "WRITE", "ALL", "STRICT"));
        var levels = ((RedisResult[])_db.Execute("KV.CONSISTENCY")!).Select(v => (string?)v).ToArray();
        Assert.Equal(["READ", "QUORUM STRICT REPAIR", "WRITE", "ALL STRICT"], levels);
        Assert.StartsWith("ERR", Assert.Throws<RedisServerException>(() => _db.Execute("KV.CONSISTENCY", "WRITE", "ALL", "REPAIR")).Message, StringComparison.Ordinal);
        Assert.Equal("OK", (string?)_db.Execute("KV.CONSISTENCY", "READ", "QUORUM", "WRITE", "QUORUM"));
    }

    [Fact]
    public void KvPut_TwoWithoutContext_TwoSiblingsAndContext()
    {
        Assert.Equal("OK", (string?)_db.Execute("KV.PUT", "kv:two", "v1"));
        Assert.Equal("OK", (string?)_db.Execute("KV.PUT", "kv:two", "v2"));
        var (context, values) = KvGet("kv:two");
        Assert.False(string.IsNullOrEmpty(context));
        Assert.Equal(["v1", "v2"], values.Order(StringComparer.Ordinal));

        // Plain GET never shows siblings: one of them.
        var plain = (string?)_db.StringGet("kv:two");
        Assert.Contains(plain, values);
    }

    [Fact]
    public void KvPut_WithContext_ReplacesSiblings()
    {
        _db.Execute("KV.PUT", "kv:ctx", "v1");
        _db.Execute("KV.PUT", "kv:ctx", "v2");
        var (context, values) = KvGet("kv:ctx");
        Assert.Equal(2, values.Length);
        Assert.Equal("OK", (string?)_db.Execute("KV.PUT", "kv:ctx", "v3", "CONTEXT", context));
        var (after, resolved) = KvGet("kv:ctx");
        Assert.Equal(["v3"], resolved);
        Assert.NotEqual(context, after);
        Assert.Equal("v3", (string?)_db.StringGet("kv:ctx"));
    }

    [Fact]
    public void KvPut_StaleContext_AddsSibling()
    {
        _db.Execute("KV.PUT", "kv:stale", "v1");
        var (seen, _) = KvGet("kv:stale");
        _db.Execute("KV.PUT", "kv:stale", "v2", "CONTEXT", seen); // replaces v1
        _db.Execute("KV.PUT", "kv:stale", "v3", "CONTEXT", seen); // saw v1 only: concurrent with v2
        var (_, values) = KvGet("kv:stale");
        Assert.Equal(["v2", "v3"], values.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("SET")]
    [InlineData("KV.PUT")]
    public void KvPut_ContextFromBeforeDel_DoesNotSupersedeTheWriteAfterIt(string rewrite)
    {
        // DEL drops the key's set; the write after it must not reuse a dot the old context covers, or the
        // KV.PUT below would silently replace a value its client never saw.
        var key = "kv:afterdel:" + rewrite;
        _db.Execute("KV.PUT", key, "v1");
        _db.Execute("KV.PUT", key, "v2");
        var (old, _) = KvGet(key);
        Assert.True(_db.KeyDelete(key));
        _db.Execute(rewrite, key, "after-del");
        _db.Execute("KV.PUT", key, "from-old-context", "CONTEXT", old);
        var (_, values) = KvGet(key);
        Assert.Equal(["after-del", "from-old-context"], values.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Set_HundredTimes_OneSibling()
    {
        for (var i = 0; i < 100; i++)
        {
            _db.StringSet("kv:plain", $"v{i}");
        }

        var (_, values) = KvGet("kv:plain");
        Assert.Equal(["v99"], values);
    }

    [Fact]
    public void Set_OverSiblings_ResolvesToOne()
    {
        _db.Execute("KV.PUT", "kv:resolve", "v1");
        _db.Execute("KV.PUT", "kv:resolve", "v2");
        _db.StringSet("kv:resolve", "plain");
        var (_, values) = KvGet("kv:resolve");
        Assert.Equal(["plain"], values);
    }

    [Fact]
    public void KvDel_WithContext_Removes()
    {
        _db.Execute("KV.PUT", "kv:del", "v1");
        _db.Execute("KV.PUT", "kv:del", "v2");
        var (context, _) = KvGet("kv:del");
        Assert.Equal(1L, (long)_db.Execute("KV.DEL", "kv:del", "CONTEXT", context));
        Assert.True(_db.Execute("KV.GET", "kv:del").IsNull);
        Assert.True(_db.StringGet("kv:del").IsNull);
        Assert.False(_db.KeyExists("kv:del"));
    }

    [Fact]
    public void KvDel_StaleContext_KeepsNewerSibling()
    {
        _db.Execute("KV.PUT", "kv:del-stale", "v1");
        var (seen, _) = KvGet("kv:del-stale");
        _db.Execute("KV.PUT", "kv:del-stale", "v2"); // not seen by the delete below
        _db.Execute("KV.DEL", "kv:del-stale", "CONTEXT", seen);
        var (_, values) = KvGet("kv:del-stale");
        Assert.Equal("v2", Assert.Single(values, v => v is not null));

        // The delete is a (newer) tombstone sibling: plain reads resolve by last write and may say "gone",
        // but they must agree with each other.
        var plain = (string?)_db.StringGet("kv:del-stale");
        Assert.True(plain is null or "v2", $"GET returned '{plain}'");
        Assert.Equal(plain is not null, _db.KeyExists("kv:del-stale"));
    }

    [Fact]
    public void KvDel_StaleContext_KeyspaceCommandsAgreeWithGet()
    {
        var sizeBefore = (long)_db.Execute("DBSIZE");
        _db.Execute("KV.PUT", "kvspace:k", "v1");
        var (seen, _) = KvGet("kvspace:k");
        _db.Execute("KV.PUT", "kvspace:k", "v2");
        _db.Execute("KV.DEL", "kvspace:k", "CONTEXT", seen);

        // Whatever plain GET decides, EXISTS, TYPE, SCAN and DBSIZE must tell the same story.
        var visible = !_db.StringGet("kvspace:k").IsNull;
        Assert.Equal(visible, _db.KeyExists("kvspace:k"));
        Assert.Equal(visible ? RedisType.String : RedisType.None, _db.KeyType("kvspace:k"));
        var scanned = fixture.Admin.Keys(pattern: "kvspace:*").Select(k => (string)k!).ToList();
        Assert.Equal(visible ? ["kvspace:k"] : [], scanned);
        Assert.Equal(sizeBefore + (visible ? 1 : 0), (long)_db.Execute("DBSIZE"));
    }

    [Fact]
    public void PipelinedSets_OverSiblings_ResolveToLast()
    {
        _db.Execute("KV.PUT", "kv:pipe", "v1");
        _db.Execute("KV.PUT", "kv:pipe", "v2");
        using var raw = fixture.Server.ConnectRaw();
        var requests = new System.Collections.Generic.List<byte>();
        requests.AddRange(RawClient.Encode("SET", "kv:pipe", "a"));
        requests.AddRange(RawClient.Encode("SET", "kv:pipe", "b"));
        requests.AddRange(RawClient.Encode("SET", "kv:pipe-other", "x"));
        requests.AddRange(RawClient.Encode("SET", "kv:pipe", "c"));
        raw.Send(requests.ToArray());
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("+OK", RawClient.Describe(raw.Read()));
        }

        Assert.Equal(["c"], KvGet("kv:pipe").Values);
        Assert.Equal(["x"], KvGet("kv:pipe-other").Values);
    }

    [Fact]
    public void KvDel_WithoutContext_RemovesWhatItSees()
    {
        _db.Execute("KV.PUT", "kv:del-all", "v1");
        _db.Execute("KV.PUT", "kv:del-all", "v2");
        Assert.Equal(1L, (long)_db.Execute("KV.DEL", "kv:del-all"));
        Assert.True(_db.Execute("KV.GET", "kv:del-all").IsNull);
        Assert.Equal(0L, (long)_db.Execute("KV.DEL", "kv:del-all"));
    }

    [Fact]
    public void KvPut_BadContext_Error()
    {
        _db.Execute("KV.PUT", "kv:bad", "v1");
        foreach (var bad in new[] { "not base64!", "AAAA", Convert.ToBase64String(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }) })
        {
            var e = Assert.Throws<RedisServerException>(() => _db.Execute("KV.PUT", "kv:bad", "v2", "CONTEXT", bad));
            Assert.Contains("invalid CONTEXT", e.Message, StringComparison.Ordinal);
        }

        var del = Assert.Throws<RedisServerException>(() => _db.Execute("KV.DEL", "kv:bad", "CONTEXT", "%%%"));
        Assert.Contains("invalid CONTEXT", del.Message, StringComparison.Ordinal);
        var syntax = Assert.Throws<RedisServerException>(() => _db.Execute("KV.PUT", "kv:bad", "v2", "CONTEXTS", "x"));
        Assert.Contains("syntax error", syntax.Message, StringComparison.Ordinal);
        Assert.Equal(["v1"], KvGet("kv:bad").Values);
    }

    [Fact]
    public void KvDelAndKvPut_ContextOfAnotherKey_RefusedAndKeyKept()
    {
        // Before contexts named their key, KV.DEL z1 CONTEXT <context of z2> deleted z1.
        _db.Execute("KV.PUT", "kv:z1", "one");
        _db.Execute("KV.PUT", "kv:z2", "two");
        var (z2Context, _) = KvGet("kv:z2");

        var del = Assert.Throws<RedisServerException>(() => _db.Execute("KV.DEL", "kv:z1", "CONTEXT", z2Context));
        Assert.Equal("ERR CONTEXT was read from another key: pass the context KV.GET returned for this key", del.Message);
        var put = Assert.Throws<RedisServerException>(() => _db.Execute("KV.PUT", "kv:z1", "replaced", "CONTEXT", z2Context));
        Assert.Equal("ERR CONTEXT was read from another key: pass the context KV.GET returned for this key", put.Message);

        Assert.Equal(["one"], KvGet("kv:z1").Values);
        Assert.Equal("one", (string?)_db.StringGet("kv:z1"));

        // The key's own context still works.
        Assert.Equal(1L, (long)_db.Execute("KV.DEL", "kv:z1", "CONTEXT", KvGet("kv:z1").Context));
        Assert.True(_db.Execute("KV.GET", "kv:z1").IsNull);
    }

    [Fact]
    public void KvPut_VersionOneContextWithoutKeyTag_RefusedWithReadAgain()
    {
        _db.Execute("KV.PUT", "kv:v1", "a");
        var tagged = Convert.FromBase64String(KvGet("kv:v1").Context);
        Assert.Equal(2, tagged[0]);
        byte[] untagged = [1, .. tagged[5..]]; // the same context in format version 1: no key tag
        var e = Assert.Throws<RedisServerException>(() => _db.Execute("KV.PUT", "kv:v1", "b", "CONTEXT", Convert.ToBase64String(untagged)));
        Assert.Equal("ERR CONTEXT is from an older RingKV and names no key: read the key again with KV.GET", e.Message);
        Assert.Equal(["a"], KvGet("kv:v1").Values);
    }

    [Fact]
    public void KvGet_MissingKey_Nil()
    {
        Assert.True(_db.Execute("KV.GET", "kv:missing").IsNull);
    }

    [Fact]
    public void KvGet_PlainSetKey_OneValueAndContextThatResolves()
    {
        _db.StringSet("kv:from-set", "a");
        var (context, values) = KvGet("kv:from-set");
        Assert.Equal(["a"], values);
        _db.Execute("KV.PUT", "kv:from-set", "b", "CONTEXT", context);
        Assert.Equal(["b"], KvGet("kv:from-set").Values);
    }

    private (string Context, string?[] Values) KvGet(string key)
    {
        var reply = _db.Execute("KV.GET", key);
        Assert.False(reply.IsNull, $"KV.GET {key} returned nil");
        var parts = (RedisResult[])reply!;
        Assert.Equal(2, parts.Length);
        var siblings = (RedisResult[])parts[1]!;
        return ((string)parts[0]!, siblings.Select(s => (string?)s).ToArray());
    }
}
