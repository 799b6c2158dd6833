using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Threading;
using Xunit;

namespace RingKV.Testing.Processes;

/// <summary>A running node's KV.RING, read over a raw connection, and waits on it.</summary>
public static class RingView
{
    /// <summary>KV.RING as <paramref name="node"/> sees it: one field map per node, by id.</summary>
    public static Dictionary<string, Dictionary<string, string>> Ring(ServerProcess node)
    {
        using var raw = node.ConnectRaw();
        var reply = (object?[])raw.Call("KV.RING")!;
        var ring = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (object?[] entry in reply.Cast<object?[]>())
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var f = 0; f + 1 < entry.Length; f += 2)
            {
                fields[Text(entry[f])] = Text(entry[f + 1]);
            }

            ring[fields["id"]] = fields;
        }

        return ring;
    }

    /// <summary>Nodes <paramref name="node"/> sees NORMAL and UP; -1 when it is not running or does not answer.</summary>
    public static int UpNormal(ServerProcess node)
    {
        if (!node.IsRunning)
        {
            return -1;
        }

        try
        {
            return Ring(node).Values.Count(n => n["state"] == "NORMAL" && n["status"] == "UP");
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return -1;
        }
    }

    /// <summary>Node <paramref name="observer"/>'s view of node <paramref name="subject"/>'s status (UP, DOWN, or absent).</summary>
    public static string StatusOf(ServerProcess observer, int subject) =>
        Ring(observer).TryGetValue($"node{subject}", out var fields) ? fields["status"] : "absent";

    /// <summary>Polls <paramref name="condition"/> every 100 ms; fails the test when it is not true within <paramref name="deadline"/>.</summary>
    public static void WaitUntil(Func<bool> condition, TimeSpan deadline, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < deadline, $"not within {deadline}: {what}");
            Thread.Sleep(100);
        }
    }

    private static string Text(object? value) => value switch
    {
        byte[] bytes => System.Text.Encoding.UTF8.GetString(bytes),
        null => "",
        _ => value.ToString() ?? "",
    };
}
