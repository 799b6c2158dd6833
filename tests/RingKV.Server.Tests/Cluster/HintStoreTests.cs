using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Linq;
using System.Text;
using RingKV.Cluster;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Versioning;
using RingKV.Server.Cluster;
using RingKV.Storage;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Server.Tests.Cluster;

/// <summary>The hints a node keeps for DOWN replicas, over a real engine: merged per (target, key), paged, deleted only when unchanged, durable.</summary>
public sealed class HintStoreTests : IDisposable
{
    private static readonly NodeId B = new("node-b");
    private static readonly NodeId C = new("node-c");
    private readonly TempDirectory _directory = new("ringkv-hints");
    private readonly ConcurrentQueue<StorageDone> _done = new();
    private HintStore _hints;

    public HintStoreTests() => _hints = Open();

    [Fact]
    public void Keep_TwoWritesOfAKeyForOneTarget_OneHintHoldingTheirMerge_AnotherTargetApart()
    {
        Run(new StorageRequest(1, StorageOperation.Hint, Key("k"), Put("first", 1_000), First: 50, Target: B));
        Run(new StorageRequest(2, StorageOperation.Hint, Key("k"), Put("second", 2_000), First: 60, Target: B));
        Run(new StorageRequest(3, StorageOperation.Hint, Key("k"), Put("other", 1_500), First: 70, Target: C));
        var answers = Await(3).ToDictionary(a => a.Tag);
        Assert.Equal([1L, 0L, 1L], [answers[1].Keys, answers[2].Keys, answers[3].Keys]); // new, merged, new

        Assert.True(_hints.TryGet(B, Key("k"), out var hint));
        Assert.True(SiblingSet.TryDecode(hint.Set, out var set, out _));
        Assert.True(set.TryGetWinnerValue(out var winner));
        Assert.Equal("second", Encoding.UTF8.GetString(winner.Span));

        Run(new StorageRequest(4, StorageOperation.HintCount, [], default));
        var counts = Await(1)[0].HintCounts!;
        Assert.Equal([(B, 1L), (C, 1L)], counts.OrderBy(c => c.Target).ToArray());
    }

    [Fact]
    public void Page_ReadsOneTargetsHints_DeleteIfUnchangedKeepsAHintThatChanged()
    {
        for (var i = 0; i < 10; i++)
        {
            Run(new StorageRequest((ulong)i, StorageOperation.Hint, Key($"k{i}"), Put($"v{i}", 1_000 + i), First: 100, Target: B));
        }

        Run(new StorageRequest(50, StorageOperation.Hint, Key("c-only"), Put("x", 1_000), First: 100, Target: C));
        Await(11);

        Run(new StorageRequest(60, StorageOperation.HintScan, [], default, First: 0, Last: 0, Limit: 64, Target: B));
        var page = Await(1)[0];
        Assert.True(page.Complete);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"k{i}").Order(), page.Entries!.Select(e => Encoding.UTF8.GetString(e.Key)).Order());

        // k0 changed after the page was read (a newer write merged in): its delete must not remove the newer write.
        var k0 = page.Entries!.Single(e => Encoding.UTF8.GetString(e.Key) == "k0");
        var k1 = page.Entries!.Single(e => Encoding.UTF8.GetString(e.Key) == "k1");
        Run(new StorageRequest(61, StorageOperation.Hint, Key("k0"), Put("newer", 9_000), First: 200, Target: B));
        Await(1);
        Run(new StorageRequest(62, StorageOperation.HintDelete, k0.Key, k0.Record, Target: B));
        Run(new StorageRequest(63, StorageOperation.HintDelete, k1.Key, k1.Record, Target: B));
        var deletes = Await(2).ToDictionary(a => a.Tag);
        Assert.Equal(0, deletes[62].Keys);
        Assert.Equal(1, deletes[63].Keys);
        Assert.True(_hints.TryGet(B, Key("k0"), out _));
        Assert.False(_hints.TryGet(B, Key("k1"), out _));
    }

    [Fact]
    public void Page_HintsKeptBeforeTheCutoff_DeletedAndCountedNotReturned()
    {
        Run(new StorageRequest(1, StorageOperation.Hint, Key("old"), Put("a", 1_000), First: 100, Target: B));
        Run(new StorageRequest(2, StorageOperation.Hint, Key("young"), Put("b", 1_000), First: 5_000, Target: B));
        Await(2);

        Run(new StorageRequest(3, StorageOperation.HintScan, [], default, First: 0, Last: 1_000, Limit: 64, Target: B));
        var page = Await(1)[0];
        Assert.Equal(1, page.Expires);
        Assert.Equal(["young"], page.Entries!.Select(e => Encoding.UTF8.GetString(e.Key)));
        Assert.False(_hints.TryGet(B, Key("old"), out _));
    }

    [Fact]
    public void Reopen_HintsKept()
    {
        Run(new StorageRequest(1, StorageOperation.Hint, Key("durable"), Put("v", 1_000), First: 100, Target: B));
        Await(1);
        _hints.Dispose();
        _hints = Open();

        Assert.True(_hints.TryGet(B, Key("durable"), out _));
        Run(new StorageRequest(2, StorageOperation.HintCount, [], default));
        Assert.Equal([(B, 1L)], Await(1)[0].HintCounts!.ToArray());
    }

    public void Dispose()
    {
        _hints.Dispose();
        _directory.Dispose();
    }

    private HintStore Open() =>
        new(HintStore.OpenEngine(_directory.Path, new StorageOptions { Directory = _directory.Path }), _done.Enqueue);

    private void Run(StorageRequest request)
    {
        _hints.Submit(request);
        _hints.Dispatch();
    }

    private StorageDone[] Await(int count)
    {
        LocalCluster.WaitUntil(() => _done.Count >= count, TimeSpan.FromSeconds(30), $"{count} answers");
        var answers = _done.ToArray();
        _done.Clear();
        Assert.Equal(count, answers.Length);
        Assert.All(answers, a => Assert.True(a.Status == ReplicaStatus.Ok, a.Error));
        return answers;
    }

    private static byte[] Key(string text) => Encoding.UTF8.GetBytes(text);

    private static ReplicaRecord Put(string value, long unixMs)
    {
        var buffer = new ArrayBufferWriter<byte>();
        SiblingSet.Empty.PutLww(Encoding.UTF8.GetBytes(value), 1, HybridTimestamp.FromUnixMs(unixMs), 10).Encode(buffer);
        return new ReplicaRecord(buffer.WrittenSpan.ToArray(), 0);
    }
}
