using System;
using System.Collections.Generic;
using System.Globalization;

namespace RingKV.Cli.Admin;

/// <summary>A node's INFO section <c># Streaming</c>: the membership change in flight as it sees it, and its streams' counters.</summary>
/// <param name="Change">
/// <c>none</c>, <c>join node4</c>, <c>leave node2</c>, <c>remove node3</c> or <c>replace node3 by node5</c>.
/// </param>
/// <param name="Percent">This node's own gains streamed, 0 to 100 (100 when it gains nothing).</param>
/// <param name="ChangePercent">On the node that owns the change: all gainers' progress; elsewhere <see cref="Percent"/>.</param>
/// <param name="BytesEstimate">Bytes this node expects to receive for its gains.</param>
/// <param name="BytesReceived">Bytes received by streams since start.</param>
/// <param name="BytesSent">Bytes served to other nodes' streams since start.</param>
/// <param name="CleanupKeysRemoved">Keys KV.CLEANUP removed since start.</param>
internal sealed record StreamingInfo(string Change, double Percent, double ChangePercent, long BytesEstimate, long BytesReceived, long BytesSent, long CleanupKeysRemoved)
{
    /// <summary>Whether a change is in flight as this node sees it.</summary>
    public bool InFlight => Change != "none";

    /// <summary>
    /// Reads the <c>field:value</c> lines of an INFO reply (other sections and <c>#</c> headers are skipped).
    /// </summary>
    /// <exception cref="FormatException">An error reply, not text, or no <c>streaming_change</c> line: the node has no streaming (an older version, or not a cluster node).</exception>
    public static StreamingInfo Decode(RespReply reply, string from)
    {
        var fields = Fields(reply, from);
        if (!fields.TryGetValue("streaming_change", out var change))
        {
            throw new FormatException($"{from}'s INFO has no # Streaming section (streaming_change): not a cluster node of a version with streaming");
        }

        double Fraction(string name) => fields.TryGetValue(name, out var text)
            && double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            ? Math.Clamp(value, 0, 100)
            : throw new FormatException($"{from}'s INFO has no percent {name}");
        long Number(string name) => fields.TryGetValue(name, out var text)
            && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : 0; // a counter a version does not have yet reads as none

        var percent = Fraction("streaming_percent");
        var changePercent = fields.ContainsKey("streaming_change_percent") ? Fraction("streaming_change_percent") : percent;
        return new StreamingInfo(change, percent, changePercent, Number("streaming_bytes_estimate"), Number("streaming_bytes_received"),
            Number("streaming_bytes_sent"), Number("cleanup_keys_removed"));
    }

    /// <summary>The <c>field:value</c> lines of an INFO reply.</summary>
    /// <exception cref="FormatException">An error reply, or not text.</exception>
    public static Dictionary<string, string> Fields(RespReply reply, string from)
    {
        if (reply.Kind == RespReplyKind.Error)
        {
            throw new FormatException($"{from} answered INFO with an error: {reply.Text}");
        }

        if (reply.Kind is not (RespReplyKind.BulkString or RespReplyKind.SimpleString) || reply.Text is null)
        {
            throw new FormatException($"{from} answered INFO with {reply}, not text");
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in reply.Text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (line.Length == 0 || line[0] == '#' || colon <= 0)
            {
                continue;
            }

            fields[line[..colon]] = line[(colon + 1)..];
        }

        return fields;
    }

    /// <summary>Asks <paramref name="client"/>'s node for INFO streaming.</summary>
    /// <exception cref="RespClientException">It did not answer.</exception>
    /// <exception cref="FormatException">It answered with something else.</exception>
    public static StreamingInfo Ask(RespClient client) => Decode(client.Call("INFO", "streaming"), client.Address);
}
