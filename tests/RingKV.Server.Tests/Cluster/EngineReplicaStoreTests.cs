using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Versioning;
using RingKV.Server.Cluster;
using RingKV.Storage;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Server.Tests.Cluster;

/// <summary>The cluster's replica store over the real storage engine: versioned updates are read-modify-writes of one key at a time.</summary>
public sealed class EngineReplicaStoreTests
{
    private const ulong Actor = 42;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Submit_ConcurrentUpdatesOfOneKey_EachKeepsTheOthersSiblings()
    {
        // The updates run on the thread pool at once. Without the key's lock two would read the same set, mint the same
        // dot, and the later write would replace the earlier: fewer siblings than writes.
        const int Writes = 64;
        using var directory = new TempDirectory();
        using var engine = StorageEngine.Open(new StorageOptions { Directory = directory.Path });
        var done = new Answers(Writes);
        var store = new EngineReplicaStore(engine, done.Add, TimeProvider.System);
        var stamp = HybridTimestamp.FromUnixMs(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        for (var i = 0; i < Writes; i++)
        {
            store.Submit(Update((ulong)i + 1, $"v{i}", stamp));
        }

        await done.All.WaitAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.All(done.Received, d => Assert.Equal(ReplicaStatus.Ok, d.Status));
        var stored = Read(engine);
        Assert.Equal(Writes, stored.Count);
        Assert.Equal(Enumerable.Range(0, Writes).Select(i => $"v{i}").Order(StringComparer.Ordinal),
            stored.Siblings.ToArray().Select(s => System.Text.Encoding.UTF8.GetString(s.Value.Span)).Order(StringComparer.Ordinal));

        // Each answer is the record the store held right after that update: the last one's is what is stored.
        var largest = done.Received.Select(d => Decode(d.Record.Set)).MaxBy(s => s.Count)!;
        Assert.Equal(stored, largest);
    }

    [Fact]
    public async Task Submit_UpdateOverAnUndecodableRecord_FailsAndKeepsTheRecord()
    {
        using var directory = new TempDirectory();
        using var engine = StorageEngine.Open(new StorageOptions { Directory = directory.Path });
        engine.Put("k"u8, [0xFF, 1, 2]);
        var done = new Answers(1);
        var store = new EngineReplicaStore(engine, done.Add, TimeProvider.System);

        store.Submit(Update(1, "v", HybridTimestamp.FromUnixMs(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())));
        await done.All.WaitAsync(Deadline, TestContext.Current.CancellationToken);

        var answer = Assert.Single(done.Received);
        Assert.Equal(ReplicaStatus.Error, answer.Status);
        Assert.Contains("does not decode", answer.Error, StringComparison.Ordinal);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        Assert.True(engine.TryGet("k"u8, buffer, out _));
        Assert.Equal([0xFF, 1, 2], buffer.WrittenSpan.ToArray());
    }

    private static StorageRequest Update(ulong tag, string value, HybridTimestamp stamp) =>
        new(tag, StorageOperation.Update, "k"u8.ToArray(), default,
            Update: new VersionedUpdate(VersionVector.Empty, System.Text.Encoding.UTF8.GetBytes(value), IsDelete: false, Actor, stamp, MaxVersionEntries: 10));

    private static SiblingSet Read(StorageEngine engine)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        Assert.True(engine.TryGet("k"u8, buffer, out _));
        return Decode(buffer.WrittenSpan.ToArray());
    }

    private static SiblingSet Decode(byte[] encoded)
    {
        Assert.True(SiblingSet.TryDecode(encoded, out var set, out var error), error);
        return set;
    }

    private sealed class Answers(int expected)
    {
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _count;

        public ConcurrentQueue<StorageDone> Received { get; } = new();

        public Task All => _all.Task;

        public void Add(StorageDone done)
        {
            Received.Enqueue(done);
            if (Interlocked.Increment(ref _count) == expected)
            {
                _all.SetResult();
            }
        }
    }
}
