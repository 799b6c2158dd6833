using System;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using RingKV.Testing.Processes;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.Cluster;

/// <summary>
/// Anti-entropy between real <c>ringkv serve</c> processes: a node that was down while writes, overwrites and deletes
/// went on (no hinted handoff in this test: it is not what it measures) gets every one of them from one
/// <c>ringkv repair</c> (the published CLI), and a second pass finds nothing to repair.
/// </summary>
[Collection("cluster processes")]
public sealed partial class AntiEntropyProcessTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    [Trait("Category", "System")]
    public async Task NodeMissedWrites_RingkvRepair_EveryReplicaAgreesAndASecondPassRepairsNothing()
    {
        // Hints expire at once (dropped when node2 is back), so what node2 missed is anti-entropy's to repair.
        using var cluster = new LocalCluster(3, "--repair-interval", "0", "--hint-window", "1ms");
        var db = cluster.Db(0);
        for (var i = 0; i < 20; i++)
        {
            Assert.True(await db.StringSetAsync($"ae:{i}", $"v1-{i}"));
        }

        var stateFile = System.IO.Path.Combine(cluster.Nodes[2].DataDirectory, "cluster-state.json");
        LocalCluster.WaitUntil(() => System.IO.File.Exists(stateFile) && System.IO.File.ReadAllText(stateFile).Contains("node1", StringComparison.Ordinal), Deadline, "node2 persisted the ring");
        cluster.Nodes[2].Kill();
        LocalCluster.WaitUntil(() => LocalCluster.StatusOf(cluster.Nodes[0], 2) == "DOWN" && LocalCluster.StatusOf(cluster.Nodes[1], 2) == "DOWN", Deadline, "node2 DOWN on node0 and node1");

        // What node2 misses: 50 new keys, 5 overwrites, 5 deletes (tombstones must travel too).
        for (var i = 0; i < 50; i++)
        {
            Assert.True(await db.StringSetAsync($"ae:new:{i}", $"n-{i}"));
        }

        for (var i = 10; i < 15; i++)
        {
            Assert.True(await db.StringSetAsync($"ae:{i}", $"v2-{i}"));
        }

        for (var i = 15; i < 20; i++)
        {
            Assert.True(await db.KeyDeleteAsync($"ae:{i}"));
        }

        cluster.Nodes[2].Restart();
        LocalCluster.WaitUntil(() => LocalCluster.StatusOf(cluster.Nodes[0], 2) == "UP" && LocalCluster.StatusOf(cluster.Nodes[1], 2) == "UP" && LocalCluster.UpNormal(cluster.Nodes[2]) == 3,
            Deadline, "node2 UP again on every node");
        var node2 = cluster.Db(2);
        Assert.Null(OwnValue(node2, "ae:new:0")); // node2's own replica did miss the writes

        var first = Repair(cluster, 0);
        Log($"ringkv repair on node0: {first.Output.Trim()}");
        var (repaired, ranges, differed) = Parse(first.Output);
        Assert.Equal(60, repaired);
        Assert.True(differed > 0 && differed <= ranges, first.Output);

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal($"n-{i}", OwnValue(node2, $"ae:new:{i}"));
        }

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(i switch { < 10 => $"v1-{i}", < 15 => $"v2-{i}", _ => null }, OwnValue(node2, $"ae:{i}"));
        }

        // Every replica agrees: a pass from node2 (which compares with both others) repairs nothing, and INFO says so.
        var second = Repair(cluster, 2);
        Log($"ringkv repair on node2: {second.Output.Trim()}");
        Assert.Equal(0, Parse(second.Output).Repaired);
        var info = Info(cluster.Nodes[2]);
        Assert.Contains("ae_last_pass_keys_repaired:0\r\n", info, StringComparison.Ordinal);
        Assert.Contains("ae_last_pass_ranges_failed:0\r\n", info, StringComparison.Ordinal);
        Assert.Contains("ae_last_pass_keys_repaired:60\r\n", Info(cluster.Nodes[0]), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "System")]
    public async Task Delete_ReplicaMissedIt_RepairWithinTheGraceHandsItTheTombstone_PurgedEverywhereWithoutResurrection()
    {
        // The resurrection case: node2 misses a delete (its hint expires unsent), so it still holds the value. Were the
        // tombstone removed on node0 and node1 before node2 got it, node2's value would come back (a read at ALL merges
        // it in, and read repair spreads it). A repair pass within the grace hands node2 the tombstone; after the
        // grace every node removes it, and the key stays deleted.
        using var cluster = new LocalCluster(3, "--repair-interval", "0", "--hint-window", "1ms", "--tombstone-grace", "6s");
        var db = cluster.Db(0);
        Assert.True(await db.StringSetAsync("grace:k", "v"));
        Assert.True(await db.StringSetAsync("grace:kept", "still here"));
        var stateFile = System.IO.Path.Combine(cluster.Nodes[2].DataDirectory, "cluster-state.json");
        LocalCluster.WaitUntil(() => System.IO.File.Exists(stateFile) && System.IO.File.ReadAllText(stateFile).Contains("node1", StringComparison.Ordinal), Deadline, "node2 persisted the ring");
        cluster.Nodes[2].Kill();
        LocalCluster.WaitUntil(() => LocalCluster.StatusOf(cluster.Nodes[0], 2) == "DOWN" && LocalCluster.StatusOf(cluster.Nodes[1], 2) == "DOWN", Deadline, "node2 DOWN on node0 and node1");
        Assert.True(await db.KeyDeleteAsync("grace:k"));

        cluster.Nodes[2].Restart();
        LocalCluster.WaitUntil(() => LocalCluster.StatusOf(cluster.Nodes[0], 2) == "UP" && LocalCluster.UpNormal(cluster.Nodes[2]) == 3, Deadline, "node2 UP again");
        var node2 = cluster.Db(2);
        Assert.Equal("v", OwnValue(node2, "grace:k")); // the hazard is real: node2 holds the deleted value

        var pass = Repair(cluster, 0);
        Log($"ringkv repair on node0: {pass.Output.Trim()}");
        Assert.Null(OwnValue(node2, "grace:k")); // node2 got the tombstone

        // The grace (6 s) passes and each node's purge (every 1.5 s, the first 10 s after start) removes the tombstone.
        LocalCluster.WaitUntil(() => cluster.Nodes.All(n => Purged(n) >= 1), TimeSpan.FromSeconds(60), "every node purged the tombstone");
        Assert.True((await db.ExecuteAsync("KV.GET", "grace:k", "CONSISTENCY", "ALL")).IsNull, "the deleted key is back");
        Assert.Null(OwnValue(node2, "grace:k"));
        Assert.Equal("still here", (string?)await db.StringGetAsync("grace:kept"));
        Log($"tombstones purged: {string.Join(", ", cluster.Nodes.Select(Purged))}");
    }

    private static bool ReadsAtAll(IDatabase db)
    {
        try
        {
            db.Execute("KV.GET", "links:probe", "CONSISTENCY", "ALL");
            return true;
        }
        catch (RedisServerException)
        {
            return false;
        }
    }

    private static long Purged(ServerProcess node)
    {
        using var raw = node.ConnectRaw();
        var text = System.Text.Encoding.UTF8.GetString((byte[])raw.Call("INFO", "cluster")!);
        var line = text.Split("\r\n").FirstOrDefault(l => l.StartsWith("tombstones_purged:", StringComparison.Ordinal));
        return line is null ? -1 : long.Parse(line.AsSpan("tombstones_purged:".Length), CultureInfo.InvariantCulture);
    }

    [Fact]
    [Trait("Category", "System")]
    public void RingkvRepair_UnreachableOrSingleNode_ExitsOneWithAClearMessage()
    {
        using var single = new ServerProcess();
        var notCluster = RingKvRun.Start("repair", "--host", $"127.0.0.1:{single.Port}");
        Assert.Equal(1, notCluster.ExitCode);
        Assert.Contains("needs a cluster node", notCluster.Errors, StringComparison.Ordinal);

        var port = FreePorts.BasePort(1);
        var unreachable = RingKvRun.Start("repair", "--host", $"127.0.0.1:{port}");
        Assert.Equal(1, unreachable.ExitCode);
        Assert.StartsWith("ringkv repair: ", unreachable.Errors, StringComparison.Ordinal);
        Log($"single node: {notCluster.Errors.Trim()}; nothing listening: {unreachable.Errors.Trim()}");
    }

    private static RingKvRun Repair(LocalCluster cluster, int node)
    {
        // UP is gossip's verdict; a restarted node's links may still be connecting, and a repair message sent before
        // they are is lost (the range then fails at its deadline): wait until a read at ALL through both ends works.
        foreach (var through in new[] { 0, node })
        {
            var db = cluster.Db(through);
            LocalCluster.WaitUntil(() => ReadsAtAll(db), Deadline, $"a read at ALL through node{through}");
        }

        var run = RingKvRun.Start("repair", "--host", $"127.0.0.1:{cluster.ClientPorts[node]}");
        Assert.True(run.ExitCode == 0, $"ringkv repair exited {run.ExitCode}: {run.Output} {run.Errors}");
        return run;
    }

    private static (int Repaired, int Ranges, int Differed) Parse(string output)
    {
        var match = SummaryLine().Match(output);
        Assert.True(match.Success, $"no summary line in: {output}");
        int N(int group) => int.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);
        return (N(1), N(2), N(3));
    }

    [GeneratedRegex(@"repaired (\d+) keys in (\d+) ranges \((\d+) differed\), sent \d+ bytes, [\d.]+ s")]
    private static partial Regex SummaryLine();

    /// <summary>The node's own replica's value of <paramref name="key"/> (a read at ONE asks the coordinator's replica first); null when none.</summary>
    private static string? OwnValue(IDatabase db, string key)
    {
        var reply = db.Execute("KV.GET", key, "CONSISTENCY", "ONE");
        if (reply.IsNull || reply.Resp2Type != ResultType.Array)
        {
            return null;
        }

        var values = (RedisResult[])((RedisResult[])reply!)[1]!;
        return values.Length == 0 ? null : values.Select(v => (string?)v).Single();
    }

    private static string Info(ServerProcess node)
    {
        using var raw = node.ConnectRaw();
        return System.Text.Encoding.UTF8.GetString((byte[])raw.Call("INFO", "antientropy")!);
    }

    private static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
}
