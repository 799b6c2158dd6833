using System;
using RingKV.Cli.Admin;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Cli.Tests.Admin;

public sealed class ClusterManifestTests
{
    [Fact]
    public void WriteRead_RoundTrip()
    {
        using var directory = new TempDirectory("ringkv-cli-tests");
        var manifest = new ClusterManifest(7379, ["--replication", "3", "--sync", "always"], ["node1", "node2", "node3"], []).WithNode("node4").WithRemoved("node2");

        manifest.Write(directory.Path);
        var read = ClusterManifest.Read(directory.Path);

        Assert.Equal(7379, read.BasePort);
        Assert.Equal(["--replication", "3", "--sync", "always"], read.ServeOptions);
        Assert.Equal(["node1", "node3", "node4"], read.Nodes);
        Assert.Equal(["node2"], read.Removed);
    }

    [Fact]
    public void NextIndex_AboveEveryNodeRemovedOnesIncluded()
    {
        var manifest = new ClusterManifest(7379, [], ["node1", "node2"], ["node5"]);

        Assert.Equal(6, manifest.NextIndex());
        Assert.Equal(3, (manifest with { Removed = [] }).NextIndex());
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"version\": 2, \"basePort\": 1, \"serveOptions\": [], \"nodes\": [], \"removed\": []}")]
    [InlineData("{\"version\": 1, \"basePort\": 1}")]
    public void Decode_OtherLayout_FormatExceptionNamingTheFile(string text)
    {
        var e = Assert.Throws<FormatException>(() => ClusterManifest.Decode(text, "/c/cluster.json"));

        Assert.Contains("/c/cluster.json", e.Message, StringComparison.Ordinal);
    }
}
