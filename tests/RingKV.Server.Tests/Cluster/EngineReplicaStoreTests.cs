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
    public void DispatchWrites_SameKeyTwiceInOneRound_BothConcurrentWritesKeptAsSiblings()
    {
        var key = Key("k");
        Merge(1, key, VersionedPut("a", actor: 1, counter: 10));
        Merge(2, key, VersionedPut("b", actor: 2, counter: 20));
        Assert.Empty(_done); // nothing runs before the round ends

        _store.DispatchWrites();
        var answers = Await(2);

        Assert.All(answers, a => Assert.Equal(ReplicaStatus.Ok, a.Status));
        var stored = Stored(key);
        Assert.Equal(["a", "b"], stored.Siblings.ToArray().Select(s => Encoding.UTF8.GetString(s.Value.Span)).Order());
    }

    [Fact]
    public void DispatchWrites_LaterPlainWriteInTheRound_WinsOverTheStoredOne()
    {
        var key = Key("lww");
        Merge(1, key, PlainPut("old", counter: 5));
        _store.DispatchWrites();
        Await(1);

        Merge(2, key, PlainPut("newer", counter: 9));
        Merge(3, key, PlainPut("new", counter: 7)); // arrives later, stamped earlier: loses
        _store.DispatchWrites();
        Await(2);

        Assert.True(Stored(key).TryGetWinnerValue(out var winner));
        Assert.Equal("newer", Encoding.UTF8.GetString(winner.Span));
    }

    [Fact]
    public void DispatchWrites_OneKeyOverTheEngineLimitAndOneUndecodable_OnlyThoseFail()
    {
        var good = Key("fine");
        Merge(1, good, PlainPut("v", counter: 3));
        Merge(2, Key(new string('x', 100)), PlainPut("v", counter: 4)); // over MaxKeyBytes = 64
        _store.Submit(new StorageRequest(3, StorageOperation.Merge, Key("garbage"), new ReplicaRecord([0xFF, 0x01, 0x02], 0)));
        _store.DispatchWrites();

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
        const int Count = 1000; // several full batches dispatched from Submit, the rest by DispatchWrites
        for (var i = 0; i < Count; i++)
        {
            Merge((ulong)i + 1, Key($"key{i % 300}"), VersionedPut($"v{i}", actor: (ulong)(i % 7) + 1, counter: (ulong)i + 1));
        }

        _store.DispatchWrites();
        var answers = Await(Count);

        Assert.Equal(Enumerable.Range(1, Count).Select(i => (ulong)i), answers.Select(a => a.Tag).Order());
        Assert.All(answers, a => Assert.Equal(ReplicaStatus.Ok, a.Status));
        var values = Enumerable.Range(0, 300).SelectMany(k => Stored(Key($"key{k}")).Siblings.ToArray().Select(s => Encoding.UTF8.GetString(s.Value.Span)));
        Assert.Equal(Count, values.Count()); // concurrent versioned writes: every one is a sibling, none lost to a racing merge
    }

    [Fact]
    public void DispatchWrites_ConcurrentUpdatesOfOneKey_EachKeepsTheOthersSiblings()
    {
        // Updates over several rounds of one key: each must read the set the one before it stored, under the key's stripe
        // (two reading the same set would mint the same dot, and the later write would replace the earlier).
        const int Writes = 64;
        var stamp = HybridTimestamp.FromUnixMs(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        for (var i = 0; i < Writes; i++)
        {
            _store.Submit(Update((ulong)i + 1, Key("u"), $"v{i}", stamp));
            if (i % 5 == 4)
            {
                _store.DispatchWrites();
            }
        }

        _store.DispatchWrites();
        var answers = Await(Writes);

        Assert.All(answers, a => Assert.Equal(ReplicaStatus.Ok, a.Status));
        var stored = Stored(Key("u"));
        Assert.Equal(Enumerable.Range(0, Writes).Select(i => $"v{i}").Order(StringComparer.Ordinal),
            stored.Siblings.ToArray().Select(s => Encoding.UTF8.GetString(s.Value.Span)).Order(StringComparer.Ordinal));

        // Each answer is the record the store held right after that update: the last one's is what is stored.
        var last = answers.Single(a => a.Tag == Writes);
        Assert.True(SiblingSet.TryDecode(last.Record.Set, out var answered, out _));
        Assert.Equal(stored, answered);
    }

    [Fact]
    public void DispatchWrites_UpdateOverAnUndecodableRecord_FailsAndKeepsTheRecord()
    {
        _engine.Put(Key("bad"), [0xFF, 1, 2]);
        _store.Submit(Update(1, Key("bad"), "v", HybridTimestamp.FromUnixMs(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())));
        _store.DispatchWrites();

        var answer = Assert.Single(Await(1));
        Assert.Equal(ReplicaStatus.Error, answer.Status);
        Assert.Contains("does not decode", answer.Error, StringComparison.Ordinal);
        var buffer = new ArrayBufferWriter<byte>();
        Assert.True(_engine.TryGet(Key("bad"), buffer, out _));
        Assert.Equal([0xFF, 1, 2], buffer.WrittenSpan.ToArray());
    }

    [Fact]
    public void DispatchWrites_NodesOwnPlainWriteThenUpdateInTheNextRound_UpdateSeesItSoBothStay()
    {
        // An update mints a dot claiming every earlier dot of its node, so it must apply after the node's own earlier
        // writes of the key: rounds take their stripes in dispatch order. Were the second round to run first, the plain
        // write's sibling would arrive already covered and be dropped.
        const int Keys = 200;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var k = 0; k < Keys; k++)
        {
            Merge((ulong)(2 * k) + 1, Key($"o{k}"), PlainPut("set", counter: now, actor: 42));
            _store.DispatchWrites();
            _store.Submit(Update((ulong)(2 * k) + 2, Key($"o{k}"), "put", HybridTimestamp.FromUnixMs(now + 5)));
            _store.DispatchWrites();
        }

        Assert.All(Await(2 * Keys), a => Assert.Equal(ReplicaStatus.Ok, a.Status));
        for (var k = 0; k < Keys; k++)
        {
            Assert.Equal(["put", "set"], Stored(Key($"o{k}")).Siblings.ToArray().Select(s => Encoding.UTF8.GetString(s.Value.Span)).Order(StringComparer.Ordinal));
        }
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

    private static byte[] PlainPut(string value, long counter, ulong actor = 1) =>
        Encode(SiblingSet.Empty.PutLww(Encoding.UTF8.GetBytes(value), actor, HybridTimestamp.FromUnixMs(counter), 10));

    private static StorageRequest Update(ulong tag, byte[] key, string value, HybridTimestamp stamp) =>
        new(tag, StorageOperation.Update, key, default,
            Update: new VersionedUpdate(VersionVector.Empty, Encoding.UTF8.GetBytes(value), IsDelete: false, 42, stamp, MaxVersionEntries: 10));

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
