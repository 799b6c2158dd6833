using System;
using RingKV.Cli.Admin;
using Xunit;

namespace RingKV.Cli.Tests.Admin;

public sealed class RepairStatusTests
{
    private static RespReply Status(params string[] pairs) => RespReply.Array(Array.ConvertAll(pairs, RespReply.Bulk));

    private static readonly string[] Ended =
    [
        "running", "0", "pass", "2", "ranges_done", "48", "ranges_total", "48", "ranges_differing", "3", "ranges_failed", "0",
        "keys_repaired", "10", "keys_sent", "40", "keys_received", "12", "bytes_sent", "5000", "bytes_received", "1200", "duration_ms", "2345",
        "passes_done", "2", "last_failure", "",
    ];

    [Fact]
    public void Decode_EndedPass_SummaryLine()
    {
        var status = RepairStatus.Decode(Status(Ended), "127.0.0.1:7379");
        Assert.False(status.Running);
        Assert.Equal(2, status.Pass);
        Assert.Equal("repaired 10 keys in 48 ranges (3 differed), sent 6200 bytes, 2.3 s", status.Summary());
    }

    [Fact]
    public void Decode_FailedRanges_NamedAfterTheLine()
    {
        var pairs = (string[])Ended.Clone();
        pairs[11] = "2";
        pairs[^1] = "Roots with n2 passed its deadline (00:00:30)";
        Assert.EndsWith("; 2 ranges failed: Roots with n2 passed its deadline (00:00:30)", RepairStatus.Decode(Status(pairs), "h:1").Summary(), StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_ErrorOrOtherShape_FormatExceptionNamingTheNode()
    {
        var error = Assert.Throws<FormatException>(() => RepairStatus.Decode(RespReply.Error("ERR KV.REPAIR needs a cluster node"), "h:1"));
        Assert.Contains("h:1 refused KV.REPAIR STATUS: ERR KV.REPAIR needs a cluster node", error.Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => RepairStatus.Decode(RespReply.Simple("OK"), "h:1"));
        Assert.Throws<FormatException>(() => RepairStatus.Decode(Status("running", "0"), "h:1"));
    }
}
