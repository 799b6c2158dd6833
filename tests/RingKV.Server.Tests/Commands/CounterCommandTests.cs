using System;
using System.Linq;
using System.Threading.Tasks;
using RingKV.Server.Tests.Support;
using RingKV.Testing.Processes;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>
/// INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT on a single node: Redis's parsing, overflow errors, TTL kept, and no
/// increment lost under concurrency. Expected replies are redis-server 7.0's for the same commands (checked side by
/// side), except where its long double shows binary digits (1e30 answers 1000000000000000000024696061952 there).
/// </summary>
public sealed class CounterCommandTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly IDatabase _db = fixture.Db;

    private RedisResult Do(params object[] args) => _db.Execute((string)args[0], args.Skip(1).ToArray());

    private string Error(params object[] args) =>
        Assert.Throws<RedisServerException>(() => _db.Execute((string)args[0], args.Skip(1).ToArray())).Message;

    [Fact]
    public void IncrFamily_FromAbsent_CountsAndAnswersTheNewValue()
    {
        Assert.Equal(1, (long)Do("INCR", "ctr:a"));
        Assert.Equal(2, (long)Do("INCR", "ctr:a"));
        Assert.Equal(1, (long)Do("DECR", "ctr:a"));
        Assert.Equal(11, (long)Do("INCRBY", "ctr:a", 10));
        Assert.Equal(8, (long)Do("DECRBY", "ctr:a", 3));
        Assert.Equal(-2, (long)Do("INCRBY", "ctr:a", -10));
        Assert.Equal("-2", (string?)_db.StringGet("ctr:a")); // GET sees the decimal string
    }

    [Theory]
    [InlineData("01")]
    [InlineData(" 1")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("+1")]
    [InlineData("99999999999999999999")]
    public void Incr_OnANonInteger_IsAnErrorAndChangesNothing(string value)
    {
        _db.StringSet("ctr:bad", value);
        Assert.Equal("ERR value is not an integer or out of range", Error("INCR", "ctr:bad"));
        Assert.Equal(value, (string?)_db.StringGet("ctr:bad"));
    }

    [Fact]
    public void IncrFamily_Overflow_IsAnErrorAndChangesNothing()
    {
        _db.StringSet("ctr:max", long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("ERR increment or decrement would overflow", Error("INCR", "ctr:max"));
        _db.StringSet("ctr:min", long.MinValue.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("ERR increment or decrement would overflow", Error("DECR", "ctr:min"));
        Assert.Equal("ERR decrement would overflow", Error("DECRBY", "ctr:min", long.MinValue));
        Assert.Equal("ERR value is not an integer or out of range", Error("INCRBY", "ctr:min", "x"));
        Assert.Equal(long.MinValue, (long)_db.StringGet("ctr:min"));
    }

    [Theory]
    [InlineData(null, "0.1", "0.1")]
    [InlineData("10.50", "0.1", "10.6")]
    [InlineData("0.1", "0.2", "0.3")]
    [InlineData("5.0e3", "2.0e2", "5200")]
    [InlineData("3", "-3", "0")]
    [InlineData(null, "-0.5", "-0.5")]
    [InlineData(null, "1.23456789012345678", "1.23456789012345678")]
    [InlineData("7", "1", "8")]
    public void IncrByFloat_AnswersTheSumInFixedNotation(string? start, string by, string expected)
    {
        var key = $"ctrf:{start}:{by}";
        if (start is not null)
        {
            _db.StringSet(key, start);
        }

        Assert.Equal(expected, (string?)Do("INCRBYFLOAT", key, by));
        Assert.Equal(expected, (string?)_db.StringGet(key));
    }

    [Fact]
    public void IncrByFloat_BadOperandsAndInfinity_AreErrors()
    {
        Assert.Equal("ERR value is not a valid float", Error("INCRBYFLOAT", "ctrf:e", "abc"));
        Assert.Equal("ERR increment would produce NaN or Infinity", Error("INCRBYFLOAT", "ctrf:e", "inf"));
        _db.StringSet("ctrf:text", "abc");
        Assert.Equal("ERR value is not a valid float", Error("INCRBYFLOAT", "ctrf:text", "1"));
        Assert.Equal(0, (long)Do("EXISTS", "ctrf:e"));
    }

    [Fact]
    public void IncrAndIncrByFloat_KeepTheTtl()
    {
        _db.StringSet("ctr:ttl", "5", TimeSpan.FromSeconds(1000));
        Assert.Equal(6, (long)Do("INCR", "ctr:ttl"));
        Assert.Equal("7.5", (string?)Do("INCRBYFLOAT", "ctr:ttl", "1.5"));
        Assert.InRange((long)Do("TTL", "ctr:ttl"), 990, 1000);
    }

    [Fact]
    public void Incr_PipelinedWithSetsAndReads_AppliedInOrderEachAnswered()
    {
        // One receive: the INCRs join the SETs' run (one engine write), a key named twice sees the run's earlier writes,
        // and every reply comes back in request order.
        using var raw = fixture.Server.ConnectRaw();
        raw.CallText("SET", "pipe:text", "abc");
        object[][] commands =
        [
            ["SET", "pipe:n", "5"], ["INCR", "pipe:n"], ["INCRBY", "pipe:n", "10"], ["INCR", "pipe:other"], ["SET", "pipe:n", "1"],
            ["INCR", "pipe:n"], ["DECR", "pipe:n"], ["INCR", "pipe:text"], ["DECRBY", "pipe:n", "x"], ["INCR", "pipe:n"], ["GET", "pipe:n"],
            ["INCRBY", "pipe:n", "9223372036854775807"], ["GET", "pipe:n"],
        ];
        raw.Send(commands.SelectMany(RawClient.Encode).ToArray());
        var replies = commands.Select(_ => RawClient.Describe(raw.Read())).ToArray();
        Assert.Equal(
            [
                "+OK", ":6", ":16", ":1", "+OK", ":2", ":1", "-ERR value is not an integer or out of range",
                "-ERR value is not an integer or out of range", ":2", "2", "-ERR increment or decrement would overflow", "2",
            ],
            replies);
        Assert.Equal("abc", raw.CallText("GET", "pipe:text"));
    }

    [Fact]
    public async Task Incr_ConcurrentFromManyConnections_LosesNoIncrement()
    {
        var connections = Enumerable.Range(0, 8).Select(_ => fixture.Server.Connect()).ToArray();
        try
        {
            await Task.WhenAll(connections.Select(c => Task.Run(async () =>
            {
                var db = c.GetDatabase();
                for (var i = 0; i < 500; i++)
                {
                    await db.StringIncrementAsync("ctr:race");
                }
            })));

            Assert.Equal(8 * 500, (long)_db.StringGet("ctr:race"));
        }
        finally
        {
            foreach (var c in connections)
            {
                c.Dispose();
            }
        }
    }
}

/// <summary>
/// Through a 3-node cluster (QUORUM, writes through node 0, reads through node 2) the counters are a CRDT: Redis's replies
/// and errors, GET shows the decimal, a SET resets, the TTL is kept, and increments from many clients through every
/// node all add up. INCRBYFLOAT is refused there, with the reason.
/// </summary>
[Collection(ThreeNodeCluster.Collection)]
public sealed class CounterClusterTests(ThreeNodeCluster fixture)
{
    private IDatabase W => fixture.Writer;

    private IDatabase R => fixture.Reader;

    [Fact]
    public void IncrFamily_InACluster_CountsAndGetShowsTheDecimalOnAnotherNode()
    {
        Assert.Equal(1, (long)W.Execute("INCR", "ctrc:a"));
        Assert.Equal(2, (long)R.Execute("INCR", "ctrc:a"));
        Assert.Equal(1, (long)W.Execute("DECR", "ctrc:a"));
        Assert.Equal(11, (long)R.Execute("INCRBY", "ctrc:a", 10));
        Assert.Equal(8, (long)W.Execute("DECRBY", "ctrc:a", 3));
        Assert.Equal("8", (string?)R.StringGet("ctrc:a"));
        Assert.Equal("8", (string?)W.StringGet("ctrc:a"));
    }

    [Fact]
    public void Incr_InACluster_AddsToASetValueAndASetResetsTheCount()
    {
        Assert.True(W.StringSet("ctrc:s", "100"));
        Assert.Equal(105, (long)R.Execute("INCRBY", "ctrc:s", 5));
        Assert.Equal(106, (long)W.Execute("INCR", "ctrc:s"));
        Assert.True(R.StringSet("ctrc:s", "7"));
        Assert.Equal("7", (string?)W.StringGet("ctrc:s"));
        Assert.Equal(8, (long)W.Execute("INCR", "ctrc:s"));
        Assert.True(W.KeyDelete("ctrc:s"));
        Assert.False(R.KeyExists("ctrc:s"));
        Assert.Equal(1, (long)R.Execute("INCR", "ctrc:s")); // after DEL the count starts from 0
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("01")]
    [InlineData("1.5")]
    [InlineData("9223372036854775808")]
    public void Incr_InACluster_NotAnInteger_RedisErrorAndTheValueStays(string value)
    {
        Assert.True(W.StringSet("ctrc:bad", value));
        var error = Assert.Throws<RedisServerException>(() => R.Execute("INCR", "ctrc:bad"));
        Assert.Equal("ERR value is not an integer or out of range", error.Message);
        Assert.Equal(value, (string?)W.StringGet("ctrc:bad"));
    }

    [Fact]
    public void IncrBy_InACluster_Overflow_RedisErrorAndTheCountStays()
    {
        Assert.True(W.StringSet("ctrc:max", long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal("ERR increment or decrement would overflow", Assert.Throws<RedisServerException>(() => R.Execute("INCR", "ctrc:max")).Message);
        Assert.Equal(long.MaxValue - 1, (long)R.Execute("DECR", "ctrc:max"));
        Assert.Equal(long.MaxValue, (long)W.Execute("INCR", "ctrc:max"));
        Assert.Equal("ERR increment or decrement would overflow", Assert.Throws<RedisServerException>(() => W.Execute("INCRBY", "ctrc:max", 1)).Message);
        Assert.Equal(long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)R.StringGet("ctrc:max"));
    }

    [Fact]
    public void Incr_InACluster_KeepsTheTtl()
    {
        Assert.True(W.StringSet("ctrc:ttl", "5", TimeSpan.FromSeconds(100)));
        Assert.Equal(6, (long)R.Execute("INCR", "ctrc:ttl"));
        var ttl = W.KeyTimeToLive("ctrc:ttl");
        Assert.True(ttl is { TotalSeconds: > 50 and <= 100 }, $"TTL after INCR: {ttl}");
    }

    [Fact]
    public void IncrByFloat_InACluster_IsRefusedWithTheReasonAndWritesNothing()
    {
        var error = Assert.Throws<RedisServerException>(() => W.Execute("INCRBYFLOAT", "ctrc:f", "1.5"));
        Assert.StartsWith("ERR INCRBYFLOAT is not supported in a cluster", error.Message, StringComparison.Ordinal);
        Assert.False(R.KeyExists("ctrc:f"));
    }

    [Fact]
    public void Incr_VersionedSiblings_IsRefusedWithTheReason()
    {
        // Two KV.PUTs without a context are concurrent: siblings, which a counter cannot add to.
        W.Execute("KV.PUT", "ctrc:sib", "1");
        R.Execute("KV.PUT", "ctrc:sib", "2");
        var error = Assert.Throws<RedisServerException>(() => W.Execute("INCR", "ctrc:sib"));
        Assert.StartsWith("ERR the key holds versioned values", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Incr_ManyClientsThroughEveryNode_NoIncrementLostOrDoubled()
    {
        var nodes = new[] { fixture.Writer, fixture.Reader };
        const int PerClient = 100;
        var tasks = Enumerable.Range(0, 8).Select(client => Task.Run(async () =>
        {
            var db = nodes[client % nodes.Length];
            for (var i = 0; i < PerClient; i++)
            {
                await db.ExecuteAsync("INCRBY", "ctrc:race", (client % 3) + 1);
            }
        }));
        await Task.WhenAll(tasks);
        var expected = Enumerable.Range(0, 8).Sum(client => ((client % 3) + 1) * PerClient);
        Assert.Equal(expected, (long)R.StringGet("ctrc:race"));
        Assert.Equal(expected, (long)W.StringGet("ctrc:race"));
    }
}
