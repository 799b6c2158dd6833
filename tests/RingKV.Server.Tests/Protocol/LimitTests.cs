using System;
using System.Text;
using RingKV.Core.Random;
using RingKV.Server.Tests.Support;
using RingKV.Testing.Processes;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Server.Tests.Protocol;

/// <summary>Oversized and malformed requests on raw sockets: each gets its error, and the server keeps serving everyone else.</summary>
public sealed class LimitTests(LimitTests.SmallLimitsServer fixture) : IClassFixture<LimitTests.SmallLimitsServer>
{
    private static readonly TimeSpan CloseDeadline = TimeSpan.FromSeconds(15);

    [Fact]
    public void Set_ValueOverMaxValueBytes_ErrorAndConnectionUsable()
    {
        using var raw = fixture.Server.ConnectRaw();
        var reply = raw.CallText("SET", "limit:big", new byte[2000]);
        Assert.StartsWith("-ERR", reply, StringComparison.Ordinal);
        Assert.Contains("max-value-bytes 1000", reply, StringComparison.Ordinal);
        Assert.Equal("+PONG", raw.CallText("PING"));
        Assert.Equal("(nil)", raw.CallText("GET", "limit:big"));

        Assert.Equal("+OK", raw.CallText("SET", "limit:at", new byte[1000]));
        Assert.StartsWith("-ERR", raw.CallText("KV.PUT", "limit:kv", new byte[1001]), StringComparison.Ordinal);
        Assert.StartsWith("-ERR", raw.CallText("MSET", "limit:m1", "a", "limit:m2", new byte[1001]), StringComparison.Ordinal);
        Assert.Equal("(nil)", raw.CallText("GET", "limit:m1"));
        Assert.StartsWith("-ERR", raw.CallText("SETEX", "limit:big", "10", new byte[1001]), StringComparison.Ordinal);
    }

    [Fact]
    public void Set_KeyOverMaxKeyBytes_Error()
    {
        using var raw = fixture.Server.ConnectRaw();
        var key = new string('k', 101);
        var reply = raw.CallText("SET", key, "v");
        Assert.StartsWith("-ERR", reply, StringComparison.Ordinal);
        Assert.Contains("max-key-bytes 100", reply, StringComparison.Ordinal);
        Assert.StartsWith("-ERR", raw.CallText("GET", key), StringComparison.Ordinal);
        Assert.Equal("+OK", raw.CallText("SET", new string('k', 100), "v"));
        Assert.Equal("+PONG", raw.CallText("PING"));
    }

    // Every key-taking command, with K where the key goes; the multi-key ones also with a good key before the bad one.
    [Theory]
    [InlineData("GET K")]
    [InlineData("SET K v")]
    [InlineData("SET K v EX 10")]
    [InlineData("SETNX K v")]
    [InlineData("SETEX K 10 v")]
    [InlineData("PSETEX K 10 v")]
    [InlineData("GETDEL K")]
    [InlineData("GETEX K")]
    [InlineData("GETEX K PERSIST")]
    [InlineData("EXPIRE K 10")]
    [InlineData("PEXPIRE K 10")]
    [InlineData("EXPIREAT K 10")]
    [InlineData("PEXPIREAT K 10")]
    [InlineData("TTL K")]
    [InlineData("PTTL K")]
    [InlineData("PERSIST K")]
    [InlineData("TYPE K")]
    [InlineData("DEL K")]
    [InlineData("UNLINK K")]
    [InlineData("EXISTS K")]
    [InlineData("MGET K")]
    [InlineData("MSET K v")]
    [InlineData("MSETNX K v")]
    [InlineData("KV.GET K")]
    [InlineData("KV.PUT K v")]
    [InlineData("KV.DEL K")]
    [InlineData("DEL limit:good K")]
    [InlineData("UNLINK limit:good K")]
    [InlineData("EXISTS limit:good K")]
    [InlineData("MGET limit:good K")]
    [InlineData("MSET limit:good changed K v")]
    public void KeyCommand_OverLongOrEmptyKey_SameErrorAndNothingDone(string template)
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("SET", "limit:good", "kept"));
        foreach (var (key, error) in new[]
        {
            (new string('k', 101), "-ERR key of 101 bytes exceeds max-key-bytes 100"),
            ("", "-ERR empty keys are not supported"),
        })
        {
            var arguments = Array.ConvertAll(template.Split(' '), a => a == "K" ? (object)key : a);
            Assert.Equal(error, raw.CallText(arguments));
            Assert.Equal("kept", raw.CallText("GET", "limit:good"));
        }
    }

    [Theory]
    [InlineData("not-a-bulk", "*2\r\n$3\r\nGET\r\n:x\r\n")]
    [InlineData("bad-count", "*abc\r\n")]
    [InlineData("bad-bulk-length", "*1\r\n$x\r\n")]
    [InlineData("negative-bulk-length", "*1\r\n$-5\r\n")]
    [InlineData("unbalanced-quotes", "SET \"a b\r\n")]
    public void MalformedRequest_ProtocolErrorAndClosed(string name, string request)
    {
        _ = name;
        AssertProtocolErrorAndClosed(Encoding.ASCII.GetBytes(request));
    }

    [Fact]
    public void ProtocolError_AfterPipelinedSets_SetsAnsweredAndApplied()
    {
        var request = new System.Collections.Generic.List<byte>();
        request.AddRange(RawClient.Encode("SET", "limit:before-error-1", "a"));
        request.AddRange(RawClient.Encode("SET", "limit:before-error-2", "b"));
        request.AddRange("*abc\r\n"u8.ToArray());
        request.AddRange(RawClient.Encode("SET", "limit:after-error", "c"));
        using var raw = fixture.Server.ConnectRaw();
        var (text, closed) = raw.SendAndReadUntilClosed([.. request], CloseDeadline);
        Assert.StartsWith("+OK\r\n+OK\r\n-ERR Protocol error", text, StringComparison.Ordinal);
        Assert.True(closed);
        Assert.Equal("b", (string?)fixture.Db.StringGet("limit:before-error-2"));
        Assert.True(fixture.Db.StringGet("limit:after-error").IsNull);
    }

    [Fact]
    public void InlineLine_100KiBWithoutNewline_ProtocolErrorAndClosed()
    {
        var line = new byte[100 * 1024];
        line.AsSpan().Fill((byte)'a');
        var text = AssertProtocolErrorAndClosed(line);
        Assert.Contains("too big inline request", text, StringComparison.Ordinal);
    }

    [Fact]
    public void RandomBinary_1MiB_ClosedAndServerServes()
    {
        var seed = TestSeed.Get(nameof(RandomBinary_1MiB_ClosedAndServerServes));
        var bytes = new byte[1 << 20];
        new SplitMix64(seed).NextBytes(bytes);
        using var other = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", other.CallText("SET", "limit:survivor", "still-here"));

        using var raw = fixture.Server.ConnectRaw();
        var (text, closed) = raw.SendAndReadUntilClosed(bytes, CloseDeadline);
        Assert.True(closed, $"the server kept reading a random binary flood open; RINGKV_SEED={seed}");
        // Lines of random bytes may parse as (unknown) inline commands first; the connection ends on a protocol error.
        if (text.Length > 0)
        {
            Assert.Contains("-ERR Protocol error", text, StringComparison.Ordinal);
        }

        AssertServing(other);
        Assert.Equal("still-here", other.CallText("GET", "limit:survivor"));
    }

    [Fact]
    public void Limits_AfterAbuse_OtherClientsAndDataIntact()
    {
        var db = fixture.Db;
        db.StringSet("limit:kept", "kept-value");
        using var bystander = fixture.Server.ConnectRaw();
        Assert.Equal("+PONG", bystander.CallText("PING"));
        AssertProtocolErrorAndClosed("*abc\r\n"u8.ToArray());
        AssertProtocolErrorAndClosed("*1\r\n$3\r\nGETX\r\n"u8.ToArray());
        Assert.Equal("kept-value", (string?)db.StringGet("limit:kept"));
        AssertServing(bystander);
    }

    private string AssertProtocolErrorAndClosed(byte[] request)
    {
        using var raw = fixture.Server.ConnectRaw();
        var (text, closed) = raw.SendAndReadUntilClosed(request, CloseDeadline);
        Assert.StartsWith("-ERR Protocol error", text, StringComparison.Ordinal);
        Assert.True(closed, $"the server left the connection open after: {text}");
        AssertServing(null);
        return text;
    }

    private void AssertServing(RawClient? existing)
    {
        if (existing is not null)
        {
            Assert.Equal("+PONG", existing.CallText("PING"));
        }

        using var fresh = fixture.Server.ConnectRaw();
        Assert.Equal("+PONG", fresh.CallText("PING"));
        Assert.Equal("PONG", (string?)fixture.Db.Execute("PING"));
    }

    public sealed class SmallLimitsServer : ServerFixture
    {
        public SmallLimitsServer()
            : base(["--max-value-bytes", "1000", "--max-key-bytes", "100"])
        {
        }
    }
}
