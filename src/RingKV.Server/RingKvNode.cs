using System;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using RingKV.Net.Resp;
using RingKV.Server.Clients;
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
    private readonly IKeyValueStore _store;
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
        var engine = StorageEngine.Open(new StorageOptions
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
        });
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

        var store = new LocalStore(engine, options.NodeId, options.MaxVersionVectorEntries, time);
        var node = new NodeContext(options, store, engine, time);
        var limits = RespLimits.Default with
        {
            MaxBulkBytes = Math.Max(options.MaxValueBytes, options.MaxKeyBytes) + (1 << 20),
            MaxRequestBytes = (int)options.EffectiveMaxRequestBytes(),
            MaxReplyBytes = options.EffectiveMaxReplyBufferBytes(),
        };
        RespListener listener;
        try
        {
            listener = new RespListener(
                options.ListenEndPoint(), client => new CommandHandler(node, client), limits, options.MaxClients, logger, options.EffectiveMaxRequestMemoryBytes());
            node.Listener = listener;
            listener.Start();
        }
        catch
        {
            engine.Dispose();
            throw;
        }

        var trimmer = new MemoryTrimmer(() => store.LargeBatchBytes, time, TimeSpan.FromSeconds(1));
        if (logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation("RingKV {Version} serving RESP on {EndPoint} ({Options})", ServerInfo.Version, listener.LocalEndPoint, options.ToString());
        }
        return new RingKvNode(listener, store, engine, trimmer, logger);
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
        _trimmer.Dispose();
        _engine.SyncLog();
        _store.Dispose();
        _logger.LogInformation("stopped; commit log synced");
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
