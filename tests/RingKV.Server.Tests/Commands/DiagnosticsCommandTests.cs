using System;
using System.Linq;
using System.Text;
using RingKV.Server.Tests.Support;
using RingKV.Testing.Processes;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>A server started with its slow log and latency monitor set by flags.</summary>
public sealed class DiagnosticsServerFixture() : ServerFixture(["--slowlog-log-slower-than", "0", "--slowlog-max-len", "50", "--latency-monitor-threshold", "0"]);

/// <summary>SLOWLOG, LATENCY, DEBUG SLEEP and the CONFIG SET of their thresholds, with Redis 7's reply shapes and errors.</summary>
/// <remarks>Each test sets the thresholds it needs: the cases of the class share one server and run one after another.</remarks>
public sealed class DiagnosticsCommandTests(DiagnosticsServerFixture fixture) : IClassFixture<DiagnosticsServerFixture>
{
    private static object?[] Entries(RawClient raw, object count) => (object?[])raw.Call("SLOWLOG", "GET", count)!;

    private static string[] Arguments(object? entry) => ((object?[])((object?[])entry!)[3]!).Select(a => Encoding.UTF8.GetString((byte[])a!)).ToArray();

    [Fact]
    public void Flags_SetTheThresholds_ConfigGetShowsThem()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "50", "latency-monitor-threshold", "0"));
        Assert.Equal("[slowlog-log-slower-than, 0, slowlog-max-len, 50]", raw.CallText("CONFIG", "GET", "slowlog-*"));
        Assert.Equal("[latency-monitor-threshold, 0]", raw.CallText("CONFIG", "GET", "latency-monitor-threshold"));
    }

    [Fact]
    public void SlowLog_ThresholdZero_LogsEveryCommandNewestFirstInRedisShape()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "50"));
        Assert.Equal("+OK", raw.CallText("CLIENT", "SETNAME", "diag-client"));
        Assert.Equal("+OK", raw.CallText("SLOWLOG", "RESET"));
        Assert.Equal("+OK", raw.CallText("SET", "diag:shape", "v1"));
        Assert.Equal("v1", raw.CallText("GET", "diag:shape"));

        var entries = Entries(raw, 3);
        Assert.Equal(3, entries.Length);
        var get = (object?[])entries[0]!;
        var set = (object?[])entries[1]!;
        Assert.Equal(6, get.Length);
        Assert.Equal(["GET", "diag:shape"], Arguments(get));
        Assert.Equal(["SET", "diag:shape", "v1"], Arguments(set));
        Assert.Equal(["SLOWLOG", "RESET"], Arguments(entries[2]));
        Assert.True((long)get[0]! > (long)set[0]!, "ids grow with each entry");
        Assert.InRange((long)get[1]!, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        Assert.True((long)get[2]! >= 0, "a duration in microseconds");
        Assert.StartsWith("127.0.0.1:", Encoding.UTF8.GetString((byte[])get[4]!), StringComparison.Ordinal);
        Assert.Equal("diag-client", Encoding.UTF8.GetString((byte[])get[5]!));

        // LEN counts what is kept; GET -1 is everything; AUTH and EXEC are never logged, the commands EXEC ran are.
        Assert.Equal(":4", raw.CallText("SLOWLOG", "LEN")); // SLOWLOG RESET, SET, GET, SLOWLOG GET: a command is logged once it ran
        Assert.Equal(5, Entries(raw, -1).Length);
        Assert.Equal("+OK", raw.CallText("MULTI"));
        Assert.Equal("+QUEUED", raw.CallText("SET", "diag:multi", "x"));
        Assert.Equal("[+OK]", raw.CallText("EXEC"));
        Assert.StartsWith("-", raw.CallText("AUTH", "nosuch-password"), StringComparison.Ordinal);
        var latest = Entries(raw, 3).Select(e => string.Join(' ', Arguments(e))).ToArray();
        Assert.Equal(["SET diag:multi x", "MULTI", "SLOWLOG GET -1"], latest);
    }

    [Fact]
    public void SlowLog_LongCommands_CutAtRedisLimits()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("CONFIG", "SET", "slowlog-log-slower-than", "0"));
        var value = new string('a', 200);
        Assert.Equal("+OK", raw.CallText("SET", "diag:long", value));
        Assert.Equal(["SET", "diag:long", new string('a', 128) + "... (72 more bytes)"], Arguments(Entries(raw, 1)[0]));

        // A pipelined-style INCRBY joins the run of deferred writes on a single node: logged with its own name and amount.
        Assert.Equal(":5", raw.CallText("INCRBY", "diag:counter", "5"));
        Assert.Equal(["INCRBY", "diag:counter", "5"], Arguments(Entries(raw, 1)[0]));

        var keys = Enumerable.Range(0, 40).Select(i => (object)$"diag:many:{i}").Prepend("EXISTS").ToArray();
        Assert.Equal(":0", raw.CallText(keys));
        var logged = Arguments(Entries(raw, 1)[0]);
        Assert.Equal(32, logged.Length);
        Assert.Equal("diag:many:29", logged[30]);
        Assert.Equal("... (10 more arguments)", logged[31]); // 41 arguments: 31 kept, the 32nd says how many more
    }

    [Fact]
    public void SlowLog_MaxLenAndThresholds_KeepNewestOrNothing()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "2"));
        for (var i = 0; i < 5; i++)
        {
            raw.CallText("GET", $"diag:max:{i}");
        }

        Assert.Equal(":2", raw.CallText("SLOWLOG", "LEN"));
        Assert.Equal(["GET", "diag:max:4"], Arguments(Entries(raw, 10)[1]));

        // -1 logs nothing; a high threshold logs nothing quick.
        Assert.Equal("+OK", raw.CallText("CONFIG", "SET", "slowlog-log-slower-than", "-1", "slowlog-max-len", "50"));
        Assert.Equal("+OK", raw.CallText("SLOWLOG", "RESET"));
        raw.CallText("GET", "diag:off");
        Assert.Equal(":0", raw.CallText("SLOWLOG", "LEN"));
        Assert.Equal("+OK", raw.CallText("CONFIG", "SET", "slowlog-log-slower-than", "10000000"));
        raw.CallText("GET", "diag:off");
        Assert.Equal(":0", raw.CallText("SLOWLOG", "LEN"));
    }

    [Fact]
    public void SlowLog_AsynchronousCommand_LoggedWithItsArguments()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("CONFIG", "SET", "slowlog-log-slower-than", "20000", "slowlog-max-len", "50"));
        Assert.Equal("+OK", raw.CallText("SLOWLOG", "RESET"));
        Assert.Equal("+OK", raw.CallText("DEBUG", "SLEEP", "0.05"));
        var entry = (object?[])Entries(raw, 10).Single()!;
        Assert.Equal(["DEBUG", "SLEEP", "0.05"], Arguments(entry));
        Assert.True((long)entry[2]! >= 50_000, $"slept 50 ms but logged {entry[2]} us");
    }

    [Fact]
    public void SlowLogAndConfig_BadInput_RedisErrorsAndNothingChanges()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "50"));
        Assert.Equal("-ERR count should be greater than or equal to -1", raw.CallText("SLOWLOG", "GET", "-2"));
        Assert.Equal("-ERR count should be greater than or equal to -1", raw.CallText("SLOWLOG", "GET", "x"));
        Assert.Equal("-ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP.", raw.CallText("SLOWLOG", "get", "1", "2"));
        Assert.Equal("-ERR wrong number of arguments for 'slowlog|len' command", raw.CallText("SLOWLOG", "LEN", "1"));
        Assert.Equal("-ERR unknown subcommand 'nosuch'. Try SLOWLOG HELP.", raw.CallText("SLOWLOG", "nosuch"));
        Assert.Equal("-ERR wrong number of arguments for 'slowlog' command", raw.CallText("SLOWLOG"));

        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument couldn't be parsed into an integer", raw.CallText("CONFIG", "SET", "slowlog-max-len", "abc"));
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be between -1 and 9223372036854775807 inclusive", raw.CallText("CONFIG", "SET", "slowlog-log-slower-than", "-5"));

        // A bad pair anywhere applies none of them.
        Assert.StartsWith("-ERR CONFIG SET failed", raw.CallText("CONFIG", "SET", "slowlog-max-len", "7", "latency-monitor-threshold", "-1"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR CONFIG SET is not supported for 'maxclients'", raw.CallText("CONFIG", "SET", "slowlog-max-len", "7", "maxclients", "5"), StringComparison.Ordinal);
        Assert.Equal("[slowlog-max-len, 50]", raw.CallText("CONFIG", "GET", "slowlog-max-len"));
        Assert.Equal("-ERR wrong number of arguments for 'config|set' command", raw.CallText("CONFIG", "SET", "slowlog-max-len", "7", "slowlog-log-slower-than"));
    }

    [Fact]
    public void Latency_SlowCommand_SampledUnderItsEventUntilReset()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("CONFIG", "SET", "latency-monitor-threshold", "0"));
        raw.Call("LATENCY", "RESET");
        Assert.StartsWith("Latency monitoring is off", raw.CallText("LATENCY", "DOCTOR"), StringComparison.Ordinal);
        Assert.Equal("+OK", raw.CallText("DEBUG", "SLEEP", "0.03"));
        Assert.Equal("[]", raw.CallText("LATENCY", "LATEST")); // off: nothing sampled

        Assert.Equal("+OK", raw.CallText("CONFIG", "SET", "latency-monitor-threshold", "20"));
        Assert.Equal("+OK", raw.CallText("DEBUG", "SLEEP", "0.03"));
        raw.CallText("GET", "diag:fast"); // far under 20 ms: not sampled
        var latest = (object?[])raw.Call("LATENCY", "LATEST")!;
        var command = (object?[])Assert.Single(latest)!;
        Assert.Equal("command", Encoding.UTF8.GetString((byte[])command[0]!));
        Assert.InRange((long)command[1]!, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        Assert.True((long)command[2]! >= 30, $"latest {command[2]} ms");
        Assert.True((long)command[3]! >= (long)command[2]!, "the maximum is at least the latest");

        var history = (object?[])raw.Call("LATENCY", "HISTORY", "command")!;
        var sample = (object?[])Assert.Single(history)!;
        Assert.Equal(command[1], sample[0]);
        Assert.Equal("[]", raw.CallText("LATENCY", "HISTORY", "nosuch"));
        Assert.Contains("command: 1 latency spikes", raw.CallText("LATENCY", "DOCTOR"), StringComparison.Ordinal);
        Assert.Equal("-ERR No samples available for event 'nosuch'", raw.CallText("LATENCY", "GRAPH", "nosuch"));

        Assert.Equal(":0", raw.CallText("LATENCY", "RESET", "fast-command", "nosuch"));
        Assert.Equal(":1", raw.CallText("LATENCY", "RESET", "command"));
        Assert.Equal("[]", raw.CallText("LATENCY", "LATEST"));
        Assert.Equal("-ERR wrong number of arguments for 'latency|history' command", raw.CallText("LATENCY", "HISTORY"));
        Assert.Equal("-ERR unknown subcommand 'nosuch'. Try LATENCY HELP.", raw.CallText("LATENCY", "nosuch"));
        Assert.Equal("+OK", raw.CallText("CONFIG", "SET", "latency-monitor-threshold", "0"));
    }

    [Fact]
    public void LatencyHistogram_CountsEveryCallInCumulativeBuckets()
    {
        using var raw = fixture.Server.ConnectRaw();
        for (var i = 0; i < 40; i++)
        {
            raw.CallText("STRLEN", "diag:histogram");
        }

        var reply = (object?[])raw.Call("LATENCY", "HISTOGRAM", "strlen", "nosuch-command")!;
        Assert.Equal(2, reply.Length); // one map pair: strlen
        Assert.Equal("strlen", Encoding.UTF8.GetString((byte[])reply[0]!));
        var figures = (object?[])reply[1]!;
        Assert.Equal("calls", Encoding.UTF8.GetString((byte[])figures[0]!));
        var calls = (long)figures[1]!;
        Assert.True(calls >= 40, $"{calls} calls");
        var buckets = (object?[])figures[3]!;
        long previousBound = 0, previousCount = 0;
        for (var i = 0; i < buckets.Length; i += 2)
        {
            var bound = (long)buckets[i]!;
            var cumulative = (long)buckets[i + 1]!;
            Assert.True(bound > previousBound && cumulative > previousCount, "buckets and cumulative counts grow");
            Assert.Equal(0, bound & (bound - 1)); // powers of two
            (previousBound, previousCount) = (bound, cumulative);
        }

        Assert.Equal(calls, previousCount);
        Assert.Equal("[]", raw.CallText("LATENCY", "HISTOGRAM", "nosuch-command"));
        var all = (object?[])raw.Call("LATENCY", "HISTOGRAM")!;
        Assert.Contains("strlen", all.Where((_, i) => i % 2 == 0).Select(n => Encoding.UTF8.GetString((byte[])n!)));
    }

    [Fact]
    public void DebugSleep_BadInput_ClearErrors()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("DEBUG", "SLEEP", "0"));
        Assert.Equal("-ERR DEBUG SLEEP takes a number of seconds between 0 and 3600", raw.CallText("DEBUG", "SLEEP", "abc"));
        Assert.Equal("-ERR DEBUG SLEEP takes a number of seconds between 0 and 3600", raw.CallText("DEBUG", "SLEEP", "-1"));
        Assert.Equal("-ERR wrong number of arguments for 'debug|sleep' command", raw.CallText("DEBUG", "SLEEP"));
        Assert.StartsWith("-ERR DEBUG OBJECT is not supported by RingKV", raw.CallText("DEBUG", "OBJECT", "k"), StringComparison.Ordinal);
    }
}

/// <summary>The slow log through a cluster: every command there completes asynchronously, after its quorum.</summary>
[Collection(ThreeNodeCluster.Collection)]
public sealed class DiagnosticsClusterTests(ThreeNodeCluster cluster)
{
    [Fact]
    public void SlowLog_CoordinatedWrite_LoggedOnItsCoordinatorWithArguments()
    {
        using var raw = new RawClient(cluster.WriterEndPoint);
        try
        {
            Assert.Equal("+OK", raw.CallText("CONFIG", "SET", "slowlog-log-slower-than", "0"));
            Assert.Equal("+OK", raw.CallText("SET", "diag:cluster", "coordinated"));
            Assert.Equal("coordinated", raw.CallText("GET", "diag:cluster"));
            var entries = ((object?[])raw.Call("SLOWLOG", "GET", "2")!).Select(e => string.Join(' ', ((object?[])((object?[])e!)[3]!).Select(a => Encoding.UTF8.GetString((byte[])a!)))).ToArray();
            Assert.Equal(["GET diag:cluster", "SET diag:cluster coordinated"], entries);
        }
        finally
        {
            raw.CallText("CONFIG", "SET", "slowlog-log-slower-than", "10000");
        }
    }
}
