using System;
using System.Diagnostics;
using System.Threading.Tasks;
using Xunit;

namespace RingKV.Server.Tests.Cluster;

/// <summary>
/// WAIT tells the truth with real processes: with node0's link to node2 cut (node2 is not DOWN: node1 still sees it, so
/// writes go to it and are never acknowledged), a QUORUM write through node0 is stored by 2 replicas and WAIT 3 answers
/// 2 at its timeout; healed, a new write reaches all 3.
/// </summary>
[Collection("cluster processes")]
public sealed class WaitPartitionTests : IAsyncDisposable
{
    private CutCluster? _cluster;

    [Fact]
    [Trait("Category", "System")]
    public void Wait_ReplicaCutOff_AnswersTwoAtTheTimeout_AndThreeOnceHealed()
    {
        _cluster = new CutCluster(3);
        using var client = _cluster.Nodes[0].ConnectRaw();
        Assert.Equal("+OK", client.CallText("SET", "waitp:before", "1"));
        Assert.Equal(":3", client.CallText("WAIT", "3", "10000"));

        _cluster.Cut(0, 2);
        Assert.Equal("+OK", client.CallText("SET", "waitp:during", "1"));
        var watch = Stopwatch.StartNew();
        Assert.Equal(":2", client.CallText("WAIT", "3", "700"));
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(650), $"WAIT 3 700 answered after {watch.Elapsed.TotalMilliseconds} ms");
        Assert.Equal(":2", client.CallText("WAIT", "2", "0")); // the two it has

        _cluster.Heal(0, 2);
        var deadline = Stopwatch.StartNew();
        string acked;
        do
        {
            Assert.Equal("+OK", client.CallText("SET", "waitp:after", "1"));
            acked = client.CallText("WAIT", "3", "1000");
        }
        while (acked != ":3" && deadline.Elapsed < TimeSpan.FromSeconds(40));

        Assert.Equal(":3", acked);
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
