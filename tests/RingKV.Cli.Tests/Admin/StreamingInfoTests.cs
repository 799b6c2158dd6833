using System;
using RingKV.Cli.Admin;
using Xunit;

namespace RingKV.Cli.Tests.Admin;

public sealed class StreamingInfoTests
{
    /// <summary>INFO streaming as the contract (lead-elastic-spec.md) has a leaving node answer it.</summary>
    private const string Leaving =
        "# Streaming\r\n"
        + "streaming_change:leave node2\r\n"
        + "streaming_ranges_total:0\r\n"
        + "streaming_ranges_done:0\r\n"
        + "streaming_percent:100.0\r\n"
        + "streaming_change_percent:42.5\r\n"
        + "streaming_bytes_estimate:0\r\n"
        + "streaming_bytes_received:17\r\n"
        + "streaming_keys_received:1\r\n"
        + "streaming_bytes_sent:123456789\r\n"
        + "streaming_keys_sent:1000\r\n"
        + "streaming_rate_bytes_per_second:0\r\n"
        + "cleanup_keys_removed:12\r\n"
        + "\r\n";

    [Fact]
    public void Decode_LeavingNode_ChangePercentAndCounters()
    {
        var info = StreamingInfo.Decode(RespReply.Bulk(Leaving), "test");

        Assert.Equal("leave node2", info.Change);
        Assert.True(info.InFlight);
        Assert.Equal(100.0, info.Percent);
        Assert.Equal(42.5, info.ChangePercent);
        Assert.Equal(17, info.BytesReceived);
        Assert.Equal(123456789, info.BytesSent);
        Assert.Equal(12, info.CleanupKeysRemoved);
    }

    [Fact]
    public void Decode_NoChangePercent_IsTheNodesOwnPercent()
    {
        var info = StreamingInfo.Decode(RespReply.Bulk("# Streaming\r\nstreaming_change:none\r\nstreaming_percent:100.0\r\n"), "test");

        Assert.False(info.InFlight);
        Assert.Equal(100.0, info.ChangePercent);
        Assert.Equal(0, info.BytesSent);
    }

    [Fact]
    public void Decode_NoStreamingSection_SaysSo()
    {
        var e = Assert.Throws<FormatException>(() => StreamingInfo.Decode(RespReply.Bulk("# Server\r\nredis_version:7.2.0\r\n"), "127.0.0.1:7379"));

        Assert.Contains("127.0.0.1:7379", e.Message, StringComparison.Ordinal);
        Assert.Contains("# Streaming", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_ErrorReply_CarriesItsText()
    {
        var e = Assert.Throws<FormatException>(() => StreamingInfo.Decode(RespReply.Error("ERR NOAUTH Authentication required."), "n1"));

        Assert.Contains("NOAUTH", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fields_ValueWithColons_KeptWhole() =>
        Assert.Equal("node=node2,pending=3", StreamingInfo.Fields(RespReply.Bulk("# Hints\r\nhints_target0:node=node2,pending=3\r\n"), "t")["hints_target0"]);
}
