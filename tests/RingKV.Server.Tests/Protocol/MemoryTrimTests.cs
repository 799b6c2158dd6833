using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading;
using RingKV.Testing.Processes;
using Xunit;

namespace RingKV.Server.Tests.Protocol;

/// <summary>After a big write the node, once quiet, collects what the write left on the managed heap (its RSS is measured in bench/memory-bursts.py, not here).</summary>
public sealed class MemoryTrimTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public void BigMset_ThenQuiet_NodeRunsItsSeriesOfFullCollections()
    {
        using var server = new ServerProcess("--max-request-mb", "64", "--max-request-memory-mb", "64");
        using var raw = server.ConnectRaw();
        var arguments = new List<object> { "MSET" };
        for (var i = 0; i < 40; i++)
        {
            arguments.Add($"trim:{i}");
            arguments.Add(new byte[1024 * 1024]); // 40 MiB in all: a write batch over the trimmer's 32 MiB
        }

        Assert.Equal("+OK", raw.CallText([.. arguments]));
        var after = Stat(raw, "gc_gen2_collections");

        // A series of eight blocking gen2 collections, one a second, starts on the first quiet tick (at most one of
        // them before the count above); an idle node runs none otherwise.
        var clock = Stopwatch.StartNew();
        while (Stat(raw, "gc_gen2_collections") < after + 7)
        {
            Assert.True(clock.Elapsed < Deadline, $"fewer than 7 full collections within {Deadline} after the MSET");
            Thread.Sleep(200);
        }
    }

    private static long Stat(RawClient raw, string name)
    {
        var info = Encoding.UTF8.GetString((byte[])raw.Call("INFO")!);
        foreach (var line in info.Split("\r\n"))
        {
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(name.Length + 1), CultureInfo.InvariantCulture);
            }
        }

        Assert.Fail($"INFO has no {name}");
        return 0;
    }
}
