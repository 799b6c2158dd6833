using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;

namespace RingKV.Cli.Admin;

/// <summary>Renders a ring view as <c>ringkv status</c> prints it: a table like <c>nodetool status</c>, or JSON.</summary>
internal static class StatusReport
{
    private static readonly string[] Headers = ["--", "Address", "DC", "Rack", "Load", "Tokens", "Owns", "Hints", "Id"];

    /// <summary>The nodes in the order both renderings list them: by data center, then rack, then address (port as a number), then id.</summary>
    public static List<RingMember> Sorted(IReadOnlyList<RingMember> members)
    {
        var sorted = new List<RingMember>(members);
        sorted.Sort(static (a, b) =>
        {
            var order = string.CompareOrdinal(a.Dc, b.Dc);
            if (order == 0)
            {
                order = string.CompareOrdinal(a.Rack, b.Rack);
            }

            if (order == 0)
            {
                var (hostA, portA) = SplitForSort(a.Address);
                var (hostB, portB) = SplitForSort(b.Address);
                order = string.CompareOrdinal(hostA, hostB);
                if (order == 0)
                {
                    order = portA.CompareTo(portB);
                }
            }

            return order != 0 ? order : string.CompareOrdinal(a.Id, b.Id);
        });
        return sorted;
    }

    /// <summary>
    /// The two letters of a node's row: U (up) or D (down), then N (normal), J (joining), L (leaving) or X (left);
    /// a state this version does not know shows as '?'.
    /// </summary>
    public static string StateCode(RingMember member)
    {
        var status = member.Status switch
        {
            "UP" => 'U',
            "DOWN" => 'D',
            _ => '?',
        };
        var state = member.State switch
        {
            "NORMAL" => 'N',
            "JOINING" => 'J',
            "LEAVING" => 'L',
            "LEFT" => 'X',
            _ => '?',
        };
        return $"{status}{state}";
    }

    /// <summary>
    /// The table: a legend, a header and one row per node, columns padded to their widest cell. A JOINING or LEAVING
    /// node's code is followed by its percent streamed from <paramref name="streamed"/> (<c>UJ 42.5%</c>; <c>?</c> when
    /// null there: its INFO could not be read). LEFT nodes are not rows but one line after the table.
    /// </summary>
    /// <remarks>
    /// LEFT nodes are left out as nodetool leaves them out: they own nothing, store nothing and answer nothing, and the
    /// ring keeps listing them only for a while, so a row would look like a member. The line after the table still
    /// names them, so a decommission just done is visible; <see cref="Json"/> lists them whole.
    /// </remarks>
    public static string Table(IReadOnlyList<RingMember> members, IReadOnlyDictionary<string, double?>? streamed = null)
    {
        var rows = new List<string[]> { Headers };
        var left = new List<string>();
        foreach (var member in Sorted(members))
        {
            if (member.State == "LEFT")
            {
                left.Add(member.Id);
                continue;
            }

            rows.Add([
                StateCode(member) + StreamedSuffix(member, streamed),
                member.Address,
                member.Dc,
                member.Rack,
                HumanBytes(member.LoadBytes),
                member.Tokens.ToString(CultureInfo.InvariantCulture),
                (member.Ownership * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%",
                member.HintsPending.ToString(CultureInfo.InvariantCulture),
                member.Id,
            ]);
        }

        var widths = new int[Headers.Length];
        foreach (var row in rows)
        {
            for (var column = 0; column < row.Length; column++)
            {
                widths[column] = Math.Max(widths[column], row[column].Length);
            }
        }

        var text = new StringBuilder();
        text.Append("Status=Up/Down\n");
        text.Append("|/ State=Normal/Joining/Leaving (with the percent streamed)\n");
        foreach (var row in rows)
        {
            for (var column = 0; column < row.Length; column++)
            {
                var last = column == row.Length - 1;
                text.Append(last ? row[column] : row[column].PadRight(widths[column] + 2));
            }

            text.Append('\n');
        }

        if (left.Count > 0)
        {
            text.Append("Left (not listed): ").Append(string.Join(", ", left)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Whether a node is in a membership change whose streams have a percent: JOINING or LEAVING.</summary>
    public static bool IsStreaming(RingMember member) => member.State is "JOINING" or "LEAVING";

    /// <summary><c> 42.5%</c> or <c> ?</c> after a JOINING or LEAVING node's code when percents were asked; nothing otherwise.</summary>
    private static string StreamedSuffix(RingMember member, IReadOnlyDictionary<string, double?>? streamed) =>
        streamed is null || !IsStreaming(member) ? ""
        : streamed.GetValueOrDefault(member.Id) is { } percent ? " " + percent.ToString("0.0", CultureInfo.InvariantCulture) + "%"
        : " ?";

    /// <summary>
    /// <c>{ "nodes": [ { "id", "address", "peer", "dc", "rack", "state", "status", "capacity", "ownership", "tokens", "load", "hints" } ] }</c>,
    /// indented; capacity, ownership, tokens, load (bytes) and hints (kept for the node by the one answering) are numbers, the rest strings as KV.RING gave them.
    /// A JOINING or LEAVING node also has <c>"streamed"</c> when <paramref name="streamed"/> is given: its percent, or null when unknown. LEFT nodes are listed.
    /// </summary>
    public static string Json(IReadOnlyList<RingMember> members, IReadOnlyDictionary<string, double?>? streamed = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartArray("nodes");
            foreach (var member in Sorted(members))
            {
                json.WriteStartObject();
                json.WriteString("id", member.Id);
                json.WriteString("address", member.Address);
                json.WriteString("peer", member.Peer);
                json.WriteString("dc", member.Dc);
                json.WriteString("rack", member.Rack);
                json.WriteString("state", member.State);
                json.WriteString("status", member.Status);
                json.WriteNumber("capacity", member.Capacity);
                json.WriteNumber("ownership", member.Ownership);
                json.WriteNumber("tokens", member.Tokens);
                json.WriteNumber("load", member.LoadBytes);
                json.WriteNumber("hints", member.HintsPending);
                if (streamed is not null && IsStreaming(member))
                {
                    if (streamed.GetValueOrDefault(member.Id) is { } percent)
                    {
                        json.WriteNumber("streamed", Math.Round(percent, 1));
                    }
                    else
                    {
                        json.WriteNull("streamed");
                    }
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>Bytes in binary units with one decimal past KiB: <c>0 B</c>, <c>1023 B</c>, <c>1.5 KiB</c>, <c>2.0 GiB</c>.</summary>
    public static string HumanBytes(long bytes)
    {
        string[] units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        if (bytes < 1024)
        {
            return bytes.ToString(CultureInfo.InvariantCulture) + " B";
        }

        var value = (double)bytes;
        var unit = -1;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return value.ToString("0.0", CultureInfo.InvariantCulture) + " " + units[unit];
    }

    private static (string Host, int Port) SplitForSort(string address)
    {
        var colon = address.LastIndexOf(':');
        return colon > 0 && int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            ? (address[..colon], port)
            : (address, 0);
    }
}
