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
        using var cluster = new LocalCluster(3, "--repair-interval", "0");
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
