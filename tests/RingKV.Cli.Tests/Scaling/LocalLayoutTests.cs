using System;
using System.IO;
using RingKV.Cli.Admin;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Cli.Tests.Scaling;

/// <summary>What the local provider plans a new node from: cluster.json, as cluster up writes it, and the node layout.</summary>
public sealed class LocalLayoutTests
{
    [Fact]
    public void Layout_WriteThenRead_RoundTripsWithPassword()
    {
        using var directory = new TempDirectory();
        var layout = new LocalClusterLayout(7400, LocalCluster.CommonServeOptions(3, ["--sync", "none", "--password", "s3cret"]));

        layout.Write(directory.Path);
        var read = LocalClusterLayout.Read(directory.Path);

        Assert.Equal(7400, read.BasePort);
        Assert.Equal(["--replication", "3", "--sync", "none", "--password", "s3cret"], read.ServeOptions);
        Assert.Equal("s3cret", read.Password);
    }

    [Fact]
    public void Layout_Missing_SaysToUseClusterUp()
    {
        using var directory = new TempDirectory();

        var e = Assert.Throws<FormatException>(() => LocalClusterLayout.Read(directory.Path));

        Assert.Contains("written by ringkv cluster up", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Node_AddedLater_SameFlagsItsOwnPortsAndEverySeed()
    {
        var node = LocalCluster.Node(4, 7379, "/tmp/c", ["--replication", "3"], ["127.0.0.1:17380", "127.0.0.1:17381"]);

        Assert.Equal(
            ["serve", "--listen", "127.0.0.1:7382", "--peer-listen", "127.0.0.1:17382", "--data-dir", "/tmp/c/node4", "--node-id", "node4", "--seeds", "127.0.0.1:17380,127.0.0.1:17381", "--replication", "3"],
            node.ServeArguments);
        Assert.Equal(Path.Combine("/tmp/c", "node4.pid"), node.PidFile);
    }

    [Theory]
    [InlineData("node7", 7)]
    [InlineData("node12", 12)]
    [InlineData("node", null)]
    [InlineData("node0", null)]
    [InlineData("nodeX", null)]
    [InlineData("ringkv-3", null)]
    public void NodeIndex_OnlyNodeAndANumber(string name, int? expected)
    {
        Assert.Equal(expected, LocalCluster.NodeIndex(name));
    }
}
