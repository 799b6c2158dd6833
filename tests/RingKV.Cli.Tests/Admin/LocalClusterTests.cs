using System;
using System.IO;
using RingKV.Cli.Admin;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Cli.Tests.Admin;

public sealed class LocalClusterTests
{
    [Fact]
    public void Plan_ThreeNodes_PortsDirectoriesAndNode1AsSeed()
    {
        var plan = LocalCluster.Plan(3, 7379, "/tmp/c", ["--sync", "always"]);

        Assert.Equal(3, plan.Count);
        Assert.Equal(
            ["serve", "--listen", "127.0.0.1:7379", "--peer-listen", "127.0.0.1:17379", "--data-dir", "/tmp/c/node1", "--node-id", "node1", "--replication", "3", "--sync", "always"],
            plan[0].ServeArguments);
        Assert.Equal(
            ["serve", "--listen", "127.0.0.1:7381", "--peer-listen", "127.0.0.1:17381", "--data-dir", "/tmp/c/node3", "--node-id", "node3", "--seeds", "127.0.0.1:17379", "--replication", "3", "--sync", "always"],
            plan[2].ServeArguments);
        Assert.Equal("node2", plan[1].Name);
        Assert.Equal("127.0.0.1:7380", plan[1].Address);
        Assert.Equal("127.0.0.1:17380", plan[1].PeerAddress);
        Assert.Equal("/tmp/c/node2.pid", plan[1].PidFile);
        Assert.Equal("/tmp/c/node2.log", plan[1].LogFile);
    }

    [Fact]
    public void PlanNode_AddedNode_SeedsOfTheRunningOnesAndTheSharedOptions()
    {
        var shared = LocalCluster.SharedOptions(3, ["--sync", "always"]);

        var node = LocalCluster.PlanNode(4, 7379, "/tmp/c", ["127.0.0.1:17379", "127.0.0.1:17380"], shared);

        Assert.Equal(
            ["serve", "--listen", "127.0.0.1:7382", "--peer-listen", "127.0.0.1:17382", "--data-dir", "/tmp/c/node4", "--node-id", "node4",
                "--seeds", "127.0.0.1:17379,127.0.0.1:17380", "--replication", "3", "--sync", "always"],
            node.ServeArguments);
        Assert.Equal("/tmp/c/node4.pid", node.PidFile);
    }

    [Fact]
    public void PlanNode_PastThePortRange_IsRefused() =>
        Assert.Throws<ArgumentException>(() => LocalCluster.PlanNode(3, 55534, "/tmp/c", [], []));

    [Theory]
    [InlineData("node1", 1)]
    [InlineData("node42", 42)]
    [InlineData("node", null)]
    [InlineData("node0", null)]
    [InlineData("nodeX", null)]
    [InlineData("other1", null)]
    public void NodeIndex_OfNodeNames(string name, int? expected) => Assert.Equal(expected, LocalCluster.NodeIndex(name));

    [Theory]
    [InlineData(1, "1")]
    [InlineData(2, "2")]
    [InlineData(5, "3")]
    public void Plan_NoReplicationGiven_ReplicationIsMinOfThreeAndNodes(int nodes, string expected)
    {
        foreach (var node in LocalCluster.Plan(nodes, 7379, "/tmp/c", []))
        {
            var at = System.Linq.Enumerable.ToList(node.ServeArguments).IndexOf("--replication");
            Assert.Equal(expected, node.ServeArguments[at + 1]);
        }
    }

    [Theory]
    [InlineData("--replication", "2")]
    [InlineData("--replication=dc1:2", null)]
    public void Plan_ReplicationGiven_IsNotOverridden(string flag, string? value)
    {
        string[] options = value is null ? [flag] : [flag, value];

        var node = LocalCluster.Plan(3, 7379, "/tmp/c", options)[1];

        Assert.Single(node.ServeArguments, a => a.StartsWith("--replication", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--listen")]
    [InlineData("--data-dir")]
    [InlineData("--node-id")]
    [InlineData("--seeds")]
    [InlineData("--peer-listen=127.0.0.1:1")]
    public void Plan_FlagClusterUpSets_IsRefusedNamingIt(string flag)
    {
        var e = Assert.Throws<ArgumentException>(() => LocalCluster.Plan(2, 7379, "/tmp/c", [flag, "x"]));

        Assert.Contains(flag.Split('=')[0], e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--peer-advertise")]
    [InlineData("--peer-advertise=127.0.0.1:9000")]
    public void Plan_PeerAdvertise_IsRefusedAsTheSameAddressForEveryNode(string flag)
    {
        var e = Assert.Throws<ArgumentException>(() => LocalCluster.Plan(3, 7379, "/tmp/c", ["--sync", "always", flag, "127.0.0.1:9000"]));

        Assert.Contains("--peer-advertise", e.Message, StringComparison.Ordinal);
        Assert.Contains("same address", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 7379)]
    [InlineData(65, 7379)]
    [InlineData(2, 0)]
    [InlineData(2, 55535)]
    public void Plan_CountOrPortOutOfRange_IsRefused(int nodes, int basePort) =>
        Assert.Throws<ArgumentException>(() => LocalCluster.Plan(nodes, basePort, "/tmp/c", []));

    [Fact]
    public void Plan_HighestBasePort_Fits()
    {
        var plan = LocalCluster.Plan(2, 55534, "/tmp/c", []);

        Assert.Equal(65535, plan[1].PeerPort);
    }

    [Theory]
    [InlineData(new[] { "--sync", "always", "--password", "secret" }, "secret")]
    [InlineData(new[] { "--password=s=x" }, "s=x")]
    [InlineData(new[] { "--sync", "always" }, null)]
    public void Password_AmongServeOptions_IsFound(string[] options, string? expected) =>
        Assert.Equal(expected, LocalCluster.Password(options));

    [Fact]
    public void PidFiles_ByNodeNumber_OthersIgnored()
    {
        using var directory = new TempDirectory("ringkv-cli-tests");
        foreach (var name in new[] { "node10.pid", "node2.pid", "node1.pid", "node1.log", "nodeX.pid", "other.pid", "node3.pid.tmp" })
        {
            File.WriteAllText(Path.Combine(directory.Path, name), "1");
        }

        var found = LocalCluster.PidFiles(directory.Path);

        Assert.Equal(["node1", "node2", "node10"], found.ConvertAll(f => f.Name));
        Assert.Equal(Path.Combine(directory.Path, "node10.pid"), found[2].PidFile);
    }

    [Fact]
    public void PidFiles_NoDirectory_None() =>
        Assert.Empty(LocalCluster.PidFiles(Path.Combine(Path.GetTempPath(), "ringkv-cli-tests-missing-" + Guid.NewGuid().ToString("N"))));
}
