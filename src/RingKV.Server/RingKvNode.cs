using System;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using RingKV.Cluster;
using RingKV.Cluster.Membership;
using RingKV.Cluster.Ring;
using RingKV.Net.Resp;
using RingKV.Server.Clients;
using RingKV.Server.Cluster;
using RingKV.Server.Commands;
using RingKV.Server.Store;
using RingKV.Storage;

namespace RingKV.Server;

/// <summary>One RingKV node: the storage engine, the store over it and the RESP front end.</summary>
/// <remarks>
/// Thread-safe. <see cref="StopAsync"/> is the graceful shutdown: stop accepting clients, let connected
/// clients finish the commands already read, sync the commit log, close the engine.
/// </remarks>
internal sealed class RingKvNode : IAsyncDisposable
{
    private readonly RespListener _listener;
    private Memcached.MemcachedListener? _memcached;
    private readonly IKeyValueStore _store;
    private NodeHost? _cluster;
    private NodeContext? _context;
    private readonly StorageEngine _engine;
    private readonly MemoryTrimmer _trimmer;
    private readonly ILogger _logger;
    private int _stopped;

    private RingKvNode(RespListener listener, IKeyValueStore store, StorageEngine engine, MemoryTrimmer trimmer, ILogger logger)
    {
        _listener = listener;
        _store = store;
        _engine = engine;
        _trimmer = trimmer;
        _logger = logger;
    }

    /// <summary>Where clients connect.</summary>
    public IPEndPoint EndPoint => _listener.LocalEndPoint;

    /// <summary>Opens the engine (recovering it) and starts serving.</summary>
    public static RingKvNode Start(ServerOptions options, ILoggerFactory loggers)
    {
        options.Validate();
        var logger = loggers.CreateLogger("ringkv");

        var time = TimeProvider.System;
        var storageOptions = new StorageOptions
        {
            Directory = options.DataDirectory,
            Sync = options.SyncPolicy(),
            MemoryBudgetBytes = options.MemoryMb * 1024L * 1024L,
            Compression = options.CompressionKind(),
            ColdCompression = options.CompressionKind(),
            MaxKeyBytes = options.MaxKeyBytes,
            // A stored value is the key's encoded sibling set: the user value plus version metadata.
            MaxValueBytes = options.MaxValueBytes + (64 * 1024),
            Time = time,
        };
        var engine = StorageEngine.Open(storageOptions);
        foreach (var note in engine.RecoveryNotes)
        {
            logger.LogWarning("recovery: {Note}", note);
        }

        if (logger.IsEnabled(LogLevel.Information))
        {
            var r = engine.Recovery;
            logger.LogInformation(
                "recovery: replayed {Records} commit-log records ({Operations} operations, {Bytes} bytes) from {Segments} segments into {Written} new tables, opened {Opened} tables, in {Milliseconds} ms",
                r.LogRecords, r.Operations, r.LogBytes, r.LogSegments, r.TablesWritten, r.TablesOpened, (long)r.Duration.TotalMilliseconds);
        }

        var local = new LocalStore(engine, options.NodeId, options.MaxVersionVectorEntries, time);
        NodeHost? cluster = null;
        IKeyValueStore store = local;
        if (options.IsClusterNode)
        {
            cluster = new NodeHost(ClusterSettings(options), engine, HintStore.OpenEngine(options.DataDirectory, storageOptions), loggers, time);
            store = new CoordinatedStore(cluster, time);
        }
        else
        {
            // The single node writes without tracking the replica's stamp bounds: a later cluster run rebuilds them.
            StoredStamps.Forget(options.DataDirectory);
        }

        var node = new NodeContext(options, store, engine, time) { Cluster = cluster };
        var limits = RespLimits.Default with
        {
            MaxBulkBytes = Math.Max(options.MaxValueBytes, options.MaxKeyBytes) + (1 << 20),
            MaxRequestBytes = (int)options.EffectiveMaxRequestBytes(),
            MaxReplyBytes = options.EffectiveMaxReplyBufferBytes(),
        };
        RespListener listener;
        Memcached.MemcachedListener? memcached = null;
        try
        {
            if (options.MemcachedEndPoint() is { } memcachedEndPoint)
            {
                memcached = new Memcached.MemcachedListener(memcachedEndPoint, node, logger);
            }

            listener = new RespListener(
                options.ListenEndPoint(), client => new CommandHandler(node, client), limits, options.MaxClients, logger, options.EffectiveMaxRequestMemoryBytes());
            node.Listener = listener;
            cluster?.Start();
            memcached?.Start();
            listener.Start();
        }
        catch
        {
            memcached?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            cluster?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            engine.Dispose();
            throw;
        }

        var trimmer = new MemoryTrimmer(() => local.LargeBatchBytes, time, TimeSpan.FromSeconds(1));
        if (memcached is not null && logger.IsEnabled(LogLevel.Information))
        {
            // Before the RESP line, which tests and scripts wait for: once that is out, this one is too.
            logger.LogInformation("serving memcached on {EndPoint}", memcached.LocalEndPoint);
        }

        if (logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation("RingKV {Version} serving RESP on {EndPoint} ({Options})", ServerInfo.Version, listener.LocalEndPoint, options.ToString());
        }
        return new RingKvNode(listener, store, engine, trimmer, logger) { _cluster = cluster, _context = node, _memcached = memcached };
    }

    /// <summary>The cluster host's settings from the serve options.</summary>
    private static NodeHostSettings ClusterSettings(ServerOptions options)
    {
        var seeds = options.SeedList();
        var replication = options.Replication is { } text ? ReplicationSettings.Parse(text) : ReplicationSettings.Default;
        var client = options.ListenEndPoint();
        var peer = options.PeerEndPoint();
        var cluster = new ClusterNodeSettings(new NodeId(options.ClusterNodeId()), options.Dc, options.Rack)
        {
            Replication = replication,
            DefaultRead = ServerOptions.Level(options.Read, "read"),
            DefaultWrite = ServerOptions.Level(options.Write, "write"),
            MaxVersionEntries = options.MaxVersionVectorEntries,
            StrictQuorum = options.StrictQuorum,
            HintRateBytesPerSecond = options.HintRate,
            HintWindow = ServerOptions.Duration(options.HintWindow, "hint-window"),
            RepairInterval = options.RepairIntervalSpan(),
            RepairRateBytesPerSecond = options.RepairRate,
            StreamRateBytesPerSecond = options.StreamRate,
        };
        var advertised = options.PeerAdvertiseEndPoint();
        var machine = new NodeMachineSettings(cluster, new GossipSettings(), 1, client.ToString(), advertised.ToString(), seeds, options.Capacity, [])
        {
            Replace = string.IsNullOrWhiteSpace(options.Replace) ? null : new NodeId(options.Replace.Trim()),
            CleanupDelay = ServerOptions.Duration(options.CleanupDelay, "cleanup-delay"),
        };
        return new NodeHostSettings(machine, peer, options.DataDirectory, options.ClusterName)
        {
            TombstoneGrace = ServerOptions.Duration(options.TombstoneGrace, "tombstone-grace"),
        };
    }

    /// <summary>
    /// Completes when the node is done by itself: with null after SHUTDOWN or after it was decommissioned (LEFT), or
    /// with the reason a cluster node cannot go on (a replace that cannot proceed).
    /// </summary>
    public Task<string?> Finished => _finished ??= WhenFinished();

    private Task<string?>? _finished;

    private async Task<string?> WhenFinished()
    {
        var shutdown = _context?.ShutdownRequested ?? new TaskCompletionSource().Task;
        var cluster = _cluster?.Finished ?? new TaskCompletionSource<string?>().Task;
        var first = await Task.WhenAny(shutdown, cluster).ConfigureAwait(false);
        return first == cluster ? await cluster.ConfigureAwait(false) : null;
    }

    /// <summary>Graceful shutdown; safe to call more than once.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _logger.LogInformation("shutting down: finishing in-flight requests");
        await _listener.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        if (_memcached is not null)
        {
            await _memcached.DisposeAsync().ConfigureAwait(false);
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().ConfigureAwait(false);
        }

        _trimmer.Dispose();
        _engine.SyncLog();
        _store.Dispose();
        _logger.LogInformation("stopped; commit log synced");
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
