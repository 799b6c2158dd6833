using System;
using System.Buffers;
using System.Threading;
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

    /// <summary>The cluster node, when this node runs as one; null for a single node.</summary>
    public Cluster.NodeHost? Cluster { get; init; }

    /// <summary>Buffers for values read by commands in flight, shared by every connection.</summary>
    public ObjectPool<ArrayBufferWriter<byte>> Buffers { get; } = new DefaultObjectPool<ArrayBufferWriter<byte>>(new BufferPolicy(), 1024);

    public long CommandsProcessed => Volatile.Read(ref _commands);

    public long ConnectionsReceived => Volatile.Read(ref _connectionsReceived);

    public void CountCommand() => Interlocked.Increment(ref _commands);

    public void CountConnection() => Interlocked.Increment(ref _connectionsReceived);

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
