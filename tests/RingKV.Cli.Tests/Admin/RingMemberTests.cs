using System;
using RingKV.Cli.Admin;
using Xunit;

namespace RingKV.Cli.Tests.Admin;

public sealed class RingMemberTests
{
    [Fact]
    public void DecodeRing_ServerOrder_ReadsEveryField()
    {
        var reply = RespReply.Array(RingSamples.Node("node1", "127.0.0.1:7379", ownership: "0.25", load: 12345, tokens: 8, dc: "east", rack: "r2"));

        var member = Assert.Single(RingMember.DecodeRing(reply, "127.0.0.1:7379"));

        Assert.Equal(new RingMember("node1", "127.0.0.1:7379", "127.0.0.1:17379", "east", "r2", "NORMAL", "UP", 1, 0.25, 8, 12345), member);
        Assert.True(member.IsNormalAndUp);
    }

    [Fact]
    public void DecodeRing_FieldsReorderedAndUnknownField_ReadsTheKnownOnes()
    {
        var reply = RespReply.Array(RingSamples.Fields(
            "load", "7", "tokens", "4", "ownership", "1", "capacity", "2", "future", "x", "status", "DOWN",
            "state", "JOINING", "rack", "r", "dc", "d", "peer", "h:2", "address", "h:1", "id", "n"));

        var member = Assert.Single(RingMember.DecodeRing(reply, "h:1"));

        Assert.Equal(new RingMember("n", "h:1", "h:2", "d", "r", "JOINING", "DOWN", 2, 1.0, 4, 7), member);
        Assert.False(member.IsNormalAndUp);
    }

    [Fact]
    public void DecodeRing_IntegerValues_AreAccepted()
    {
        var element = RingSamples.Node("node1", "127.0.0.1:7379");
        var elements = new RespReply[element.Elements!.Count];
        for (var i = 0; i < elements.Length; i++)
        {
            var field = element.Elements[i - (i % 2)].Text;
            elements[i] = i % 2 == 1 && field is "capacity" or "tokens" or "load" ? RespReply.Integer(long.Parse(element.Elements[i].Text!, System.Globalization.CultureInfo.InvariantCulture)) : element.Elements[i];
        }

        var member = Assert.Single(RingMember.DecodeRing(RespReply.Array(RespReply.Array(elements)), "x"));

        Assert.Equal(16, member.Tokens);
    }

    [Fact]
    public void DecodeRing_ErrorReply_NamesTheNodeAndTheError()
    {
        var e = Assert.Throws<FormatException>(() => RingMember.DecodeRing(RespReply.Error("ERR unknown command 'KV.RING'"), "127.0.0.1:7379"));

        Assert.Contains("127.0.0.1:7379", e.Message, StringComparison.Ordinal);
        Assert.Contains("unknown command 'KV.RING'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeRing_MissingField_NamesIt()
    {
        var reply = RespReply.Array(RingSamples.Node("node1", "127.0.0.1:7379"), RingSamples.Fields("id", "node2", "address", "127.0.0.1:7380"));

        var e = Assert.Throws<FormatException>(() => RingMember.DecodeRing(reply, "127.0.0.1:7379"));

        Assert.Contains("node 2 has no 'peer' field", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("load", "-1", "load '-1' is not a whole number")]
    [InlineData("tokens", "many", "tokens 'many' is not a whole number")]
    [InlineData("ownership", "1.5", "ownership '1.5' is not a fraction")]
    [InlineData("ownership", "NaN", "ownership 'NaN' is not a fraction")]
    public void DecodeRing_BadNumber_NamesTheField(string field, string value, string expected)
    {
        var node = RingSamples.Node("node1", "127.0.0.1:7379");
        var elements = new RespReply[node.Elements!.Count];
        for (var i = 0; i < elements.Length; i++)
        {
            elements[i] = i > 0 && node.Elements[i - 1].Text == field ? RespReply.Bulk(value) : node.Elements[i];
        }

        var e = Assert.Throws<FormatException>(() => RingMember.DecodeRing(RespReply.Array(RespReply.Array(elements)), "h:1"));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeRing_NotAnArray_SaysWhatCame()
    {
        Assert.Throws<FormatException>(() => RingMember.DecodeRing(RespReply.Simple("OK"), "h:1"));
        Assert.Throws<FormatException>(() => RingMember.DecodeRing(RespReply.Array(RespReply.Bulk("id")), "h:1"));
        Assert.Throws<FormatException>(() => RingMember.DecodeRing(RespReply.Array(RingSamples.Fields("id")), "h:1"));
    }
}
