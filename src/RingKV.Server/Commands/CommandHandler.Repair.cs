using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading.Tasks;
using RingKV.Cluster.AntiEntropy;
using RingKV.Net.Resp;
using RingKV.Server.Cluster;

namespace RingKV.Server.Commands;

internal sealed partial class CommandHandler
{
    /// <summary>
    /// KV.REPAIR → starts a full anti-entropy pass on this node now: +OK, or an error when one is running, the node has
    /// no ring yet, or it is not a cluster node. KV.REPAIR STATUS → a flat array of field/value pairs (bulk strings): the
    /// running pass's progress, else the last pass's result (see <see cref="RepairStatus"/>).
    /// </summary>
    internal async ValueTask<RespAction> KvRepair(RespCommand c, RespWriter w)
    {
        if (_node.Cluster is not { } cluster)
        {
            w.WriteError("ERR KV.REPAIR needs a cluster node (started with --seeds or --peer-listen): a single node has no replicas to compare"u8);
            return RespAction.Continue;
        }

        if (c.Count == 2 && c.ArgumentEquals(1, "STATUS"u8))
        {
            var figures = await cluster.RepairFiguresAsync().ConfigureAwait(false);
            var fields = RepairStatus(figures, _node.Time.GetUtcNow());
            w.WriteArrayHeader(fields.Count * 2);
            foreach (var (field, value) in fields)
            {
                w.WriteBulkString(Encoding.UTF8.GetBytes(field));
                w.WriteBulkString(Encoding.UTF8.GetBytes(value));
            }

            return RespAction.Continue;
        }

        if (c.Count != 1)
        {
            w.WriteError("ERR syntax error: KV.REPAIR [STATUS]"u8);
            return RespAction.Continue;
        }

        if (await cluster.StartRepairAsync().ConfigureAwait(false) is { } refused)
        {
            w.WriteError($"ERR {refused}");
        }
        else
        {
            w.WriteSimpleString("OK"u8);
        }

        return RespAction.Continue;
    }

    /// <summary>
    /// KV.REPAIR STATUS's fields: running (1|0), pass (its number; 0 before the first), ranges_done, ranges_total,
    /// ranges_differing, ranges_failed, keys_repaired, keys_sent, keys_received, bytes_sent, bytes_received, duration_ms,
    /// passes_done, last_failure; of the running pass, else of the last one.
    /// </summary>
    internal static List<(string Field, string Value)> RepairStatus(AntiEntropyFigures figures, DateTimeOffset now)
    {
        var pass = figures.Current ?? figures.Last;
        string N(long value) => value.ToString(CultureInfo.InvariantCulture);
        return
        [
            ("running", figures.Running ? "1" : "0"),
            ("pass", N(pass?.Id ?? 0)),
            ("ranges_done", N(pass?.RangesDone ?? 0)),
            ("ranges_total", N(pass?.RangesTotal ?? 0)),
            ("ranges_differing", N(pass?.RangesDiffering ?? 0)),
            ("ranges_failed", N(pass?.RangesFailed ?? 0)),
            ("keys_repaired", N(pass?.KeysRepaired ?? 0)),
            ("keys_sent", N(pass?.KeysSent ?? 0)),
            ("keys_received", N(pass?.KeysReceived ?? 0)),
            ("bytes_sent", N(pass?.BytesSent ?? 0)),
            ("bytes_received", N(pass?.BytesReceived ?? 0)),
            ("duration_ms", N(pass is null ? 0 : (long)pass.DurationAt(now).TotalMilliseconds)),
            ("passes_done", N(figures.PassesDone)),
            ("last_failure", pass?.LastFailure ?? ""),
        ];
    }

    /// <summary>INFO's AntiEntropy section (cluster nodes): the running pass, the last pass with its per-range results, cumulative counters.</summary>
    private static async Task AppendAntiEntropyInfoAsync(NodeHost cluster, DateTimeOffset now, StringBuilder text, Action<string, object> line)
    {
        var f = await cluster.RepairFiguresAsync().ConfigureAwait(false);
        text.Append("# AntiEntropy\r\n");
        line("ae_running", f.Running ? 1 : 0);
        line("ae_passes_done", f.PassesDone);
        line("ae_next_pass_in_seconds", f.NextPassAt is { } next ? Math.Max(0, (long)(next - now).TotalSeconds) : -1);
        if (f.Current is { } current)
        {
            line("ae_current_pass", current.Id);
            line("ae_current_ranges_done", current.RangesDone);
            line("ae_current_ranges_total", current.RangesTotal);
            line("ae_current_keys_repaired", current.KeysRepaired);
            line("ae_current_bytes_sent", current.BytesSent);
            line("ae_current_duration_ms", (long)current.DurationAt(now).TotalMilliseconds);
        }

        if (f.Last is { } last)
        {
            line("ae_last_pass", last.Id);
            line("ae_last_pass_ended_at", last.EndedAt?.ToUnixTimeMilliseconds() ?? 0);
            line("ae_last_pass_duration_ms", (long)last.DurationAt(now).TotalMilliseconds);
            line("ae_last_pass_ranges", last.RangesTotal);
            line("ae_last_pass_ranges_differing", last.RangesDiffering);
            line("ae_last_pass_ranges_failed", last.RangesFailed);
            line("ae_last_pass_keys_sent", last.KeysSent);
            line("ae_last_pass_keys_received", last.KeysReceived);
            line("ae_last_pass_keys_repaired", last.KeysRepaired);
            line("ae_last_pass_bytes_sent", last.BytesSent);
            line("ae_last_pass_bytes_received", last.BytesReceived);
            line("ae_last_pass_failure", last.LastFailure);
        }

        line("ae_total_keys_repaired", f.TotalKeysRepaired);
        line("ae_total_keys_sent", f.TotalKeysSent);
        line("ae_total_keys_received", f.TotalKeysReceived);
        line("ae_total_bytes_sent", f.TotalBytesSent);
        line("ae_total_bytes_received", f.TotalBytesReceived);
        line("ae_total_ranges_failed", f.TotalRangesFailed);
        line("ae_sessions_served", f.SessionsServed);
        if (f.Last is { } ended)
        {
            // The last pass per range, in ring order: (start, end] of the vnode, its result and what moved.
            for (var i = 0; i < ended.Ranges.Count; i++)
            {
                var r = ended.Ranges[i];
                line($"ae_range_{i}", string.Create(CultureInfo.InvariantCulture,
                    $"start={r.Start:x16},end={r.End:x16},peers={r.Peers},result={r.Outcome.ToString().ToLowerInvariant()},keys_repaired={r.KeysRepaired},keys_sent={r.KeysSent},keys_received={r.KeysReceived}"));
            }
        }

        text.Append("\r\n");
    }
}
