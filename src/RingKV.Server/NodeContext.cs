using System;
using System.Threading;
using RingKV.Server.Resp;
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

    public long CommandsProcessed => Volatile.Read(ref _commands);

    public long ConnectionsReceived => Volatile.Read(ref _connectionsReceived);

    public void CountCommand() => Interlocked.Increment(ref _commands);

    public void CountConnection() => Interlocked.Increment(ref _connectionsReceived);
}
