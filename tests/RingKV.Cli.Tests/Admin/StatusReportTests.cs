using System;
using System.Collections.Generic;
using System.Text.Json;
using RingKV.Cli.Admin;
using Xunit;

namespace RingKV.Cli.Tests.Admin;

public sealed class StatusReportTests
{
    private static readonly RespReply Ring = RespReply.Array(
        RingSamples.Node("node10", "127.0.0.1:10000", state: "LEAVING", ownership: "0.1", load: 0),
        RingSamples.Node("node2", "127.0.0.1:9999", status: "DOWN", ownership: "0.4", load: 1536),
        RingSamples.Node("node1", "127.0.0.1:7379", ownership: "0.3333", load: 5L << 30, tokens: 128),
        RingSamples.Node("nodeE", "127.0.0.1:7000", state: "JOINING", ownership: "0.1667", load: 1023, dc: "east"));

    [Fact]
    public void Table_FourStates_RowsLikeNodetoolSortedByDcRackAndPort()
    {
        var table = StatusReport.Table(RingMember.DecodeRing(Ring, "test"));

        Assert.Equal(
            "Status=Up/Down\n"
            + "|/ State=Normal/Joining/Leaving (with the percent streamed)\n"
            + "--  Address          DC    Rack   Load     Tokens  Owns   Hints  Id\n"
            + "UN  127.0.0.1:7379   dc1   rack1  5.0 GiB  128     33.3%  0      node1\n"
            + "DN  127.0.0.1:9999   dc1   rack1  1.5 KiB  16      40.0%  0      node2\n"
            + "UL  127.0.0.1:10000  dc1   rack1  0 B      16      10.0%  0      node10\n"
            + "UJ  127.0.0.1:7000   east  rack1  1023 B   16      16.7%  0      nodeE\n",
            table);
    }

    [Fact]
    public void Json_EveryField_AddressAsHostPortAndNumbersAsNumbers()
    {
        using var json = JsonDocument.Parse(StatusReport.Json(RingMember.DecodeRing(Ring, "test")));

        var nodes = json.RootElement.GetProperty("nodes");
        Assert.Equal(4, nodes.GetArrayLength());
        var first = nodes[0];
        Assert.Equal("node1", first.GetProperty("id").GetString());
        Assert.Equal("127.0.0.1:7379", first.GetProperty("address").GetString());
        Assert.Equal("127.0.0.1:17379", first.GetProperty("peer").GetString());
        Assert.Equal("dc1", first.GetProperty("dc").GetString());
        Assert.Equal("rack1", first.GetProperty("rack").GetString());
        Assert.Equal("NORMAL", first.GetProperty("state").GetString());
        Assert.Equal("UP", first.GetProperty("status").GetString());
        Assert.Equal(1, first.GetProperty("capacity").GetInt64());
        Assert.Equal(0.3333, first.GetProperty("ownership").GetDouble());
        Assert.Equal(128, first.GetProperty("tokens").GetInt64());
        Assert.Equal(5L << 30, first.GetProperty("load").GetInt64());
        Assert.Equal(12, CountProperties(first));
        Assert.Equal(0, first.GetProperty("hints").GetInt64());
        Assert.Equal("DOWN", nodes[1].GetProperty("status").GetString());
        Assert.Equal("LEAVING", nodes[2].GetProperty("state").GetString());
        Assert.Equal("nodeE", nodes[3].GetProperty("id").GetString());
    }

    [Fact]
    public void Table_JoiningAndLeavingWithPercents_PercentAfterTheCodeAndQuestionMarkWhenUnknown()
    {
        var members = RingMember.DecodeRing(RespReply.Array(
            RingSamples.Node("node1", "127.0.0.1:7379"),
            RingSamples.Node("node2", "127.0.0.1:7380", state: "LEAVING"),
            RingSamples.Node("node3", "127.0.0.1:7381", state: "JOINING", tokens: 0, ownership: "0"),
            RingSamples.Node("node4", "127.0.0.1:7382", state: "LEAVING", status: "DOWN")), "test");
        var streamed = new Dictionary<string, double?> { ["node2"] = 42.46, ["node3"] = 100, ["node4"] = null };

        var table = StatusReport.Table(members, streamed);

        Assert.Equal(
            "Status=Up/Down\n"
            + "|/ State=Normal/Joining/Leaving (with the percent streamed)\n"
            + "--         Address         DC   Rack   Load  Tokens  Owns   Hints  Id\n"
            + "UN         127.0.0.1:7379  dc1  rack1  0 B   16      33.3%  0      node1\n"
            + "UL 42.5%   127.0.0.1:7380  dc1  rack1  0 B   16      33.3%  0      node2\n"
            + "UJ 100.0%  127.0.0.1:7381  dc1  rack1  0 B   0       0.0%   0      node3\n"
            + "DL ?       127.0.0.1:7382  dc1  rack1  0 B   16      33.3%  0      node4\n",
            table);
    }

    [Fact]
    public void Table_StreamedNotAsked_CodesAlone()
    {
        var members = RingMember.DecodeRing(RespReply.Array(RingSamples.Node("node2", "127.0.0.1:7380", state: "JOINING")), "test");

        Assert.Contains("\nUJ  127.0.0.1:7380", StatusReport.Table(members), StringComparison.Ordinal);
    }

    [Fact]
    public void Table_LeftNodes_NotRowsButNamedAfterTheTable()
    {
        var members = RingMember.DecodeRing(RespReply.Array(
            RingSamples.Node("node1", "127.0.0.1:7379"),
            RingSamples.Node("node5", "127.0.0.1:7383", state: "LEFT", status: "DOWN"),
            RingSamples.Node("node4", "127.0.0.1:7382", state: "LEFT", status: "DOWN")), "test");

        var lines = StatusReport.Table(members, new Dictionary<string, double?>()).TrimEnd('\n').Split('\n');

        Assert.Equal(5, lines.Length);
        Assert.StartsWith("UN  127.0.0.1:7379", lines[3], StringComparison.Ordinal);
        Assert.Equal("Left (not listed): node4, node5", lines[4]);
    }

    [Fact]
    public void Json_StreamingNodes_StreamedPercentOrNullAndLeftNodesListed()
    {
        var members = RingMember.DecodeRing(RespReply.Array(
            RingSamples.Node("node1", "127.0.0.1:7379"),
            RingSamples.Node("node2", "127.0.0.1:7380", state: "JOINING"),
            RingSamples.Node("node3", "127.0.0.1:7381", state: "LEAVING"),
            RingSamples.Node("node4", "127.0.0.1:7382", state: "LEFT", status: "DOWN")), "test");

        using var json = JsonDocument.Parse(StatusReport.Json(members, new Dictionary<string, double?> { ["node2"] = 12.34, ["node3"] = null }));

        var nodes = json.RootElement.GetProperty("nodes");
        Assert.Equal(4, nodes.GetArrayLength());
        Assert.False(nodes[0].TryGetProperty("streamed", out _));
        Assert.Equal(12.3, nodes[1].GetProperty("streamed").GetDouble());
        Assert.Equal(JsonValueKind.Null, nodes[2].GetProperty("streamed").ValueKind);
        Assert.Equal("LEFT", nodes[3].GetProperty("state").GetString());
        Assert.False(nodes[3].TryGetProperty("streamed", out _));
    }

    [Fact]
    public void Json_NoNodes_IsAnEmptyList()
    {
        using var json = JsonDocument.Parse(StatusReport.Json([]));

        Assert.Equal(0, json.RootElement.GetProperty("nodes").GetArrayLength());
    }

    [Theory]
    [InlineData("NORMAL", "UP", "UN")]
    [InlineData("NORMAL", "DOWN", "DN")]
    [InlineData("JOINING", "UP", "UJ")]
    [InlineData("LEAVING", "UP", "UL")]
    [InlineData("LEFT", "DOWN", "DX")]
    [InlineData("MOVING", "UNKNOWN", "??")]
    public void StateCode_StatusThenState_TwoLetters(string state, string status, string expected)
    {
        var member = new RingMember("n", "h:1", "h:2", "d", "r", state, status, 1, 0, 1, 0);

        Assert.Equal(expected, StatusReport.StateCode(member));
    }

    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(1023, "1023 B")]
    [InlineData(1024, "1.0 KiB")]
    [InlineData(1536, "1.5 KiB")]
    [InlineData(10L << 20, "10.0 MiB")]
    [InlineData(3L << 40, "3.0 TiB")]
    [InlineData(long.MaxValue, "8.0 EiB")]
    public void HumanBytes_BinaryUnits(long bytes, string expected) => Assert.Equal(expected, StatusReport.HumanBytes(bytes));

    private static int CountProperties(JsonElement element)
    {
        var count = 0;
        foreach (var _ in element.EnumerateObject())
        {
            count++;
        }

        return count;
    }
}
