using RingKV.Cli.Scaling;
using Xunit;

namespace RingKV.Cli.Tests.Scaling;

public sealed class RingLoadSourceTests
{
    [Theory]
    [InlineData("# Cluster\r\nringkv_replication:3\r\n", 3)]
    [InlineData("ringkv_replication:dc1:3,dc2:2\r\n", 5)]
    [InlineData("ringkv_nodes:3\r\n", 1)]
    public void ReplicationFactor_FromInfo(string info, int expected)
    {
        Assert.Equal(expected, RingLoadSource.ReplicationFactor(info));
    }
}
