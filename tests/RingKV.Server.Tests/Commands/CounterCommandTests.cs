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

/// <summary>Through a cluster the counters are refused, with a message saying why, until their CRDT lands.</summary>
[Collection(ThreeNodeCluster.Collection)]
public sealed class CounterClusterTests(ThreeNodeCluster fixture)
{
    [Theory]
    [InlineData("INCR")]
    [InlineData("DECR")]
    [InlineData("INCRBY", "2")]
    [InlineData("DECRBY", "2")]
    [InlineData("INCRBYFLOAT", "1.5")]
    public void Counters_InACluster_AreRefusedAndWriteNothing(string command, params string[] amount)
    {
        var error = Assert.Throws<RedisServerException>(() => fixture.Writer.Execute(command, ["ctrc:k", .. amount]));
        Assert.StartsWith("ERR INCR, DECR, INCRBY, DECRBY and INCRBYFLOAT are not supported in a cluster yet", error.Message, StringComparison.Ordinal);
        Assert.False(fixture.Reader.KeyExists("ctrc:k"));
    }
}
