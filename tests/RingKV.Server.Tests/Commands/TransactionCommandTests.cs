using System;
using System.IO;
using System.Net;
using System.Threading.Tasks;
using RingKV.Server.Tests.EndToEnd;
using RingKV.Server.Tests.Support;
using RingKV.Testing.Processes;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>
/// MULTI, EXEC, DISCARD, WATCH, UNWATCH over raw connections, StackExchange.Redis's transactions and redis-py's
/// default pipeline, on a single node and through a 3-node cluster. Replies are redis-server 7.0's for the same
/// sequences (checked side by side).
/// </summary>
public abstract class TransactionCases
{
    /// <summary>The node transactions run on.</summary>
    protected abstract IPEndPoint WriterEndPoint { get; }

    /// <summary>Another node (the same one on a single node): other clients' writes go there.</summary>
    protected abstract IPEndPoint OtherEndPoint { get; }

    protected abstract IDatabase Writer { get; }

    [Fact]
    public void Exec_RunsTheQueueInOrder_AnswersEveryReply()
    {
        using var c = new RawClient(WriterEndPoint);
        Assert.Equal("+OK", c.CallText("MULTI"));
        Assert.Equal("+QUEUED", c.CallText("SET", "tx:a", "1"));
        Assert.Equal("+QUEUED", c.CallText("APPEND", "tx:a", "2"));
        Assert.Equal("+QUEUED", c.CallText("GET", "tx:a"));
        Assert.Equal("+QUEUED", c.CallText("GETRANGE", "tx:a", "x", "1"));
        Assert.Equal("+QUEUED", c.CallText("DEL", "tx:a"));
        Assert.Equal("[+OK, :2, 12, -ERR value is not an integer or out of range, :1]", c.CallText("EXEC"));
        Assert.Equal("(nil)", c.CallText("GET", "tx:a"));
    }

    [Fact]
    public void Exec_AfterAQueueingError_IsAbortedAndRunsNothing()
    {
        using var c = new RawClient(WriterEndPoint);
        c.CallText("MULTI");
        Assert.Equal("+QUEUED", c.CallText("SET", "tx:abort", "1"));
        Assert.StartsWith("-ERR unknown command 'NOSUCH'", c.CallText("NOSUCH", "x"), StringComparison.Ordinal);
        Assert.Equal("-ERR wrong number of arguments for 'get' command", c.CallText("GET"));
        Assert.Equal("-EXECABORT Transaction discarded because of previous errors.", c.CallText("EXEC"));
        Assert.Equal("(nil)", c.CallText("GET", "tx:abort"));
    }

    [Fact]
    public void Discard_DropsTheQueue_MisplacedCommandsAreErrors()
    {
        using var c = new RawClient(WriterEndPoint);
        Assert.Equal("-ERR EXEC without MULTI", c.CallText("EXEC"));
        Assert.Equal("-ERR DISCARD without MULTI", c.CallText("DISCARD"));
        c.CallText("MULTI");
        Assert.Equal("-ERR MULTI calls can not be nested", c.CallText("MULTI"));
        Assert.Equal("-ERR WATCH inside MULTI is not allowed", c.CallText("WATCH", "tx:d"));
        Assert.Equal("+QUEUED", c.CallText("SET", "tx:d", "1"));
        Assert.Equal("+OK", c.CallText("DISCARD"));
        Assert.Equal("(nil)", c.CallText("GET", "tx:d"));
        Assert.Equal("-ERR EXEC without MULTI", c.CallText("EXEC"));
    }

    [Fact]
    public void Watch_WriteByAnotherClient_FailsTheExec()
    {
        using var c = new RawClient(WriterEndPoint);
        using var other = new RawClient(OtherEndPoint);
        c.CallText("SET", "tx:w", "0");
        Assert.Equal("+OK", c.CallText("WATCH", "tx:w"));
        Assert.Equal("+OK", other.CallText("SET", "tx:w", "0")); // the same value, a new write
        c.CallText("MULTI");
        c.CallText("SET", "tx:w", "mine");
        Assert.Equal("(nil)", c.CallText("EXEC"));
        Assert.Equal("0", c.CallText("GET", "tx:w"));

        // EXEC forgot the watch: the next transaction runs.
        c.CallText("MULTI");
        c.CallText("SET", "tx:w", "mine");
        Assert.Equal("[+OK]", c.CallText("EXEC"));
    }

    [Fact]
    public void Watch_UnchangedKeys_LetTheExecRun_UnwatchForgetsThem()
    {
        using var c = new RawClient(WriterEndPoint);
        using var other = new RawClient(OtherEndPoint);
        c.CallText("SET", "tx:u1", "v");
        Assert.Equal("+OK", c.CallText("WATCH", "tx:u1", "tx:u-absent"));
        c.CallText("MULTI");
        c.CallText("SET", "tx:u1", "w");
        Assert.Equal("[+OK]", c.CallText("EXEC"));

        c.CallText("WATCH", "tx:u1");
        other.CallText("SET", "tx:u1", "theirs");
        Assert.Equal("+OK", c.CallText("UNWATCH"));
        c.CallText("MULTI");
        c.CallText("SET", "tx:u1", "mine");
        Assert.Equal("[+OK]", c.CallText("EXEC"));

        // (Which of "theirs" and "mine" a GET then sees is last-writer-wins by stamp: in a cluster two writes through
        // two coordinators within the same millisecond may order either way, so it is not asserted here.)
    }

    [Fact]
    public void Watch_ExpiryChangeOrAbsentKeyCreated_FailsTheExec()
    {
        using var c = new RawClient(WriterEndPoint);
        using var other = new RawClient(OtherEndPoint);
        c.CallText("SET", "tx:e", "v");
        c.CallText("WATCH", "tx:e", "tx:e-absent");
        other.CallText("EXPIRE", "tx:e", "1000");
        c.CallText("MULTI");
        c.CallText("SET", "tx:e", "mine");
        Assert.Equal("(nil)", c.CallText("EXEC"));

        c.CallText("WATCH", "tx:e-absent");
        other.CallText("SET", "tx:e-absent", "now here");
        c.CallText("MULTI");
        c.CallText("DEL", "tx:e-absent");
        Assert.Equal("(nil)", c.CallText("EXEC"));
        Assert.Equal("now here", c.CallText("GET", "tx:e-absent"));
    }

    [Fact]
    public void Exec_PipelinedWithTheCommandsAfterIt_TheyWaitForIt()
    {
        // One receive: the GET after EXEC must see the EXEC's SET (EXEC is a barrier for later commands).
        using var c = new RawClient(WriterEndPoint);
        for (var round = 0; round < 20; round++)
        {
            var key = $"tx:pipe{round}";
            c.Send([.. RawClient.Encode("MULTI"), .. RawClient.Encode("SET", key, "v"), .. RawClient.Encode("EXEC"), .. RawClient.Encode("GET", key)]);
            Assert.Equal("+OK", RawClient.Describe(c.Read()));
            Assert.Equal("+QUEUED", RawClient.Describe(c.Read()));
            Assert.Equal("[+OK]", RawClient.Describe(c.Read()));
            Assert.Equal("v", RawClient.Describe(c.Read()));
        }
    }

    [Fact]
    public async Task StackExchangeRedis_Transaction_CommitsAndHonoursItsCondition()
    {
        var tran = Writer.CreateTransaction();
        tran.AddCondition(Condition.KeyNotExists("tx:se"));
        var set = tran.StringSetAsync("tx:se", "first");
        var append = tran.StringAppendAsync("tx:se", "+more");
        Assert.True(await tran.ExecuteAsync());
        Assert.True(await set);
        Assert.Equal(10, await append);
        Assert.Equal("first+more", (string?)await Writer.StringGetAsync("tx:se"));

        var again = Writer.CreateTransaction();
        again.AddCondition(Condition.KeyNotExists("tx:se"));
        _ = again.StringSetAsync("tx:se", "second");
        _ = again.StringAppendAsync("tx:se", "!");
        Assert.False(await again.ExecuteAsync());
        Assert.Equal("first+more", (string?)await Writer.StringGetAsync("tx:se"));

        var equal = Writer.CreateTransaction();
        equal.AddCondition(Condition.StringEqual("tx:se", "first+more"));
        _ = equal.StringSetAsync("tx:se", "third");
        _ = equal.StringAppendAsync("tx:se", "!");
        Assert.True(await equal.ExecuteAsync());
        Assert.Equal("third!", (string?)await Writer.StringGetAsync("tx:se"));
    }

    [Fact]
    public void RedisPy_DefaultPipeline_IsATransactionThatWorks()
    {
        // redis-py's pipeline() is transactional by default (MULTI ... EXEC); watch() with a write in between raises WatchError.
        var python = "/usr/bin/python3";
        if (!File.Exists(python) || RedisCliTests.Run(python, "-c", "import importlib.util,sys; print(importlib.util.find_spec('redis') is not None)").Trim() != "True")
        {
            const string missing = "redis-py is not installed (Debian: apt-get install python3-redis)";
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                Assert.Fail(missing + "; CI requires it");
            }

            Assert.Skip(missing);
        }

        var script = string.Join('\n',
            "import redis, sys",
            $"r = redis.Redis(host='127.0.0.1', port={WriterEndPoint.Port})",
            $"o = redis.Redis(host='127.0.0.1', port={OtherEndPoint.Port})",
            "p = r.pipeline()",
            "p.set('tx:py', 'a').append('tx:py', 'b').get('tx:py').strlen('tx:py')",
            "print(p.execute())",
            "p = r.pipeline()",
            "p.watch('tx:py')",
            "o.set('tx:py', 'other')",
            "p.multi()",
            "p.set('tx:py', 'mine')",
            "try:",
            "    p.execute()",
            "    print('no WatchError')",
            "except redis.WatchError:",
            "    print('WatchError')",
            "print(r.get('tx:py'))");
        var output = RedisCliTests.Run(python, "-c", script).Replace("\r", "", StringComparison.Ordinal);
        Assert.Equal("[True, 2, b'ab', 2]\nWatchError\nb'other'\n", output);
    }
}

public sealed class TransactionSingleNodeTests(ServerFixture fixture) : TransactionCases, IClassFixture<ServerFixture>
{
    protected override IPEndPoint WriterEndPoint => fixture.Server.EndPoint;

    protected override IPEndPoint OtherEndPoint => fixture.Server.EndPoint;

    protected override IDatabase Writer => fixture.Db;
}

[Collection(ThreeNodeCluster.Collection)]
public sealed class TransactionClusterTests(ThreeNodeCluster fixture) : TransactionCases
{
    protected override IPEndPoint WriterEndPoint => fixture.WriterEndPoint;

    protected override IPEndPoint OtherEndPoint => fixture.ReaderEndPoint;

    protected override IDatabase Writer => fixture.Writer;
}
