using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using RingKV.Server.Tests.Support;
using RingKV.Testing.Processes;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>SCAN's cursor walk and the work one call may do, over raw sockets against a real server (issue 15).</summary>
public sealed class ScanTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public void Scan_FullWalkAtEveryCount_EveryKeyExactlyOnce()
    {
        using var raw = fixture.Server.ConnectRaw();
        const int Keys = 1500;
        for (var i = 0; i < Keys; i += 100)
        {
            var mset = new List<object> { "MSET" };
            for (var j = i; j < i + 100; j++)
            {
                mset.Add($"scan-once:{j}");
                mset.Add("v");
            }

            Assert.Equal("+OK", raw.CallText([.. mset]));
        }

        foreach (var count in new[] { 1, 7, 100, 5000 })
        {
            var seen = Walk(raw, "scan-once:*", count, out var calls);
            Assert.Equal(Keys, seen.Count);
            Assert.Equal(Keys, seen.Distinct(StringComparer.Ordinal).Count());
            Assert.True(count >= Keys || calls > 1, $"COUNT {count} took {calls} calls");
        }

        var narrow = Walk(raw, "scan-once:1?3", 10, out _);
        Assert.Equal(Enumerable.Range(0, 10).Select(d => $"scan-once:1{d}3").Order(StringComparer.Ordinal), narrow.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Scan_BacktrackingPatternOnLongKeys_Answers()
    {
        // Before the fix one 60-byte key and this pattern took a minute of CPU, a 60,000-byte key minutes: the reply
        // would not come within the client's read timeout.
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("SET", "scan-bt:" + new string('a', 52), "v"));
        Assert.Equal("+OK", raw.CallText("SET", "scan-bt:" + new string('a', 60_000), "v"));
        Assert.Empty(Walk(raw, "*a*a*a*a*a*a*a*a*ab", 1000, out _));
        Assert.Empty(Walk(raw, string.Concat(Enumerable.Repeat("*a", 30)) + "b", 1000, out _));
        Assert.Equal(2, Walk(raw, "scan-bt:*a*a*a*a*a*a*a*a*a", 1000, out _).Count);
        Assert.Equal("+PONG", raw.CallText("PING"));
    }

    [Fact]
    public void Scan_CostlyPatternOnManyLongKeys_CallsReturnEarlyWithCursor()
    {
        // Twenty 50,000-byte keys, each about a million glob steps for this pattern (twenty per byte of key): with COUNT 100
        // one call could cover them all, but its work allowance (about COUNT x 1024 steps) ends it after one, with a cursor.
        using var raw = fixture.Server.ConnectRaw();
        const int Keys = 20;
        for (var i = 0; i < Keys; i++)
        {
            Assert.Equal("+OK", raw.CallText("SET", $"scan-work:{i}:" + new string('a', 50_000), "v"));
        }

        var pattern = "scan-work:*" + new string('a', 19) + "b";
        var seen = Walk(raw, pattern, 100, out var calls);
        Assert.Empty(seen);
        Assert.True(calls >= Keys, $"{calls} SCAN calls covered {Keys} costly keys with COUNT 100");
    }

    /// <summary>SCAN from cursor 0 to the end; every key returned, in order, and how many calls it took.</summary>
    private static List<string> Walk(RawClient raw, string pattern, int count, out int calls)
    {
        var keys = new List<string>();
        var cursor = "0";
        calls = 0;
        do
        {
            var reply = Assert.IsType<object?[]>(raw.Call("SCAN", cursor, "MATCH", pattern, "COUNT", count));
            cursor = RawClient.Describe(reply[0]);
            foreach (var key in Assert.IsType<object?[]>(reply[1]))
            {
                keys.Add(RawClient.Describe(key));
            }

            calls++;
            Assert.True(calls < 100_000, "SCAN never returned cursor 0");
        }
        while (cursor != "0");

        _ = CultureInfo.InvariantCulture;
        return keys;
    }
}
