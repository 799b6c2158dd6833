using System;
using System.Buffers;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.ObjectPool;
using RingKV.Server.Clients;
using RingKV.Server.Store;
using RingKV.Storage;

namespace RingKV.Server;

/// <summary>What every connection's command handler shares: options, the store, the clients, counters.</summary>
internal sealed class NodeContext(ServerOptions options, IKeyValueStore store, StorageEngine engine, TimeProvider time)
{
    private long _commands;
    private long _connectionsReceived;

    public ServerOptions Options { get; } = options;

    public IKeyValueStore Store { get; } = store;

    public StorageEngine Engine { get; } = engine;

    public TimeProvider Time { get; } = time;

    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    public RespListener? Listener { get; set; }

    /// <summary>The slow-command log (SLOWLOG).</summary>
    public Diagnostics.SlowLog SlowLog { get; } = new(options.SlowlogLogSlowerThan, options.SlowlogMaxLen);

    /// <summary>Latency samples and per-command histograms (LATENCY).</summary>
    public Diagnostics.LatencyMonitor Latency { get; } = new(options.LatencyMonitorThreshold, Commands.CommandTable.All.Count);

    /// <summary>The cluster node, when this node runs as one; null for a single node.</summary>
    public Cluster.NodeHost? Cluster { get; init; }

    /// <summary>Buffers for values read by commands in flight, shared by every connection.</summary>
    public ObjectPool<ArrayBufferWriter<byte>> Buffers { get; } = new DefaultObjectPool<ArrayBufferWriter<byte>>(new BufferPolicy(), 1024);

    public long CommandsProcessed => Volatile.Read(ref _commands);

    public long ConnectionsReceived => Volatile.Read(ref _connectionsReceived);

    public void CountCommand() => Interlocked.Increment(ref _commands);

    public void CountConnection() => Interlocked.Increment(ref _connectionsReceived);

    private readonly TaskCompletionSource _shutdown = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once SHUTDOWN asked the node to stop: <c>ringkv serve</c> then stops it as on SIGTERM.</summary>
    public Task ShutdownRequested => _shutdown.Task;

    /// <summary>Asks the node to stop gracefully (SHUTDOWN); idempotent.</summary>
    public void RequestShutdown() => _shutdown.TrySetResult();

    // CLIENT PAUSE: until when (Unix ms; 0: not paused), whether every command or only writes, and the signal UNPAUSE
    // (or a new pause) gives the commands that wait. Read on every command: one volatile read when not paused.
    private long _pausedUntilMs;
    private bool _pauseAll;
    private TaskCompletionSource _unpaused = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _pauseLock = new();

    /// <summary>Whether a CLIENT PAUSE may be in force: the one check every command makes (a volatile read).</summary>
    public bool MayBePaused => Volatile.Read(ref _pausedUntilMs) != 0;

    /// <summary>CLIENT PAUSE: commands (every one with <paramref name="all"/>, else writes) wait until <paramref name="untilUnixMs"/>.</summary>
    public void Pause(long untilUnixMs, bool all)
    {
        lock (_pauseLock)
        {
            // As Redis: a second pause extends the first, and ALL wins over WRITE while both would be in force.
            var current = Volatile.Read(ref _pausedUntilMs);
            _pauseAll = (all || (_pauseAll && current > Time.GetUtcNow().ToUnixTimeMilliseconds()));
            Volatile.Write(ref _pausedUntilMs, Math.Max(current, untilUnixMs));
        }
    }

    /// <summary>CLIENT UNPAUSE: the commands waiting run now.</summary>
    public void Unpause()
    {
        lock (_pauseLock)
        {
            Volatile.Write(ref _pausedUntilMs, 0);
            _unpaused.TrySetResult();
            _unpaused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>When a command (a write: <paramref name="write"/>) must wait for a pause: a task that completes when it may run; null when it may run now.</summary>
    public Task? PauseFor(bool write)
    {
        var until = Volatile.Read(ref _pausedUntilMs);
        if (until == 0)
        {
            return null;
        }

        lock (_pauseLock)
        {
            var left = Volatile.Read(ref _pausedUntilMs) - Time.GetUtcNow().ToUnixTimeMilliseconds();
            if (left <= 0)
            {
                Volatile.Write(ref _pausedUntilMs, 0); // over: commands stop looking
                return null;
            }

            if (!_pauseAll && !write)
            {
                return null;
            }

            return Task.WhenAny(_unpaused.Task, Task.Delay(TimeSpan.FromMilliseconds(left), Time));
        }
    }

    private sealed class BufferPolicy : IPooledObjectPolicy<ArrayBufferWriter<byte>>
    {
        /// <summary>A buffer grown past this by a big value is not kept.</summary>
        private const int RetainedBytes = 64 * 1024;

        public ArrayBufferWriter<byte> Create() => new(256);

        public bool Return(ArrayBufferWriter<byte> obj)
        {
            obj.ResetWrittenCount();
            return obj.Capacity <= RetainedBytes;
        }
    }
}
