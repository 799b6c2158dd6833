using System.Collections.Generic;
using System.Globalization;
using RingKV.Cli.Admin;

namespace RingKV.Cli.Tests.Admin;

/// <summary>KV.RING replies as a node sends them, for the decoding and rendering tests.</summary>
internal static class RingSamples
{
    /// <summary>One node's element: the fields in the order the server sends them.</summary>
    public static RespReply Node(string id, string address, string state = "NORMAL", string status = "UP", string ownership = "0.3333", long load = 0, long tokens = 16, string dc = "dc1", string rack = "rack1")
    {
        var (host, port) = HostPort.Parse(address);
        return Fields(
            "id", id,
            "address", address,
            "peer", $"{host}:{(port + 10000).ToString(CultureInfo.InvariantCulture)}",
            "dc", dc,
            "rack", rack,
            "state", state,
            "status", status,
            "capacity", "1",
            "ownership", ownership,
            "tokens", tokens.ToString(CultureInfo.InvariantCulture),
            "load", load.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>A flat array of bulk strings.</summary>
    public static RespReply Fields(params string[] fieldsAndValues)
    {
        var elements = new List<RespReply>();
        foreach (var text in fieldsAndValues)
        {
            elements.Add(RespReply.Bulk(text));
        }

        return RespReply.Array([.. elements]);
    }
}
