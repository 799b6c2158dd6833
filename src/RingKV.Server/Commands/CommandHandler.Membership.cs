using System.Globalization;
using System.Text;
using System.Threading.Tasks;
using RingKV.Net.Resp;

namespace RingKV.Server.Commands;

internal sealed partial class CommandHandler
{
    /// <summary>
    /// KV.DECOMMISSION → +OK once this node is LEAVING: its ranges stream to the nodes that take them over, then it turns
    /// LEFT and the process exits. Refused (an error) on a single node, while another membership change is in flight, or
    /// when fewer nodes than the replicas would remain in its data center.
    /// </summary>
    internal async ValueTask<RespAction> KvDecommission(RespCommand c, RespWriter w)
    {
        if (!RequireCluster("KV.DECOMMISSION", w, out var cluster))
        {
            return RespAction.Continue;
        }

        if (c.Count != 1)
        {
            w.WriteError("ERR wrong number of arguments for 'kv.decommission' command: KV.DECOMMISSION takes none"u8);
            return RespAction.Continue;
        }

        WriteOkOr(w, await cluster.DecommissionAsync().ConfigureAwait(false));
        return RespAction.Continue;
    }

    /// <summary>
    /// KV.REMOVENODE node-id → +OK once the DOWN node is being removed: the nodes that take over its ranges stream them
    /// from the surviving replicas, then it is LEFT. Refused for an unknown or UP node and while a change is in flight.
    /// </summary>
    internal async ValueTask<RespAction> KvRemoveNode(RespCommand c, RespWriter w)
    {
        if (!RequireCluster("KV.REMOVENODE", w, out var cluster))
        {
            return RespAction.Continue;
        }

        if (c.Count != 2 || c[1].Length == 0)
        {
            w.WriteError("ERR wrong number of arguments for 'kv.removenode' command: KV.REMOVENODE node-id"u8);
            return RespAction.Continue;
        }

        WriteOkOr(w, await cluster.RemoveNodeAsync(Encoding.UTF8.GetString(c[1])).ConfigureAwait(false));
        return RespAction.Continue;
    }

    /// <summary>KV.CLEANUP → the number of records this node removed because it no longer replicates them (after a membership change).</summary>
    internal async ValueTask<RespAction> KvCleanup(RespCommand c, RespWriter w)
    {
        if (!RequireCluster("KV.CLEANUP", w, out var cluster))
        {
            return RespAction.Continue;
        }

        if (c.Count != 1)
        {
            w.WriteError("ERR wrong number of arguments for 'kv.cleanup' command: KV.CLEANUP takes none"u8);
            return RespAction.Continue;
        }

        var (removed, error) = await cluster.CleanupAsync().ConfigureAwait(false);
        if (error is not null)
        {
            w.WriteError($"ERR {error}");
        }
        else
        {
            w.WriteInteger(removed);
        }

        return RespAction.Continue;
    }

    private bool RequireCluster(string command, RespWriter w, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Cluster.NodeHost? cluster)
    {
        cluster = _node.Cluster;
        if (cluster is null)
        {
            w.WriteError($"ERR {command} needs a cluster node (started with --seeds or --peer-listen): a single node has no membership to change");
            return false;
        }

        return true;
    }

    private static void WriteOkOr(RespWriter w, string? error)
    {
        if (error is null)
        {
            w.WriteSimpleString("OK"u8);
        }
        else
        {
            w.WriteError($"ERR {error}");
        }
    }

    /// <summary>INFO's streaming section (cluster nodes): the change in flight and this node's part in it.</summary>
    private async Task AppendStreamingInfoAsync(StringBuilder text, System.Action<string, object> line)
    {
        if (_node.Cluster is not { } cluster)
        {
            return;
        }

        var (f, cleaned, rate) = await cluster.InspectAsync(static m => (m.StreamFigures, m.CleanupKeysRemoved, m.Node.StreamRate)).ConfigureAwait(false);
        text.Append("# Streaming\r\n");
        line("streaming_change", f.Change);
        line("streaming_ranges_total", f.RangesTotal);
        line("streaming_ranges_done", f.RangesDone);
        line("streaming_percent", (f.Permille / 10.0).ToString("0.0", CultureInfo.InvariantCulture));
        line("streaming_change_percent", (f.ChangePermille / 10.0).ToString("0.0", CultureInfo.InvariantCulture));
        line("streaming_bytes_estimate", f.BytesEstimate);
        line("streaming_bytes_received", f.BytesReceived);
        line("streaming_keys_received", f.KeysReceived);
        line("streaming_bytes_sent", f.BytesSent);
        line("streaming_keys_sent", f.KeysSent);
        line("streaming_rate_bytes_per_second", rate);
        line("cleanup_keys_removed", cleaned);
        text.Append("\r\n");
    }
}
