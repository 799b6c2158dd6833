using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using RingKV.Net.Resp;
using RingKV.Storage.Log;

namespace RingKV.Server.Commands;

internal sealed partial class CommandHandler
{
    /// <summary>The commands COMMAND lists: name, arity, flags, first key, last key, step.</summary>
    private static readonly (string Name, int Arity, string[] Flags, int First, int Last, int Step)[] CommandTable =
    [
        ("get", 2, ["readonly", "fast"], 1, 1, 1),
        ("set", -3, ["write", "denyoom"], 1, 1, 1),
        ("setnx", 3, ["write", "denyoom", "fast"], 1, 1, 1),
        ("setex", 4, ["write", "denyoom"], 1, 1, 1),
        ("psetex", 4, ["write", "denyoom"], 1, 1, 1),
        ("getdel", 2, ["write", "fast"], 1, 1, 1),
        ("getex", -2, ["write", "fast"], 1, 1, 1),
        ("del", -2, ["write"], 1, -1, 1),
        ("unlink", -2, ["write", "fast"], 1, -1, 1),
        ("exists", -2, ["readonly", "fast"], 1, -1, 1),
        ("mget", -2, ["readonly", "fast"], 1, -1, 1),
        ("mset", -3, ["write", "denyoom"], 1, -1, 2),
        ("msetnx", -3, ["write", "denyoom"], 1, -1, 2),
        ("expire", -3, ["write", "fast"], 1, 1, 1),
        ("pexpire", -3, ["write", "fast"], 1, 1, 1),
        ("expireat", -3, ["write", "fast"], 1, 1, 1),
        ("pexpireat", -3, ["write", "fast"], 1, 1, 1),
        ("ttl", 2, ["readonly", "fast"], 1, 1, 1),
        ("pttl", 2, ["readonly", "fast"], 1, 1, 1),
        ("persist", 2, ["write", "fast"], 1, 1, 1),
        ("type", 2, ["readonly", "fast"], 1, 1, 1),
        ("scan", -2, ["readonly"], 0, 0, 0),
        ("dbsize", 1, ["readonly", "fast"], 0, 0, 0),
        ("flushall", -1, ["write"], 0, 0, 0),
        ("flushdb", -1, ["write"], 0, 0, 0),
        ("ping", -1, ["fast"], 0, 0, 0),
        ("echo", 2, ["fast"], 0, 0, 0),
        ("hello", -1, ["noauth", "fast"], 0, 0, 0),
        ("auth", -2, ["noauth", "fast"], 0, 0, 0),
        ("select", 2, ["loading", "fast"], 0, 0, 0),
        ("quit", -1, ["noauth", "fast"], 0, 0, 0),
        ("reset", 1, ["noauth", "fast"], 0, 0, 0),
        ("command", -1, ["loading"], 0, 0, 0),
        ("config", -2, ["admin"], 0, 0, 0),
        ("info", -1, ["loading"], 0, 0, 0),
        ("client", -2, ["admin"], 0, 0, 0),
        ("kv.get", 2, ["readonly"], 1, 1, 1),
        ("kv.put", -3, ["write", "denyoom"], 1, 1, 1),
        ("kv.del", -2, ["write"], 1, 1, 1),
    ];

    private static void WriteCommandEntry(RespWriter w, int index)
    {
        var (name, arity, flags, first, last, step) = CommandTable[index];
        w.WriteArrayHeader(6);
        w.WriteBulkString(Encoding.ASCII.GetBytes(name));
        w.WriteInteger(arity);
        w.WriteSetHeader(flags.Length);
        foreach (var flag in flags)
        {
            w.WriteSimpleString(Encoding.ASCII.GetBytes(flag));
        }

        w.WriteInteger(first);
        w.WriteInteger(last);
        w.WriteInteger(step);
    }

    private static RespAction CommandInfo(RespCommand c, RespWriter w)
    {
        if (c.Count == 1)
        {
            w.WriteArrayHeader(CommandTable.Length);
            for (var i = 0; i < CommandTable.Length; i++)
            {
                WriteCommandEntry(w, i);
            }
        }
        else if (c.ArgumentEquals(1, "COUNT"u8))
        {
            w.WriteInteger(CommandTable.Length);
        }
        else if (c.ArgumentEquals(1, "INFO"u8))
        {
            w.WriteArrayHeader(c.Count - 2);
            for (var i = 2; i < c.Count; i++)
            {
                var index = Array.FindIndex(CommandTable, e => e.Name == Lower(c[i]));
                if (index < 0)
                {
                    w.WriteNullArray();
                }
                else
                {
                    WriteCommandEntry(w, index);
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

    private RespAction Config(RespCommand c, RespWriter w)
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

    private RespAction Client(RespCommand c, RespWriter w)
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

    private RespAction Info(RespCommand c, RespWriter w)
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

            // Redis's names where it has them; request memory is RingKV's budget of all connections (max-request-memory-mb).
            var memory = _node.Listener?.Memory;
            Line("client_recent_max_input_buffer", memory?.RecentMaxInputBytes ?? 0);
            Line("client_recent_max_output_buffer", memory?.RecentMaxOutputBytes ?? 0);
            Line("client_query_buffer_limit", o.EffectiveMaxRequestBytes());
            Line("client_output_buffer_limit", o.EffectiveMaxReplyBufferBytes());
            Line("request_memory_bytes", memory?.RequestBytes ?? 0);
            Line("request_memory_limit", o.EffectiveMaxRequestMemoryBytes());
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
            Line("client_query_buffer_limit_disconnections", _node.Listener?.Memory.RequestLimitRejections ?? 0);
            Line("client_output_buffer_limit_disconnections", _node.Listener?.Memory.ReplyLimitDisconnections ?? 0);
            Line("request_memory_waits", _node.Listener?.Memory.RequestWaits ?? 0);
            Line("request_memory_timeouts", _node.Listener?.Memory.RequestWaitTimeouts ?? 0);
            Line("connection_buffers_released", _node.Listener?.Memory.BuffersReleased ?? 0);
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
            var counts = _node.Store.CountKeys();
            if (counts.Keys > 0)
            {
                Line("db0", $"keys={counts.Keys},expires={counts.Expires},avg_ttl={counts.AverageTtlMs}");
            }
        }

        w.WriteBulkString(Encoding.UTF8.GetBytes(text.ToString()));
        return RespAction.Continue;
    }
}
