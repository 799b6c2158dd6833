using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Text.Json;
using RingKV.Server.Tests.EndToEnd;
using RingKV.Testing.Processes;
using Xunit;

namespace RingKV.Server.Tests.Cluster;

/// <summary>A three-node cluster through <c>ringkv cluster up</c>, seen with <c>ringkv status</c>, stopped with <c>ringkv cluster down</c>.</summary>
[Trait("Category", "System")]
public sealed class ClusterUpTests
{
    [Fact]
    public void ClusterUp_ThreeNodes_StatusShowsThemNormalAndUpAndAWriteIsReadElsewhereUntilDown()
    {
        using var directory = new ClusterDirectory(); // kills the nodes if an assertion fails first
        var basePort = FreePorts.BasePort(3);

        var up = RingKvRun.Start(
            "cluster", "up", "--nodes", "3", "--base-port", $"{basePort}", "--data-dir", directory.Path, "--timeout", "15",
            "--", "--memory-mb", "64", "--read", "QUORUM", "--write", "QUORUM");
        Assert.True(up.ExitCode == 0, $"cluster up exited with {up.ExitCode}; stdout: {up.Output}; stderr: {up.Errors}");
        Assert.Contains($"redis-cli -p {basePort}", up.Output, StringComparison.Ordinal);
        var pids = directory.Pids();
        Assert.Equal(3, pids.Count);
        foreach (var pid in pids.Values)
        {
            Assert.True(directory.IsOurs(pid), $"pid {pid} of a pid file is not a running node");
        }

        var status = RingKvRun.Start("status", "--host", $"127.0.0.1:{basePort}", "--json");
        Assert.True(status.ExitCode == 0, $"status exited with {status.ExitCode}: {status.Errors}");
        using (var json = JsonDocument.Parse(status.Output))
        {
            var nodes = json.RootElement.GetProperty("nodes");
            Assert.Equal(3, nodes.GetArrayLength());
            var ids = new List<string>();
            var ownership = 0.0;
            for (var i = 0; i < 3; i++)
            {
                var node = nodes[i];
                ids.Add(node.GetProperty("id").GetString()!);
                Assert.Equal("NORMAL", node.GetProperty("state").GetString());
                Assert.Equal("UP", node.GetProperty("status").GetString());
                Assert.Equal($"127.0.0.1:{basePort + i}", node.GetProperty("address").GetString());
                Assert.Equal($"127.0.0.1:{basePort + i + 10000}", node.GetProperty("peer").GetString());
                ownership += node.GetProperty("ownership").GetDouble();
            }

            Assert.Equal(["node1", "node2", "node3"], ids);
            Assert.InRange(ownership, 0.99, 1.01);
        }

        using (var node1 = new RawClient(new IPEndPoint(IPAddress.Loopback, basePort)))
        {
            Assert.Equal("+OK", node1.CallText("SET", "greeting", "hello"));
        }

        using (var node3 = new RawClient(new IPEndPoint(IPAddress.Loopback, basePort + 2)))
        {
            Assert.Equal("hello", node3.CallText("GET", "greeting"));
        }

        // The stock tools, unchanged, through any node: redis-cli writes through node 2 and reads through node 1, lists
        // the key with SCAN and counts it; redis-benchmark runs SET and GET through node 3.
        var cli = RedisCliTests.Tool("redis-cli");
        var ports = new[] { basePort, basePort + 1, basePort + 2 }.Select(p => p.ToString(CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal("OK", RedisCliTests.Run(cli, "-p", ports[1], "SET", "cli:key", "from redis-cli").Trim());
        Assert.Equal("from redis-cli", RedisCliTests.Run(cli, "-p", ports[0], "GET", "cli:key").Trim());
        Assert.Contains("cli:key", RedisCliTests.Run(cli, "-p", ports[2], "--scan", "--pattern", "cli:*").Split('\n').Select(l => l.Trim()));
        Assert.Equal("2", RedisCliTests.Run(cli, "-p", ports[2], "DBSIZE").Trim()); // greeting and cli:key
        var bench = RedisCliTests.Run(RedisCliTests.Tool("redis-benchmark"), "-p", ports[2], "-t", "set,get", "-n", "2000", "-c", "4", "-q", "-r", "100", "--csv");
        Assert.Contains("\"SET\"", bench, StringComparison.Ordinal);
        Assert.Contains("\"GET\"", bench, StringComparison.Ordinal);

        // Every node holds every key (N=3 on 3 nodes): the benchmark's 2000 SETs, each stamped above what its key held
        // by the one coordinator, reach each replica's store blind, without a read first.
        foreach (var port in ports)
        {
            var info = RedisCliTests.Run(cli, "-p", port, "INFO", "cluster");
            var blind = info.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("ringkv_replica_blind_writes:", StringComparison.Ordinal));
            Assert.True(long.Parse(blind.Split(':')[1], CultureInfo.InvariantCulture) >= 1000, $"node on {port}: {info}");
        }

        var down = RingKvRun.Start("cluster", "down", "--data-dir", directory.Path);
        Assert.True(down.ExitCode == 0, $"cluster down exited with {down.ExitCode}; stdout: {down.Output}; stderr: {down.Errors}");
        Assert.Contains("stopped 3 node(s)", down.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("SIGKILL", down.Output, StringComparison.Ordinal);
        foreach (var pid in pids.Values)
        {
            Assert.False(directory.IsOurs(pid), $"node pid {pid} still runs after cluster down");
        }

        Assert.Empty(directory.Pids());
        Assert.Equal(1, RingKvRun.Start("status", "--host", $"127.0.0.1:{basePort}").ExitCode);

        var again = RingKvRun.Start("cluster", "down", "--data-dir", directory.Path);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("no running nodes", again.Output, StringComparison.Ordinal);
    }
}
