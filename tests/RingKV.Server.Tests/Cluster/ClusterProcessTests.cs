using System;
using System.Linq;
using System.Threading.Tasks;
using RingKV.Testing.Processes;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.Cluster;

/// <summary>Real <c>ringkv serve</c> processes forming a cluster on loopback (issue 11 §9).</summary>
[Collection("cluster processes")]
public sealed class ClusterProcessTests
{
    private static readonly TimeSpan DownDeadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ThreeNodes_WriteThroughOne_ReadThroughEveryOtherAtEveryLevel()
    {
        using var cluster = new LocalCluster(3);
        var ring = LocalCluster.Ring(cluster.Nodes[1]);
        Assert.Equal(3, ring.Count);
        var ownership = ring.Values.Sum(n => double.Parse(n["ownership"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(ownership, 0.99, 1.01);

        var writer = cluster.Db(0);
        for (var i = 0; i < 200; i++)
        {
            Assert.True(await writer.StringSetAsync($"k{i}", $"v{i}"));
        }

        foreach (var level in new[] { "ONE", "TWO", "QUORUM", "ALL" })
        {
            for (var n = 1; n < 3; n++)
            {
                var reader = cluster.Db(n);
                Assert.Equal("OK", (string?)await reader.ExecuteAsync("KV.CONSISTENCY", "READ", level));
                for (var i = 0; i < 200; i += 17)
                {
                    Assert.Equal($"v{i}", (string?)await reader.StringGetAsync($"k{i}"));
                }

                var read = (RedisResult[])(await reader.ExecuteAsync("KV.GET", "k3", "CONSISTENCY", level))!;
                Assert.Equal("v3", (string?)((RedisResult[])read[1]!)[0]);
            }
        }

        // MGET through a node fans out: every key's value in key order, nil for a missing one.
        var many = await cluster.Db(2).StringGetAsync([.. Enumerable.Range(0, 50).Select(i => (RedisKey)$"k{i * 4}"), "missing"]);
        Assert.Equal([.. Enumerable.Range(0, 50).Select(i => $"v{i * 4}"), null], many.Select(v => (string?)v).ToArray());

        // EXISTS and DEL of several keys fan out too: duplicates count twice for EXISTS, once for DEL, as in Redis.
        Assert.Equal(3L, (long)await cluster.Db(1).ExecuteAsync("EXISTS", "k1", "k1", "k2", "nope"));
        Assert.Equal(2L, (long)await cluster.Db(1).ExecuteAsync("DEL", "k1", "k1", "k2", "nope"));
        Assert.Equal(0L, (long)await cluster.Db(2).ExecuteAsync("EXISTS", "k1", "k2"));
        Assert.True(await writer.StringSetAsync("k1", "v1"));
        Assert.True(await writer.StringSetAsync("k2", "v2"));

        // The whole keyspace through any node: DBSIZE counts each key once, a full SCAN returns each key once.
        Assert.Equal(200L, (long)await cluster.Db(2).ExecuteAsync("DBSIZE"));
        var keys = cluster.Nodes[1].Connect().GetServer(cluster.Nodes[1].EndPoint).Keys(pageSize: 50).Select(k => (string)k!).ToList();
        Assert.Equal(200, keys.Count);
        Assert.Equal(200, keys.Distinct().Count());
    }

    [Fact]
    public async Task FourNodes_TwoKvPutsAtOnceThroughOneNode_BothStaySiblings()
    {
        // Two clients' KV.PUTs without context through one node are concurrent: both values stay (Riak's allow_mult).
        // N=3 of 4 nodes: each node is a replica of about three keys in four (it coordinates their KV.PUTs) and forwards
        // the others' to a replica; 24 keys over the 4 nodes take both paths.
        using var cluster = new LocalCluster(4);
        var dbs = Enumerable.Range(0, 4).Select(cluster.Db).ToArray();
        for (var i = 0; i < 24; i++)
        {
            var db = dbs[i % 4];
            var first = db.ExecuteAsync("KV.PUT", $"siblings:{i}", "x");
            var second = db.ExecuteAsync("KV.PUT", $"siblings:{i}", "y");
            Assert.Equal("OK", (string?)await first);
            Assert.Equal("OK", (string?)await second);
        }

        for (var i = 0; i < 24; i++)
        {
            var read = (RedisResult[])(await dbs[(i + 1) % 4].ExecuteAsync("KV.GET", $"siblings:{i}", "CONSISTENCY", "ALL"))!;
            var values = ((RedisResult[])read[1]!).Select(v => (string?)v).Order(StringComparer.Ordinal).ToArray();
            Assert.True(values.SequenceEqual(["x", "y"]), $"siblings:{i} through node{i % 4}: [{string.Join(", ", values)}]");
        }
    }

    [Fact]
    public async Task KillOne_MarkedDownQuorumWorksAllFailsClearly_RestartComesBackUp()
    {
        using var cluster = new LocalCluster(3);
        var db = cluster.Db(0);
        Assert.True(await db.StringSetAsync("before", "1"));

        // What the restart will route by before gossip tells it anything: the ring members, in cluster-state.json.
        var stateFile = System.IO.Path.Combine(cluster.Nodes[2].DataDirectory, "cluster-state.json");
        LocalCluster.WaitUntil(() => PersistedMembers(stateFile) == 3, DownDeadline, "node2's cluster-state.json lists the 3 ring members");

        cluster.Nodes[2].Kill();
        LocalCluster.WaitUntil(() => LocalCluster.StatusOf(cluster.Nodes[0], 2) == "DOWN" && LocalCluster.StatusOf(cluster.Nodes[1], 2) == "DOWN", DownDeadline, "node2 DOWN on node0 and node1");

        Assert.True(await db.StringSetAsync("during", "2"));
        Assert.Equal("1", (string?)await cluster.Db(1).StringGetAsync("before"));
        var all = await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("KV.PUT", "k", "v", "CONSISTENCY", "ALL"));
        Assert.Equal("UNAVAILABLE ALL needs 3, 2 alive", all.Message);
        var strict = await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("KV.PUT", "k", "v", "CONSISTENCY", "QUORUM", "STRICT", "CONSISTENCY", "ALL"));
        Assert.StartsWith("ERR syntax error", strict.Message, StringComparison.Ordinal);
        var strictAll = await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("KV.PUT", "k", "v", "CONSISTENCY", "ALL", "STRICT"));
        Assert.Equal("UNAVAILABLE ALL STRICT needs 3, 2 alive", strictAll.Message);
        var strictQuorum = (RedisResult[])(await db.ExecuteAsync("KV.GET", "before", "CONSISTENCY", "QUORUM", "STRICT", "REPAIR"))!;
        Assert.Equal("1", (string?)((RedisResult[])strictQuorum[1]!)[0]);
        var read = await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("KV.GET", "before", "CONSISTENCY", "ALL"));
        Assert.StartsWith("UNAVAILABLE ALL", read.Message, StringComparison.Ordinal);

        cluster.Nodes[2].Restart();
        LocalCluster.WaitUntil(() => LocalCluster.StatusOf(cluster.Nodes[0], 2) == "UP" && LocalCluster.UpNormal(cluster.Nodes[2]) == 3, DownDeadline, "node2 UP again");

        // UP is gossip's verdict; the restarted node's links to its peers may still be connecting (a send before its
        // link is up fails at once), so the first requests at ALL through it can fail until they are: wait for one.
        var restarted = cluster.Db(2);
        LocalCluster.WaitUntil(() => ReadsAtAll(restarted, "before"), DownDeadline, "a read at ALL through the restarted node");
        Assert.Equal("2", (string?)await cluster.Db(2).StringGetAsync("during"));
        var after = (RedisResult[])(await cluster.Db(2).ExecuteAsync("KV.GET", "before", "CONSISTENCY", "ALL"))!;
        Assert.Equal("1", (string?)((RedisResult[])after[1]!)[0]);
    }

    [Fact]
    public async Task FiveNodes_KillOne_DownOnEveryObserverAndEveryKeyStillReadsAtQuorum()
    {
        using var cluster = new LocalCluster(5);
        for (var i = 0; i < 100; i++)
        {
            Assert.True(await cluster.Db(i % 5).StringSetAsync($"five:{i}", $"v{i}"));
        }

        cluster.Nodes[3].Kill();
        LocalCluster.WaitUntil(
            () => new[] { 0, 1, 2, 4 }.All(n => LocalCluster.StatusOf(cluster.Nodes[n], 3) == "DOWN"), DownDeadline, "node3 DOWN on all four others");

        // N=3: every key keeps at least two live replicas, so QUORUM reads and writes go on through any node.
        for (var i = 0; i < 100; i++)
        {
            var db = cluster.Db(new[] { 0, 1, 2, 4 }[i % 4]);
            Assert.Equal($"v{i}", (string?)await db.StringGetAsync($"five:{i}"));
            Assert.True(await db.StringSetAsync($"five:{i}", $"w{i}"));
        }

        Assert.Equal(100L, (long)await cluster.Db(4).ExecuteAsync("DBSIZE"));
    }

    private static int PersistedMembers(string path)
    {
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(System.IO.File.ReadAllText(path));
            return json.RootElement.TryGetProperty("Members", out var members) ? members.GetArrayLength() : 0;
        }
        catch (Exception e) when (e is System.IO.IOException or System.Text.Json.JsonException)
        {
            return -1; // being replaced
        }
    }

    private static bool ReadsAtAll(IDatabase db, string key)
    {
        try
        {
            db.Execute("KV.GET", key, "CONSISTENCY", "ALL");
            return true;
        }
        catch (RedisServerException e) when (e.Message.StartsWith("TIMEOUT", StringComparison.Ordinal) || e.Message.StartsWith("ERR read failed", StringComparison.Ordinal))
        {
            return false;
        }
    }

    [Fact]
    public async Task ConcurrentPutsThroughTwoCoordinators_AreSiblings_ResolvedByAContextWrite()
    {
        using var cluster = new LocalCluster(3);
        var a = cluster.Db(0);
        var b = cluster.Db(1);
        Assert.Equal("OK", (string?)await a.ExecuteAsync("KV.PUT", "cart", "apple"));
        Assert.Equal("OK", (string?)await b.ExecuteAsync("KV.PUT", "cart", "pear"));

        var read = (RedisResult[])(await cluster.Db(2).ExecuteAsync("KV.GET", "cart", "CONSISTENCY", "ALL"))!;
        var siblings = ((RedisResult[])read[1]!).Select(v => (string?)v).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["apple", "pear"], siblings);

        Assert.Equal("OK", (string?)await cluster.Db(2).ExecuteAsync("KV.PUT", "cart", "apple+pear", "CONTEXT", (string)read[0]!));
        var resolved = (RedisResult[])(await a.ExecuteAsync("KV.GET", "cart", "CONSISTENCY", "ALL"))!;
        Assert.Equal(["apple+pear"], ((RedisResult[])resolved[1]!).Select(v => (string?)v).ToArray());
    }

    [Fact]
    public async Task PlainSetsThroughTwoCoordinators_OneWinnerOnEveryReplica_NoSiblings()
    {
        using var cluster = new LocalCluster(3);
        await Task.WhenAll(cluster.Db(0).StringSetAsync("x", "from0"), cluster.Db(1).StringSetAsync("x", "from1"));

        var seen = new string?[3];
        for (var n = 0; n < 3; n++)
        {
            var read = (RedisResult[])(await cluster.Db(n).ExecuteAsync("KV.GET", "x", "CONSISTENCY", "ALL"))!;
            var values = (RedisResult[])read[1]!;
            Assert.Single(values);
            seen[n] = (string?)values[0];
        }

        Assert.Single(seen.Distinct());
    }

    [Fact]
    public void SingleNode_WithoutSeeds_ServesAsBeforeAndListsItselfInTheRing()
    {
        using var node = new ServerProcess();
        using var raw = node.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("SET", "a", "1"));
        var ring = LocalCluster.Ring(node);
        Assert.Equal("NORMAL", Assert.Single(ring.Values)["state"]);
        Assert.Contains("ringkv_cluster:single", raw.CallText("INFO", "cluster"), StringComparison.Ordinal);
    }

    [Fact]
    public void ClusterNode_ListenPortZero_RefusedAtStart()
    {
        var error = Assert.ThrowsAny<Exception>(() => new ServerProcess("--seeds", "127.0.0.1:1"));
        Assert.Contains("fixed listen port", error.Message, StringComparison.Ordinal);
    }
}

[CollectionDefinition("cluster processes", DisableParallelization = true)]
public sealed class ClusterProcessCollection;
