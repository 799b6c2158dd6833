using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Net.Resp;

namespace RingKV.Server.Commands;

internal sealed partial class CommandHandler
{
    /// <summary>
    /// KV.RING → one element per known node, each a flat array of field/value pairs: id, address (client host:port), peer,
    /// dc, rack, state (JOINING|NORMAL|LEAVING|LEFT), status (UP|DOWN), capacity, ownership (fraction of the ring),
    /// tokens (count), load (bytes stored), suspected (1 when this node's own detector suspects it, else 0), observers
    /// (nodes whose current reports suspect it, this one included: DOWN needs two), heartbeat (its heartbeat version as
    /// this node holds it; a node's own rises once a gossip round). For smart clients and <c>ringkv status</c>; a single
    /// node lists itself.
    /// </summary>
    internal async ValueTask<RespAction> KvRing(RespWriter w)
    {
        var nodes = await RingNodesAsync().ConfigureAwait(false);
        w.WriteArrayHeader(nodes.Count);
        foreach (var node in nodes)
        {
            w.WriteArrayHeader(node.Count * 2);
            foreach (var (field, value) in node)
            {
                w.WriteBulkString(Encoding.UTF8.GetBytes(field));
                w.WriteBulkString(Encoding.UTF8.GetBytes(value));
            }
        }

        return RespAction.Continue;
    }

    /// <summary>The nodes KV.RING and INFO cluster describe, in id order.</summary>
    private async Task<List<List<(string Field, string Value)>>> RingNodesAsync()
    {
        if (_node.Cluster is not { } cluster)
        {
            var o = _node.Options;
            return
            [
                [("id", o.NodeId), ("address", _node.Listener?.LocalEndPoint.ToString() ?? o.Listen), ("peer", ""), ("dc", o.Dc), ("rack", o.Rack),
                    ("state", "NORMAL"), ("status", "UP"), ("capacity", "1"), ("ownership", "1"), ("tokens", "0"),
                    ("load", _node.Engine.GetLevels().Sum(l => l.Bytes).ToString(CultureInfo.InvariantCulture)),
                    ("suspected", "0"), ("observers", "0"), ("heartbeat", "0"), ("hints", "0"), ("ops", "0"), ("p99_us", "0"), ("cpu", "0.0")],
            ];
        }

        return await cluster.InspectAsync(static m =>
        {
            var ring = m.Node.Ring;
            var hints = m.Node.Hints.PendingByTarget;
            var list = new List<List<(string, string)>>();
            foreach (var member in m.View.Members.OrderBy(s => s.Id))
            {
                var r = member.Record;
                var ownership = ring.Contains(r.Id) ? ring.OwnershipOf(r.Id) : 0;
                list.Add(
                [
                    ("id", r.Id.Name), ("address", r.ClientAddress), ("peer", r.PeerAddress), ("dc", r.DataCenter), ("rack", r.Rack),
                    ("state", r.State.ToString().ToUpperInvariant()), ("status", member.Down ? "DOWN" : "UP"),
                    ("capacity", r.Capacity.ToString(CultureInfo.InvariantCulture)),
                    ("ownership", ownership.ToString("0.####", CultureInfo.InvariantCulture)),
                    ("tokens", r.Tokens.Length.ToString(CultureInfo.InvariantCulture)),
                    ("load", r.Load.StorageBytes.ToString(CultureInfo.InvariantCulture)),
                    ("suspected", member.SuspectedLocally ? "1" : "0"),
                    ("observers", member.Observers.ToString(CultureInfo.InvariantCulture)),
                    ("heartbeat", r.Version.ToString(CultureInfo.InvariantCulture)),
                    ("hints", hints.Where(h => h.Target == r.Id).Sum(h => h.Pending).ToString(CultureInfo.InvariantCulture)),
                    ("ops", r.Load.OperationsPerSecond.ToString(CultureInfo.InvariantCulture)),
                    ("p99_us", r.Load.P99LatencyMicros.ToString(CultureInfo.InvariantCulture)),
                    ("cpu", (r.Load.CpuPermille / 10.0).ToString("0.0", CultureInfo.InvariantCulture)),
                ]);
            }

            return list;
        }).ConfigureAwait(false);
    }

    /// <summary>INFO's cluster section: ringkv_* names, so Redis clients (which read cluster_enabled) stay in standalone mode.</summary>
    private async Task AppendClusterInfoAsync(StringBuilder text, Action<string, object> line)
    {
        text.Append("# Cluster\r\n");
        line("cluster_enabled", 0);
        var nodes = await RingNodesAsync().ConfigureAwait(false);
        line("ringkv_cluster", _node.Cluster is null ? "single" : _node.Options.ClusterName);
        line("ringkv_nodes", nodes.Count);
        line("ringkv_nodes_up", nodes.Count(n => n.Contains(("status", "UP"))));
        line("ringkv_nodes_normal", nodes.Count(n => n.Contains(("state", "NORMAL"))));
        if (_node.Cluster is { } cluster)
        {
            line("ringkv_node_id", cluster.Self.Name);
            line("ringkv_read_level", _node.Options.Read.ToUpperInvariant());
            line("ringkv_write_level", _node.Options.Write.ToUpperInvariant());
            line("ringkv_replication", _node.Options.Replication ?? "3");
            line("ringkv_replica_blind_writes", Interlocked.Read(ref cluster.Stamps.BlindWrites));
            line("ringkv_replica_read_writes", Interlocked.Read(ref cluster.Stamps.ReadWrites));
            var (hints, readRepairs) = await cluster.InspectAsync(static m => (m.Node.Hints, m.Node.ReadRepairs)).ConfigureAwait(false);
            text.Append("\r\n# Hints\r\n");
            line("hints_pending", hints.Pending);
            line("hints_written", hints.Written);
            line("hints_delivered", hints.Delivered);
            line("hints_dropped", hints.Dropped);
            line("hints_targets", hints.PendingByTarget.Count);
            for (var i = 0; i < hints.PendingByTarget.Count; i++)
            {
                var (target, pending) = hints.PendingByTarget[i];
                line(string.Create(CultureInfo.InvariantCulture, $"hints_target{i}"), string.Create(CultureInfo.InvariantCulture, $"node={target.Name},pending={pending}"));
            }

            line("read_repairs", readRepairs);
            line("tombstones_purged", cluster.TombstonesPurged);
        }

        text.Append("\r\n");
    }
}
