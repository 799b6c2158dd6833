using System.Diagnostics;
using RingKV.Server.Tests.Support;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>WAIT on a single node: no replicas, so 0 at once (Redis blocks until the timeout, or forever for 0); Redis's errors.</summary>
public sealed class WaitCommandTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public void Wait_SingleNode_ZeroAtOnce_EvenForTimeoutZero()
    {
        using var client = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", client.CallText("SET", "wait:single", "v"));
        Assert.Equal(":0", client.CallText("WAIT", "1", "0"));
        Assert.Equal(":0", client.CallText("WAIT", "0", "100"));
    }

    [Theory]
    [InlineData("x", "0", "-ERR value is not an integer or out of range")]
    [InlineData("1", "x", "-ERR timeout is not an integer or out of range")]
    [InlineData("1", "-1", "-ERR timeout is negative")]
    public void Wait_BadArguments_RedisErrors(string replicas, string timeout, string expected)
    {
        using var client = fixture.Server.ConnectRaw();
        Assert.Equal(expected, client.CallText("WAIT", replicas, timeout));
        Assert.Equal("-ERR wrong number of arguments for 'wait' command", client.CallText("WAIT", "1"));
    }
}

/// <summary>
/// WAIT through 3 real nodes (N = 3, QUORUM): the count of replicas that stored the connection's writes since its last
/// WAIT, the least over them (MSET's keys, an INCR's write), answered once all three have.
/// </summary>
[Collection(ThreeNodeCluster.Collection)]
public sealed class WaitClusterTests(ThreeNodeCluster fixture)
{
    [Fact]
    public void Wait_AfterQuorumWrites_AllThreeReplicasAcknowledge()
    {
        using var client = new RingKV.Testing.Processes.RawClient(fixture.WriterEndPoint);
        Assert.Equal(":0", client.CallText("WAIT", "3", "100")); // no write yet on this connection: nothing to count

        Assert.Equal("+OK", client.CallText("SET", "waitc:a", "1"));
        Assert.Equal(":3", client.CallText("WAIT", "3", "5000"));
        Assert.Equal(":3", client.CallText("WAIT", "2", "0")); // no write since: the same writes, the same count

        Assert.Equal("+OK", client.CallText("MSET", "waitc:b", "1", "waitc:c", "2", "waitc:d", "3"));
        Assert.Equal(":1", client.CallText("INCR", "waitc:n"));
        Assert.Equal(":3", client.CallText("WAIT", "3", "5000"));

        // A count already reached answers at once, with every replica that has stored the write.
        Assert.Equal("+OK", client.CallText("SET", "waitc:e", "1"));
        var watch = Stopwatch.StartNew();
        var acked = client.CallText("WAIT", "1", "0");
        Assert.True(acked is ":2" or ":3", acked);
        Assert.True(watch.Elapsed < System.TimeSpan.FromSeconds(5), $"WAIT 1 took {watch.Elapsed}");
    }

    [Fact]
    public void Wait_InsideMulti_QueuedAndAnsweredByExec()
    {
        using var client = new RingKV.Testing.Processes.RawClient(fixture.WriterEndPoint);
        Assert.Equal("+OK", client.CallText("MULTI"));
        Assert.Equal("+QUEUED", client.CallText("SET", "waitc:m", "1"));
        Assert.Equal("+QUEUED", client.CallText("WAIT", "3", "5000"));
        Assert.Equal("[+OK, :3]", client.CallText("EXEC"));
    }
}
