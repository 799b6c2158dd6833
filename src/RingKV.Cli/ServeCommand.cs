using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using RingKV.Server;

namespace RingKV.Cli;

/// <summary><c>ringkv serve</c>: runs one node until SIGTERM or Ctrl-C.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config")
        {
            Description = "JSON configuration file: an object whose keys are the settings' names in PascalCase, as each flag below "
                + "lists them (e.g. {\"Listen\": \"127.0.0.1:7379\", \"MaxKeyBytes\": 1024}).",
            HelpName = "path",
        };

        // Each flag sets one ServerOptions property; flags win over the environment (RINGKV_<PROPERTY>), which wins over the file.
        var flags = new List<(Option Option, string Property)>
        {
            Text("--listen", "host:port", nameof(ServerOptions.Listen), "RESP address. Default 127.0.0.1:7379."),
            Text("--data-dir", "path", nameof(ServerOptions.DataDirectory), "Data directory. Default ./data."),
            Text("--sync", "mode", nameof(ServerOptions.Sync), "Commit-log sync: always (default: a write is acknowledged after its fsync), periodic:<ms> (fsync every <ms> milliseconds), none."),
            Text("--memory-mb", "MiB", nameof(ServerOptions.MemoryMb), "Memory budget of the engine (memtables, block cache, filters, indexes), in MiB. Default 512."),
            Text("--compression", "codec", nameof(ServerOptions.Compression), "Table block compression: lz4 (default), zstd, none."),
            Text("--max-key-bytes", "bytes", nameof(ServerOptions.MaxKeyBytes), "Largest key accepted, in bytes. Default 65536 (64 KiB)."),
            Text("--max-value-bytes", "bytes", nameof(ServerOptions.MaxValueBytes), "Largest value accepted, in bytes. Default 1048576 (1 MiB)."),
            Text("--max-clients", "count", nameof(ServerOptions.MaxClients), "Most clients connected at once. Default 10000."),
            Text("--max-request-mb", "MiB", nameof(ServerOptions.MaxRequestMb), "Largest request (whole command) one connection may send, in MiB; larger gets an error and the connection closes. Default: a quarter of --memory-mb, at least one SET of the largest key and value, at most 1024."),
            Text("--max-request-memory-mb", "MiB", nameof(ServerOptions.MaxRequestMemoryMb), "Request bytes all connections may buffer at once, in MiB; a request that finds it used up waits up to 10 s, then gets an error. Default: half of --memory-mb, at least --max-request-mb."),
            Text("--max-reply-buffer-mb", "MiB", nameof(ServerOptions.MaxReplyBufferMb), "Unread reply bytes one client may hold, in MiB; a client past it, or holding half of it for 5 s without reading, is disconnected. Default: an eighth of --memory-mb, at least 4x --max-value-bytes + 1."),
            Text("--password", "password", nameof(ServerOptions.Password), "Require AUTH with this password. Default: none."),
            Switch("--enable-flushall", nameof(ServerOptions.EnableFlushAll), "Allow FLUSHALL and FLUSHDB to erase the data set. Off by default."),
            Text("--memcached-listen", "host:port", nameof(ServerOptions.MemcachedListen), "memcached text-protocol address over the same keyspace (get, set, cas, incr, ...). Default: off."),
            Switch("--memcached-flush-all", nameof(ServerOptions.MemcachedFlushAll), "Allow memcached's flush_all to erase the data set. Off by default."),
            Text("--max-version-vector-entries", "count", nameof(ServerOptions.MaxVersionVectorEntries), "Entries a key's version vector keeps before the least recently updated are dropped. Default 10.", "--max-version-entries"),
            Text("--slowlog-log-slower-than", "microseconds", nameof(ServerOptions.SlowlogLogSlowerThan), "SLOWLOG keeps commands that ran at least this long; 0: every command; negative: none. Default 10000. CONFIG SET changes it while running."),
            Text("--slowlog-max-len", "count", nameof(ServerOptions.SlowlogMaxLen), "Entries SLOWLOG keeps. Default 128. CONFIG SET changes it while running."),
            Text("--latency-monitor-threshold", "ms", nameof(ServerOptions.LatencyMonitorThreshold), "LATENCY samples commands that ran at least this many milliseconds; 0: off (default). CONFIG SET changes it while running."),
            Text("--node-id", "name", nameof(ServerOptions.NodeId), "This node's name (its actor in version vectors). Default: the host name; in a cluster, the peer address."),
            Text("--seeds", "host:port,...", nameof(ServerOptions.Seeds), "Peer addresses of nodes to join through (their --peer-listen). Without --seeds or --peer-listen the node is a single node."),
            Text("--peer-listen", "host:port", nameof(ServerOptions.PeerListen), "Internode address to listen on; outgoing internode connections leave from its IP too. Default: the client port + 10000."),
            Text("--peer-advertise", "host:port", nameof(ServerOptions.PeerAdvertise), "Internode address other nodes are told to reach this node at (behind NAT or a proxy, or when --peer-listen is 0.0.0.0). Default: --peer-listen."),
            Text("--dc", "name", nameof(ServerOptions.Dc), "This node's data center. Default dc1."),
            Text("--rack", "name", nameof(ServerOptions.Rack), "This node's rack. Default rack1."),
            Text("--capacity", "n", nameof(ServerOptions.Capacity), "Relative capacity (1-64): the node's share of the ring. Default 1."),
            Text("--replication", "n|dc:n,...", nameof(ServerOptions.Replication), "Replicas per data center: 3, or dc1:3,dc2:2. Default 3 in a cluster."),
            Text("--read", "level", nameof(ServerOptions.Read), "Consistency of plain reads: ONE, TWO, THREE, QUORUM (default), LOCAL_QUORUM, EACH_QUORUM, ALL."),
            Text("--write", "level", nameof(ServerOptions.Write), "Consistency of plain writes: as --read. Default QUORUM."),
            Switch("--strict-quorum", nameof(ServerOptions.StrictQuorum), "Strict quorum for every request: only a key's own replicas count, and a request fails UNAVAILABLE when too few are up. Off by default: a DOWN replica's stand-in (the next node on the ring) takes its writes as hints (sloppy quorum); a request can ask STRICT after its level."),
            Text("--hint-rate", "bytes/s", nameof(ServerOptions.HintRate), "Bytes of hints per second handed over to a replica that is back; 0: unthrottled. Default 4194304 (4 MiB/s)."),
            Text("--hint-window", "duration", nameof(ServerOptions.HintWindow), "How long hints for a DOWN replica are kept (90s, 30m, 3h, 2d); older ones are dropped, counted, and left to anti-entropy. Default 3h."),
            Text("--tombstone-grace", "duration", nameof(ServerOptions.TombstoneGrace), "How long a delete's tombstone is kept before it is removed (90s, 30m, 3h, 10d; 0: for ever), so anti-entropy can hand it to a replica that missed it; must be longer than --hint-window and --repair-interval. Default 10d."),
            Text("--stream-rate", "bytes/s", nameof(ServerOptions.StreamRate), "Bytes per second a node streams in when it gains ranges (joining, or taking over a leaving or removed node's); 0: unthrottled. Default 67108864 (64 MiB/s)."),
            Text("--cleanup-delay", "duration", nameof(ServerOptions.CleanupDelay), "Remove the data a node gave away this long after a membership change completed (30s, 10m, 1h); 0: only on ringkv cleanup / KV.CLEANUP. Default 0."),
            Text("--replace", "node-id", nameof(ServerOptions.Replace), "Start as the replacement of a DOWN node: take its tokens and stream its ranges from the surviving replicas (the new node needs its own --node-id and --seeds)."),
            Text("--cluster-name", "name", nameof(ServerOptions.ClusterName), "The cluster's name; peers of another cluster are refused. Default ringkv."),
            Text("--repair-interval", "duration", nameof(ServerOptions.RepairInterval), "How often the node runs an anti-entropy pass over the ranges it replicates (30s, 10m, 1h; a bare number is seconds); 0 turns scheduled passes off (KV.REPAIR and ringkv repair still run one). Default 1h."),
            Text("--repair-rate", "bytes/s", nameof(ServerOptions.RepairRate), "Anti-entropy's byte budget per second (its messages sent and received); 0: not throttled. Default 16777216 (16 MiB/s)."),
        };

        var command = new Command("serve", "Run a RingKV node that serves the Redis protocol. Stops gracefully on SIGTERM or Ctrl-C.");
        command.Options.Add(config);
        foreach (var (option, _) in flags)
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            var builder = new ConfigurationBuilder();
            if (parse.GetValue(config) is { } file)
            {
                if (!file.Exists)
                {
                    Console.Error.WriteLine($"ringkv serve: configuration file {file.FullName} does not exist");
                    return 2;
                }

                builder.AddJsonFile(file.FullName, optional: false);
            }

            builder.AddEnvironmentVariables("RINGKV_");
            var given = new Dictionary<string, string?>();
            foreach (var (option, property) in flags)
            {
                if (parse.GetResult(option) is { Implicit: false })
                {
                    given[property] = option switch
                    {
                        Option<bool> flag => parse.GetValue(flag) ? "true" : "false",
                        Option<string> text => parse.GetValue(text),
                        _ => throw new InvalidOperationException($"flag {option.Name} has no conversion"),
                    };
                }
            }

            builder.AddInMemoryCollection(given);
            ServerOptions options;
            try
            {
                options = ServerOptions.From(builder.Build());
                options.Validate();
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or InvalidDataException)
            {
                Console.Error.WriteLine($"ringkv serve: {e.Message}");
                return 2;
            }

            return Run(options);
        });
        return command;
    }

    /// <summary>A flag with a value, passed on as text: <see cref="ServerOptions.From"/> converts it, as it does the environment and the file.</summary>
    private static (Option, string) Text(string name, string helpName, string property, string description, params string[] aliases)
    {
        var option = new Option<string>(name, aliases) { Description = Describe(description, property), HelpName = helpName };
        return (option, property);
    }

    /// <summary>A switch: the flag alone turns it on; <c>--flag false</c> and <c>--flag true</c> are accepted too.</summary>
    private static (Option, string) Switch(string name, string property, string description)
    {
        var option = new Option<bool>(name)
        {
            Description = Describe(description, property),
            Arity = ArgumentArity.ZeroOrOne,
            CustomParser = result =>
            {
                if (result.Tokens.Count == 0)
                {
                    return true;
                }

                var text = result.Tokens[0].Value;
                if (bool.TryParse(text, out var value))
                {
                    return value;
                }

                result.AddError($"{name} takes no value, or true or false, not '{text}'");
                return false;
            },
        };
        return (option, property);
    }

    private static string Describe(string description, string property) =>
        $"{description} Env RINGKV_{property.ToUpperInvariant()}, config key {property}.";

    /// <summary>
    /// Unless the user chose, commands run on the runtime's socket event threads (inline completions), as Redis runs
    /// them on its event loop: no thread-pool hop per receive. Nothing a command does parks its thread on the network or
    /// an fsync: writes that wait (sync always, a stall) complete later through the engine's commit thread. Must run
    /// before the first socket is created.
    /// </summary>
    private static void RunCommandsOnSocketThreads()
    {
        const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
        if (Environment.GetEnvironmentVariable(Variable) is null)
        {
            Environment.SetEnvironmentVariable(Variable, "1");
        }
    }

    private static int Run(ServerOptions options)
    {
        RunCommandsOnSocketThreads();
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        }).SetMinimumLevel(LogLevel.Information));
        var logger = loggers.CreateLogger("ringkv");

        // The handlers are in place before the node listens: a SIGTERM that arrives once clients can connect
        // (during recovery included) stops the node gracefully instead of killing the process with the default action.
        using var stop = new ManualResetEventSlim();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Set();
        });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            stop.Set();
        });
        RingKvNode node;
        try
        {
            node = RingKvNode.Start(options, loggers);
        }
        catch (Exception e) when (e is Core.Errors.RingKVException or IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"ringkv serve: cannot start: {e.Message}");
            return 1;
        }

        Console.Out.Flush();
        while (!stop.Wait(TimeSpan.FromMilliseconds(250)) && !node.Finished.IsCompleted)
        {
        }

        var why = node.Finished.IsCompleted ? node.Finished.Result : null;
        node.StopAsync().GetAwaiter().GetResult();
        if (why is not null)
        {
            Console.Error.WriteLine($"ringkv serve: {why}");
            return 1;
        }

        return 0;
    }
}
