using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using RingKV.Server.Tests.Support;
using RingKV.Testing.Processes;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>Pipelined and concurrent clients, and TTL expiry, against one server.</summary>
/// <remarks>
/// The server runs with --sync periodic:100: with sync always, every write on one connection waits for its own
/// fsync (pipelined writes do not share one), so 10,000 pipelined SETs take about 10 s on a slow disk.
/// </remarks>
public sealed class LoadTests(LoadTests.PeriodicSyncServer fixture) : IClassFixture<LoadTests.PeriodicSyncServer>
{
    private readonly IDatabase _db = fixture.Db;

    [Fact]
    public async Task Set_TenThousandFireAndForget_AllReadBack()
    {
        const int Count = 10_000;
        for (var i = 0; i < Count; i++)
        {
            _db.StringSet($"pipe:{i}", $"value-{i}", flags: CommandFlags.FireAndForget);
        }

        // Replies come in order on one connection: once this GET answers, every SET before it was executed.
        Assert.Equal($"value-{Count - 1}", (string?)await _db.StringGetAsync($"pipe:{Count - 1}"));

        var reads = new Task<RedisValue>[Count];
        for (var i = 0; i < Count; i++)
        {
            reads[i] = _db.StringGetAsync($"pipe:{i}");
        }

        var values = await Task.WhenAll(reads);
        for (var i = 0; i < Count; i++)
        {
            Assert.Equal($"value-{i}", (string?)values[i]);
        }
    }

    [Fact]
    public async Task Set_TenThousandInOneWrite_TenThousandRepliesInOrder()
    {
        const int Count = 10_000;
        using var raw = fixture.Server.ConnectRaw();
        var requests = new List<byte>();
        for (var i = 0; i < Count; i++)
        {
            requests.AddRange(RawClient.Encode("SET", $"rawpipe:{i}", $"v{i}"));
        }

        for (var i = 0; i < Count; i++)
        {
            requests.AddRange(RawClient.Encode("GET", $"rawpipe:{i}"));
        }

        // Sent while the replies are read, so neither side's socket buffer fills up and blocks the other.
        var send = Task.Run(() => raw.Send(requests.ToArray()), TestContext.Current.CancellationToken);
        for (var i = 0; i < Count; i++)
        {
            Assert.Equal("+OK", RawClient.Describe(raw.Read()));
        }

        for (var i = 0; i < Count; i++)
        {
            Assert.Equal($"v{i}", RawClient.Describe(raw.Read()));
        }

        await send;
    }

    [Fact]
    public void PipelinedMixedCommands_OneWrite_RepliesInOrderAndReadsSeeEarlierSets()
    {
        using var raw = fixture.Server.ConnectRaw();
        raw.Send(RawClient.Encode("SET", "mixed:ttl", "t", "EX", 100));
        Assert.Equal("+OK", RawClient.Describe(raw.Read()));
        var requests = new List<byte>();
        requests.AddRange(RawClient.Encode("SET", "mixed:a", "1"));
        requests.AddRange(RawClient.Encode("GET", "mixed:a"));
        requests.AddRange(RawClient.Encode("SET", "mixed:a", "2"));
        requests.AddRange(RawClient.Encode("SET", "mixed:a", "3"));
        requests.AddRange(RawClient.Encode("GET", "mixed:a"));
        requests.AddRange(RawClient.Encode("SET", "", "empty-key"));
        requests.AddRange(RawClient.Encode("SET", "mixed:ttl", "plain"));
        requests.AddRange(RawClient.Encode("TTL", "mixed:ttl"));
        requests.AddRange(RawClient.Encode("SET", "mixed:b", "x"));
        requests.AddRange(RawClient.Encode("DEL", "mixed:b"));
        requests.AddRange(RawClient.Encode("SET", "mixed:c", "y"));
        requests.AddRange(RawClient.Encode("QUIT"));
        raw.Send(requests.ToArray());
        var replies = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            replies.Add(RawClient.Describe(raw.Read()));
        }

        Assert.Equal("+OK|1|+OK|+OK|3|-ERR|+OK|:-1|+OK|:1|+OK|+OK", string.Join('|', replies.Select(r => r.StartsWith("-ERR", StringComparison.Ordinal) ? "-ERR" : r)));
        Assert.True(raw.ReadUntilClosed(TimeSpan.FromSeconds(10)).Closed);
        Assert.Equal("y", (string?)_db.StringGet("mixed:c"));
        Assert.False(_db.KeyExists("mixed:b"));
    }

    [Fact]
    public async Task PipelinedLargeSets_SixtyFourOfOneMiB_AllStored()
    {
        const int Count = 64;
        var value = new byte[1 << 20];
        using var raw = fixture.Server.ConnectRaw();
        var requests = new List<byte>();
        for (var i = 0; i < Count; i++)
        {
            value[0] = (byte)i;
            requests.AddRange(RawClient.Encode("SET", $"bigpipe:{i}", value));
        }

        var send = Task.Run(() => raw.Send(requests.ToArray()), TestContext.Current.CancellationToken);
        for (var i = 0; i < Count; i++)
        {
            Assert.Equal("+OK", RawClient.Describe(raw.Read()));
        }

        await send;
        for (var i = 0; i < Count; i += 9)
        {
            var stored = (byte[]?)await _db.StringGetAsync($"bigpipe:{i}");
            Assert.NotNull(stored);
            Assert.Equal(value.Length, stored.Length);
            Assert.Equal((byte)i, stored[0]);
        }

        Assert.Equal(1L, await _db.KeyDeleteAsync(Enumerable.Range(0, 1).Select(i => (RedisKey)$"bigpipe:{i}").ToArray()));
    }

    [Fact]
    public async Task ConcurrentClients_DistinctAndSharedKeys_ConsistentFinalState()
    {
        const int Tasks = 8;
        const int OpsPerTask = 1_000;
        const int SharedKeys = 10;
        var clients = Enumerable.Range(0, Tasks).Select(_ => fixture.Server.Connect()).ToArray();
        var workers = Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            var db = clients[t].GetDatabase();
            for (var i = 0; i < OpsPerTask; i++)
            {
                if (i % 2 == 0)
                {
                    await db.StringSetAsync($"conc:{t}:{i}", $"{t}-{i}");
                }
                else
                {
                    await db.StringSetAsync($"conc:shared:{i / 2 % SharedKeys}", $"{t}-{i}");
                    var own = await db.StringGetAsync($"conc:{t}:{i - 1}");
                    Assert.Equal($"{t}-{i - 1}", (string?)own);
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);

        for (var t = 0; t < Tasks; t++)
        {
            for (var i = 0; i < OpsPerTask; i += 2)
            {
                Assert.Equal($"{t}-{i}", (string?)await _db.StringGetAsync($"conc:{t}:{i}"));
            }
        }

        for (var k = 0; k < SharedKeys; k++)
        {
            // Each shared key holds one value some task wrote to it, and plain SETs left exactly one sibling.
            var value = (string?)await _db.StringGetAsync($"conc:shared:{k}");
            Assert.NotNull(value);
            var parts = value.Split('-');
            Assert.Equal(k, int.Parse(parts[1], CultureInfo.InvariantCulture) / 2 % SharedKeys);
            Assert.InRange(int.Parse(parts[0], CultureInfo.InvariantCulture), 0, Tasks - 1);
            var siblings = (RedisResult[])((RedisResult[])(await _db.ExecuteAsync("KV.GET", $"conc:shared:{k}"))!)[1]!;
            Assert.Equal(value, (string?)Assert.Single(siblings));
        }
    }

    [Fact]
    public async Task SetPx_300ms_ExpiresWithinDeadline()
    {
        // The clock starts before the SET is sent, so a slow machine only makes the observed lifetime longer: the key
        // cannot expire earlier than 300 ms after the server took the SET, which is after this point.
        var clock = Stopwatch.StartNew();
        Assert.Equal("OK", (string?)await _db.ExecuteAsync("SET", "ttl:px", "v", "PX", 300));
        var pttl = (long)await _db.ExecuteAsync("PTTL", "ttl:px");
        Assert.True(pttl is -2 or (>= 0 and <= 300), $"PTTL {pttl}: expected 0-300, or -2 when the round trips alone took longer than 300 ms");

        // Waiting for expiry is the one wait that is about time: poll with a deadline.
        while (!(await _db.StringGetAsync("ttl:px")).IsNull)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "a key with PX 300 still readable after 10 s");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        // 250, not 300: the server's wall clock and this process's monotonic clock may disagree by a few ms.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(250), $"the key expired after only {clock.ElapsedMilliseconds} ms of 300");
        Assert.Equal(-2L, (long)await _db.ExecuteAsync("TTL", "ttl:px"));
        Assert.False(await _db.KeyExistsAsync("ttl:px"));
        Assert.True((await _db.ExecuteAsync("KV.GET", "ttl:px")).IsNull);
        var scanned = fixture.Admin.Keys(pattern: "ttl:px*").Select(k => (string)k!).ToList();
        Assert.Empty(scanned);
    }

    [Fact]
    public void Set_LargeValue_RoundTrips()
    {
        var value = new byte[512 * 1024];
        for (var i = 0; i < value.Length; i++)
        {
            value[i] = (byte)(i * 31);
        }

        _db.StringSet("large:1", value);
        Assert.Equal(value, (byte[]?)_db.StringGet("large:1"));
    }

    public sealed class PeriodicSyncServer : ServerFixture
    {
        public PeriodicSyncServer()
            : base(["--sync", "periodic:100"])
        {
        }
    }
}
