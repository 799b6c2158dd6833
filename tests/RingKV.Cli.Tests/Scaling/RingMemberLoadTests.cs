using System;
using RingKV.Cli.Admin;
using RingKV.Cli.Tests.Admin;
using Xunit;

namespace RingKV.Cli.Tests.Scaling;

/// <summary>KV.RING's load fields (ops, p99_us, cpu), which the autoscaler reads; a node from before them reads as not saying.</summary>
public sealed class RingMemberLoadTests
{
    [Fact]
    public void DecodeRing_LoadFields_Read()
    {
        var reply = RespReply.Array(RingSamples.Fields(
            "id", "n", "address", "h:1", "peer", "h:2", "dc", "d", "rack", "r", "state", "NORMAL", "status", "UP",
            "capacity", "1", "ownership", "0.5", "tokens", "4", "load", "7", "ops", "1234", "p99_us", "870", "cpu", "45.5"));

        var member = Assert.Single(RingMember.DecodeRing(reply, "h:1"));

        Assert.Equal(1234, member.OpsPerSecond);
        Assert.Equal(870, member.P99Micros);
        Assert.Equal(45.5, member.CpuPercent);
    }

    [Fact]
    public void DecodeRing_NoLoadFields_Null()
    {
        var member = Assert.Single(RingMember.DecodeRing(RespReply.Array(RingSamples.Node("node1", "127.0.0.1:7379")), "x"));

        Assert.Null(member.OpsPerSecond);
        Assert.Null(member.P99Micros);
        Assert.Null(member.CpuPercent);
    }

    [Fact]
    public void DecodeRing_BadLoadField_NamesIt()
    {
        var reply = RespReply.Array(RingSamples.Fields(
            "id", "n", "address", "h:1", "peer", "h:2", "dc", "d", "rack", "r", "state", "NORMAL", "status", "UP",
            "capacity", "1", "ownership", "0.5", "tokens", "4", "load", "7", "cpu", "lots"));

        var e = Assert.Throws<FormatException>(() => RingMember.DecodeRing(reply, "h:1"));

        Assert.Contains("cpu 'lots' is not a number >= 0", e.Message, StringComparison.Ordinal);
    }
}
