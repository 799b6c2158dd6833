using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading.Tasks;
using RingKV.Net.Resp;
using RingKV.Storage.Log;

namespace RingKV.Server.Commands;

internal sealed partial class CommandHandler
{
    private static void WriteCommandEntry(RespWriter w, CommandSpec spec)
    {
        w.WriteArrayHeader(6);
        w.WriteBulkString(Encoding.ASCII.GetBytes(spec.Name));
        w.WriteInteger(spec.Arity);
        var flags = spec.FlagNames();
        w.WriteSetHeader(flags.Length);
        foreach (var flag in flags)
        {
            w.WriteSimpleString(Encoding.ASCII.GetBytes(flag));
        }

        w.WriteInteger(spec.FirstKey);
        w.WriteInteger(spec.LastKey);
        w.WriteInteger(spec.KeyStep);
    }

    internal static RespAction CommandInfo(RespCommand c, RespWriter w)
    {
        var all = CommandTable.All;
        if (c.Count == 1)
        {
            w.WriteArrayHeader(all.Count);
            foreach (var spec in all)
            {
                WriteCommandEntry(w, spec);
            }
        }
        else if (c.ArgumentEquals(1, "COUNT"u8))
        {
            w.WriteInteger(all.Count);
        }
        else if (c.ArgumentEquals(1, "INFO"u8))
        {
            w.WriteArrayHeader(c.Count - 2);
            for (var i = 2; i < c.Count; i++)
            {
                if (CommandTable.Find(c[i]) is { } spec)
                {
                    WriteCommandEntry(w, spec);
                }
                else
                {
                    w.WriteNullArray();
                }
            }
        }
        else if (c.ArgumentEquals(1, "DOCS"u8))
        {
            // No documentation entries: redis-cli then falls back to its built-in hints.
            w.WriteMapHeader(0);
        }
        else
        {
            w.WriteError($"ERR unknown subcommand '{Printable(c[1], 64)}'. Try COMMAND HELP.");
        }

        return RespAction.Continue;
    }

    internal RespAction Config(RespCommand c, RespWriter w)
    {
        if (c.ArgumentEquals(1, "GET"u8) && c.Count >= 3)
        {
            var o = _node.Options;
            var sync = o.SyncPolicy();
            var values = new List<(string, string)>
            {
                ("appendonly", "yes"),
                ("appendfsync", sync.Mode switch { SyncMode.Always => "always", SyncMode.Periodic => "everysec", _ => "no" }),
                ("save", ""),
                ("databases", "1"),
                ("maxclients", Invariant(o.MaxClients)),
                ("maxmemory", Invariant(o.MemoryMb * 1024L * 1024L)),
                ("proto-max-bulk-len", Invariant(o.MaxValueBytes)),
                ("replica-read-only", "yes"),
                ("slave-read-only", "yes"),
                ("timeout", "0"),
                ("bind", o.ListenEndPoint().Address.ToString()),
                ("port", Invariant(BoundPort())),
                ("dir", System.IO.Path.GetFullPath(o.DataDirectory)),
                ("cluster-enabled", "no"),
            };
            var matched = new List<(string, string)>();
            foreach (var (name, value) in values)
            {
                for (var i = 2; i < c.Count; i++)
                {
                    if (Glob.IsMatch(c[i], Encoding.ASCII.GetBytes(name), ignoreCase: true))
                    {
                        matched.Add((name, value));
                        break;
                    }
                }
            }

            w.WriteMapHeader(matched.Count);
            foreach (var (name, value) in matched)
            {
                w.WriteBulkString(Encoding.ASCII.GetBytes(name));
                w.WriteBulkString(Encoding.UTF8.GetBytes(value));
            }
        }
        else if (c.ArgumentEquals(1, "SET"u8) || c.ArgumentEquals(1, "RESETSTAT"u8) || c.ArgumentEquals(1, "REWRITE"u8))
        {
            w.WriteError("ERR CONFIG SET is not supported: RingKV is configured at start (ringkv serve --help)"u8);
        }
        else
        {
            w.WriteError($"ERR unknown subcommand or wrong number of arguments for '{Printable(c[1], 64)}'. Try CONFIG HELP.");
        }

        return RespAction.Continue;
    }

    /// <summary>The port clients reach: the bound one, which differs from the configured one when that is 0.</summary>
    private int BoundPort() => _node.Listener?.LocalEndPoint.Port ?? _node.Options.ListenEndPoint().Port;

    internal RespAction Client(RespCommand c, RespWriter w)
    {
        if (c.ArgumentEquals(1, "SETNAME"u8) && c.Count == 3)
        {
            foreach (var b in c[2])
            {
                if (b is < (byte)'!' or > (byte)'~')
                {
                    w.WriteError("ERR Client names cannot contain spaces, newlines or special characters."u8);
                    return RespAction.Continue;
                }
            }

            _client.Name = Encoding.UTF8.GetString(c[2]);
            w.WriteOk();
        }
        else if (c.ArgumentEquals(1, "GETNAME"u8) && c.Count == 2)
        {
            if (_client.Name.Length == 0)
            {
                w.WriteNull();
            }
            else
            {
                w.WriteBulkString(Encoding.UTF8.GetBytes(_client.Name));
            }
        }
        else if (c.ArgumentEquals(1, "ID"u8) && c.Count == 2)
        {
            w.WriteInteger(_client.Id);
        }
        else if (c.ArgumentEquals(1, "LIST"u8))
        {
            var now = _node.Time.GetUtcNow();
            var text = new StringBuilder();
            if (_node.Listener is { } listener)
            {
                foreach (var client in listener.Clients)
                {
                    text.Append(client.Describe(now)).Append('\n');
                }
            }

            w.WriteBulkString(Encoding.UTF8.GetBytes(text.ToString()));
        }
        else if (c.ArgumentEquals(1, "SETINFO"u8) && c.Count == 4)
        {
            w.WriteOk();
        }
        else
        {
            w.WriteError($"ERR unknown subcommand or wrong number of arguments for '{Printable(c[1], 64)}'. Try CLIENT HELP.");
        }

        return RespAction.Continue;
    }

    internal async ValueTask<RespAction> Info(RespCommand c, RespWriter w)
    {
        var sections = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 1; i < c.Count; i++)
        {
            sections.Add(Encoding.UTF8.GetString(c[i]));
        }

        var all = sections.Count == 0 || sections.Contains("all") || sections.Contains("everything") || sections.Contains("default");
        bool Want(string name) => all || sections.Contains(name);
        var o = _node.Options;
        var engine = _node.Engine;
        var stats = engine.Statistics;
        var now = _node.Time.GetUtcNow();
        var text = new StringBuilder();
        void Line(string name, object value) => text.Append(name).Append(':').Append(Convert.ToString(value, CultureInfo.InvariantCulture)).Append("\r\n");

        if (Want("server"))
        {
            text.Append("# Server\r\n");
            Line("redis_version", ServerInfo.RedisVersionText);
            Line("ringkv_version", ServerInfo.Version);
            Line("redis_mode", "standalone");
            Line("os", Environment.OSVersion.VersionString);
            Line("arch_bits", IntPtr.Size * 8);
            Line("process_id", Environment.ProcessId);
            Line("tcp_port", BoundPort());
            Line("uptime_in_seconds", (long)(now - _node.StartedAt).TotalSeconds);
            Line("uptime_in_days", (long)(now - _node.StartedAt).TotalDays);
            Line("node_id", o.NodeId);
            text.Append("\r\n");
        }

        if (Want("clients"))
        {
            text.Append("# Clients\r\n");
            Line("connected_clients", _node.Listener?.ClientCount ?? 0);
            Line("maxclients", o.MaxClients);
            text.Append("\r\n");
        }

        if (Want("memory"))
        {
            var managed = GC.GetTotalMemory(false);
            text.Append("# Memory\r\n");
            Line("used_memory", managed);
            Line("used_memory_human", $"{managed / 1048576.0:F2}M");
            Line("used_memory_rss", Environment.WorkingSet);
            Line("maxmemory", o.MemoryMb * 1048576L);
            Line("engine_memory_bytes", engine.MemoryBytes);

            // The runtime's collector: what the latency tail pays for the managed heap.
            Line("gc_gen0_collections", GC.CollectionCount(0));
            Line("gc_gen1_collections", GC.CollectionCount(1));
            Line("gc_gen2_collections", GC.CollectionCount(2));
            Line("gc_pause_total_ms", (long)GC.GetTotalPauseDuration().TotalMilliseconds);
            Line("gc_allocated_bytes", GC.GetTotalAllocatedBytes());
            var last = GC.GetGCMemoryInfo(GCKind.Any);
            Line("gc_last_generation", last.Generation);
            Line("gc_last_pause_us", (long)(last.PauseDurations.Length > 0 ? last.PauseDurations[0].TotalMicroseconds : 0));
            Line("gc_last_promoted_bytes", last.PromotedBytes);
            Line("gc_heap_bytes", last.HeapSizeBytes);
            text.Append("\r\n");
        }

        if (Want("persistence"))
        {
            text.Append("# Persistence\r\n");
            Line("loading", 0);
            Line("aof_enabled", 1);
            Line("sync_mode", o.Sync);
            Line("rdb_changes_since_last_save", 0);
            Line("log_bytes_written", stats.BytesWrittenToLog);
            Line("log_syncs", stats.LogSyncs);
            Line("flushes", stats.Flushes);
            Line("bytes_flushed", stats.BytesFlushed);
            Line("compactions", stats.Compactions);
            Line("bytes_compacted_read", stats.BytesCompactedRead);
            Line("bytes_compacted_written", stats.BytesCompactedWritten);
            foreach (var level in engine.GetLevels())
            {
                Line($"level{level.Level}", $"files={level.Files},bytes={level.Bytes}");
            }

            text.Append("\r\n");
        }

        if (Want("stats"))
        {
            text.Append("# Stats\r\n");
            Line("total_connections_received", _node.ConnectionsReceived);
            Line("total_commands_processed", _node.CommandsProcessed);
            Line("keyspace_hits", stats.GetHits);
            Line("keyspace_misses", stats.Gets - stats.GetHits);
            Line("engine_gets", stats.Gets);
            Line("engine_puts", stats.Puts);
            Line("engine_deletes", stats.Deletes);
            Line("bloom_checks", stats.BloomChecks);
            Line("bloom_negatives", stats.BloomNegatives);
            Line("bloom_false_positives", stats.BloomFalsePositives);
            Line("block_cache_hits", stats.CacheHits);
            Line("block_cache_misses", stats.CacheMisses);
            Line("write_stalls", stats.WriteStalls);
            Line("write_slowdowns", stats.WriteSlowdowns);
            Line("tombstones_dropped", stats.TombstonesDropped);
            Line("expired_dropped", stats.ExpiredDropped);
            text.Append("\r\n");
        }

        if (Want("replication"))
        {
            text.Append("# Replication\r\n");
            Line("role", "master");
            Line("connected_slaves", 0);
            text.Append("\r\n");
        }

        if (Want("keyspace"))
        {
            text.Append("# Keyspace\r\n");
            var counts = await _node.Store.CountKeysAsync().ConfigureAwait(false);
            if (counts.Keys > 0)
            {
                Line("db0", $"keys={counts.Keys},expires={counts.Expires},avg_ttl={counts.AverageTtlMs}");
            }
        }

        w.WriteBulkString(Encoding.UTF8.GetBytes(text.ToString()));
        return RespAction.Continue;
    }
}
