using System;
using System.Globalization;
using System.IO;
using System.Net;
using System.Text.Json;
using RingKV.Cli.Admin;
using RingKV.Testing.Processes;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Cli.Tests;

/// <summary><c>ringkv cluster up</c>, <c>add</c>, <c>remove</c> and <c>down</c> with real node processes: every key written before reads back after each change.</summary>
[Trait("Category", "System")]
public sealed class ClusterGrowShrinkTests
{
    private const int Keys = 200;

    [Fact]
    public void ClusterAddThenRemove_OneNodeEach_EveryKeyReadsBackAndDownStopsTheRest()
    {
        using var directory = new TempDirectory("ringkv-cli-cluster-tests");
        var basePort = FreePorts.BasePort(4);
        try
        {
            var up = RingKvRun.Start("cluster", "up", "--nodes", "3", "--base-port", $"{basePort}", "--data-dir", directory.Path, "--timeout", "30",
                "--", "--memory-mb", "64", "--read", "QUORUM", "--write", "QUORUM");
            Assert.True(up.ExitCode == 0, $"cluster up exited with {up.ExitCode}; stdout: {up.Output}; stderr: {up.Errors}");
            var manifest = ClusterManifest.Read(directory.Path);
            Assert.Equal(basePort, manifest.BasePort);
            Assert.Equal(["--replication", "3", "--memory-mb", "64", "--read", "QUORUM", "--write", "QUORUM"], manifest.ServeOptions);
            Assert.Equal(["node1", "node2", "node3"], manifest.Nodes);

            using (var node1 = new RawClient(new IPEndPoint(IPAddress.Loopback, basePort)))
            {
                for (var i = 0; i < Keys; i++)
                {
                    Assert.Equal("+OK", node1.CallText("SET", $"key:{i}", $"value {i}"));
                }
            }

            var add = RingKvRun.Start("cluster", "add", "--nodes", "1", "--data-dir", directory.Path, "--timeout", "45");
            Assert.True(add.ExitCode == 0, $"cluster add exited with {add.ExitCode}; stdout: {add.Output}; stderr: {add.Errors}");
            Assert.Contains("node4 (127.0.0.1:" + (basePort + 3).ToString(CultureInfo.InvariantCulture) + ") joined: NORMAL and UP in all 4 nodes' views", add.Output, StringComparison.Ordinal);
            Assert.Contains("join node4: ", add.Output, StringComparison.Ordinal); // plain progress lines: stdout is redirected
            Assert.True(File.Exists(Path.Combine(directory.Path, "node4.pid")));
            Assert.Equal(["node1", "node2", "node3", "node4"], ClusterManifest.Read(directory.Path).Nodes);
            Assert.Equal(4, NormalAndUp(basePort + 3));
            AssertEveryKeyReads(basePort + 3);
            AssertEveryKeyReads(basePort);

            using (var node1 = new RawClient(new IPEndPoint(IPAddress.Loopback, basePort)))
            {
                // NOTE: until the server side of issue 13 (lead/cluster) is merged, nodes have no KV.DECOMMISSION and no
                // INFO streaming; add then joins as cluster up does (no streams), and the removal cannot run.
                if (node1.CallText("COMMAND", "INFO", "KV.DECOMMISSION") == "[(nil)]")
                {
                    Assert.Skip("the nodes have no KV.DECOMMISSION yet (the server side of issue 13 is not merged): cluster remove not tested");
                }
            }

            var remove = RingKvRun.Start("cluster", "remove", "--nodes", "1", "--data-dir", directory.Path, "--timeout", "45");
            Assert.True(remove.ExitCode == 0, $"cluster remove exited with {remove.ExitCode}; stdout: {remove.Output}; stderr: {remove.Errors}");
            Assert.Contains("decommission node4: ", remove.Output, StringComparison.Ordinal);
            Assert.Contains("node4 exited", remove.Output, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(directory.Path, "node4.pid")));
            var after = ClusterManifest.Read(directory.Path);
            Assert.Equal(["node1", "node2", "node3"], after.Nodes);
            Assert.Equal(["node4"], after.Removed);
            Assert.Equal(3, NormalAndUp(basePort));
            AssertEveryKeyReads(basePort + 2);

            var down = RingKvRun.Start("cluster", "down", "--data-dir", directory.Path);
            Assert.True(down.ExitCode == 0, $"cluster down exited with {down.ExitCode}; stdout: {down.Output}; stderr: {down.Errors}");
            Assert.Contains("stopped 3 node(s)", down.Output, StringComparison.Ordinal);
        }
        finally
        {
            RingKvRun.Start("cluster", "down", "--data-dir", directory.Path, "--timeout", "5"); // when an assertion failed first
        }
    }

    /// <summary>How many nodes <c>ringkv status --json</c> through <paramref name="port"/> shows NORMAL and UP.</summary>
    private static int NormalAndUp(int port)
    {
        var status = RingKvRun.Start("status", "--host", $"127.0.0.1:{port}", "--json");
        Assert.True(status.ExitCode == 0, $"status exited with {status.ExitCode}: {status.Errors}");
        using var json = JsonDocument.Parse(status.Output);
        var count = 0;
        foreach (var node in json.RootElement.GetProperty("nodes").EnumerateArray())
        {
            count += node.GetProperty("state").GetString() == "NORMAL" && node.GetProperty("status").GetString() == "UP" ? 1 : 0;
        }

        return count;
    }

    private static void AssertEveryKeyReads(int port)
    {
        using var client = new RawClient(new IPEndPoint(IPAddress.Loopback, port));
        for (var i = 0; i < Keys; i++)
        {
            Assert.Equal($"value {i}", client.CallText("GET", $"key:{i}"));
        }
    }
}
