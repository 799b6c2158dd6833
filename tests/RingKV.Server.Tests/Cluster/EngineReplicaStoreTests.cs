using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Linq;
using System.Text;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Versioning;
using RingKV.Server.Cluster;
using RingKV.Storage;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Server.Tests.Cluster;

/// <summary>The cluster node's replica store over a real engine: merges submitted in one round go to the engine as one batch.</summary>
public sealed class EngineReplicaStoreTests : IDisposable
{
    private readonly TempDirectory _directory = new("ringkv-replica-store");
    private readonly StorageEngine _engine;
    private readonly ConcurrentQueue<StorageDone> _done = new();
    private readonly EngineReplicaStore _store;

    public EngineReplicaStoreTests()
    {
        _engine = StorageEngine.Open(new StorageOptions { Directory = _directory.Path, MaxKeyBytes = 64 });
        _store = new EngineReplicaStore(_engine, _done.Enqueue, TimeProvider.System);
    }

    [Fact]
    public void DispatchMerges_SameKeyTwiceInOneRound_BothConcurrentWritesKeptAsSiblings()
    {
        var key = Key("k");
        Merge(1, key, VersionedPut("a", actor: 1, counter: 10));
        Merge(2, key, VersionedPut("b", actor: 2, counter: 20));
        Assert.Empty(_done); // nothing runs before the round ends

        _store.DispatchMerges();
        var answers = Await(2);

        Assert.All(answers, a => Assert.Equal(ReplicaStatus.Ok, a.Status));
        var stored = Stored(key);
        Assert.Equal(["a", "b"], stored.Siblings.ToArray().Select(s => Encoding.UTF8.GetString(s.Value.Span)).Order());
    }

    [Fact]
    public void DispatchMerges_LaterPlainWriteInTheRound_WinsOverTheStoredOne()
    {
        var key = Key("lww");
        Merge(1, key, PlainPut("old", counter: 5));
        _store.DispatchMerges();
        Await(1);

        Merge(2, key, PlainPut("newer", counter: 9));
        Merge(3, key, PlainPut("new", counter: 7)); // arrives later, stamped earlier: loses
        _store.DispatchMerges();
        Await(2);

        Assert.True(Stored(key).TryGetWinnerValue(out var winner));
        Assert.Equal("newer", Encoding.UTF8.GetString(winner.Span));
    }

    [Fact]
    public void DispatchMerges_OneKeyOverTheEngineLimitAndOneUndecodable_OnlyThoseFail()
    {
        var good = Key("fine");
        Merge(1, good, PlainPut("v", counter: 3));
        Merge(2, Key(new string('x', 100)), PlainPut("v", counter: 4)); // over MaxKeyBytes = 64
        _store.Submit(new StorageRequest(3, StorageOperation.Merge, Key("garbage"), new ReplicaRecord([0xFF, 0x01, 0x02], 0)));
        _store.DispatchMerges();

        var answers = Await(3).ToDictionary(a => a.Tag);
        Assert.Equal(ReplicaStatus.Ok, answers[1].Status);
        Assert.Equal(ReplicaStatus.Error, answers[2].Status);
        Assert.Contains("exceeds the limit", answers[2].Error, StringComparison.Ordinal);
        Assert.Equal(ReplicaStatus.Error, answers[3].Status);
        Assert.Contains("undecodable", answers[3].Error, StringComparison.Ordinal);
        Assert.True(Stored(good).TryGetWinnerValue(out _));
    }

    [Fact]
    public void Submit_MoreMergesThanOneBatchHolds_EveryMergeAnsweredAndStored()
    {
        const int Count = 1000; // several full batches dispatched from Submit, the rest by DispatchMerges
        for (var i = 0; i < Count; i++)
        {
            Merge((ulong)i + 1, Key($"key{i % 300}"), VersionedPut($"v{i}", actor: (ulong)(i % 7) + 1, counter: (ulong)i + 1));
        }

        _store.DispatchMerges();
        var answers = Await(Count);

        Assert.Equal(Enumerable.Range(1, Count).Select(i => (ulong)i), answers.Select(a => a.Tag).Order());
        Assert.All(answers, a => Assert.Equal(ReplicaStatus.Ok, a.Status));
        var values = Enumerable.Range(0, 300).SelectMany(k => Stored(Key($"key{k}")).Siblings.ToArray().Select(s => Encoding.UTF8.GetString(s.Value.Span)));
        Assert.Equal(Count, values.Count()); // concurrent versioned writes: every one is a sibling, none lost to a racing merge
    }

    public void Dispose()
    {
        _engine.Dispose();
        _directory.Dispose();
    }

    private static byte[] Key(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Encode(SiblingSet set)
    {
        var buffer = new ArrayBufferWriter<byte>();
        set.Encode(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] VersionedPut(string value, ulong actor, ulong counter) =>
        Encode(SiblingSet.Empty.Put(VersionVector.Empty, Encoding.UTF8.GetBytes(value), actor, new HybridTimestamp((long)counter), 10));

    private static byte[] PlainPut(string value, ulong counter) =>
        Encode(SiblingSet.Empty.PutLww(Encoding.UTF8.GetBytes(value), 1, HybridTimestamp.FromUnixMs((long)counter), 10));

    private void Merge(ulong tag, byte[] key, byte[] delta) =>
        _store.Submit(new StorageRequest(tag, StorageOperation.Merge, key, new ReplicaRecord(delta, 0)));

    private StorageDone[] Await(int count)
    {
        LocalCluster.WaitUntil(() => _done.Count >= count, TimeSpan.FromSeconds(30), $"{count} answers");
        var answers = _done.ToArray();
        _done.Clear();
        Assert.Equal(count, answers.Length);
        return answers;
    }

    private SiblingSet Stored(byte[] key)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Assert.True(_engine.TryGet(key, buffer, out _), "the key is stored");
        Assert.True(SiblingSet.TryDecode(buffer.WrittenSpan, out var set, out var error), error);
        return set;
    }
}
