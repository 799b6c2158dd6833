using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using CsCheck;
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
    private readonly ConcurrentQueue<StorageDone> _done = new();
    private StorageEngine _engine;
    private StoredStamps _stamps;
    private EngineReplicaStore _store;

    public EngineReplicaStoreTests()
    {
        (_engine, _stamps, _store) = Open();
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

    [Fact]
    public void DispatchWrites_PlainWritesAboveTheBucket_GoBlindAndOlderOnesReadFirstAndLose()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Merge(1, Key("b"), PlainPut("first", counter: now));
        Merge(2, Key("b"), PlainPut("second", counter: now + 10));
        _store.DispatchWrites();
        Await(2);
        Assert.Equal((2, 0), (_stamps.BlindWrites, _stamps.ReadWrites));

        Merge(3, Key("b"), PlainPut("late", counter: now + 5)); // stamped below what the key holds
        _store.DispatchWrites();
        Await(1);

        Assert.Equal((2, 1), (_stamps.BlindWrites, _stamps.ReadWrites));
        Assert.Equal("second", Winner(Key("b")));
    }

    [Theory]
    [InlineData("kept")]
    [InlineData("missing")]
    [InlineData("damaged")]
    public void Restart_OlderPlainWriteOfAStoredKey_ReadsFirstAndLoses(string file)
    {
        // After a restart the buckets start at the durable bound: a write stamped below a stored record must not go blind,
        // whether the bound comes from the file or, the file missing or damaged, from a scan of the engine.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var k = 0; k < 50; k++)
        {
            Merge((ulong)k + 1, Key($"r{k}"), PlainPut("new", counter: now));
        }

        _store.DispatchWrites();
        Await(50);
        Reopen(file);

        for (var k = 0; k < 50; k++)
        {
            Merge((ulong)k + 1, Key($"r{k}"), PlainPut("old", counter: now - 1000, actor: 2));
        }

        _store.DispatchWrites();
        Assert.All(Await(50), a => Assert.Equal(ReplicaStatus.Ok, a.Status));
        Assert.Equal((0, 50), (_stamps.BlindWrites, _stamps.ReadWrites));
        Assert.All(Enumerable.Range(0, 50), k => Assert.Equal("new", Winner(Key($"r{k}"))));
    }

    [Fact]
    public void DispatchWrites_BucketThatStoredAVersionedSet_NeverGoesBlindAgainEvenAfterARestart()
    {
        // A plain write over a versioned set must merge: it keeps the context that covers siblings the replica superseded.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Merge(1, Key("v"), VersionedPut("put", actor: 3, counter: (ulong)HybridTimestamp.FromUnixMs(now).Value));
        _store.DispatchWrites();
        Await(1);
        Merge(2, Key("v"), PlainPut("set", counter: now + 1000));
        _store.DispatchWrites();
        Await(1);

        Assert.Equal(0, _stamps.BlindWrites);
        Assert.True(Stored(Key("v")).Context.Counter(3) > 0, "the merged context keeps the versioned write's dot");

        Reopen("kept");
        Merge(3, Key("other"), PlainPut("x", counter: now + 100_000)); // any bucket: the node once stored a versioned set
        _store.DispatchWrites();
        Await(1);
        Assert.Equal((0, 1), (_stamps.BlindWrites, _stamps.ReadWrites));
    }

    [Fact]
    public void Random_PlainAndVersionedWrites_StoreTheSameSiblingsAsMergingEveryDelta()
    {
        // Blind or not, what a key shows must be what merging all its deltas gives (contexts may differ: blind writes drop
        // the entries last-writer-wins makes moot). Few keys, stamps out of order, restarts in between.
        Gen.Int[0, 1_000_000].Sample(seed =>
        {
            var random = new Random(seed);
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var model = new System.Collections.Generic.Dictionary<string, SiblingSet>();
            ulong tag = 0;
            for (var round = 0; round < 6; round++)
            {
                var writes = random.Next(1, 20);
                for (var w = 0; w < writes; w++)
                {
                    var key = $"p{seed}-{random.Next(4)}";
                    var stamp = new HybridTimestamp(HybridTimestamp.FromUnixMs(now + random.Next(0, 5000)).Value + (long)tag); // unique
                    var actor = (ulong)random.Next(1, 4);
                    var delta = random.Next(6) == 0
                        ? SiblingSet.Empty.Put(VersionVector.Empty, Encoding.UTF8.GetBytes($"v{tag}"), actor + 10, stamp, 10)
                        : random.Next(4) == 0 ? SiblingSet.Empty.DeleteLww(actor, stamp, 10)
                        : SiblingSet.Empty.PutLww(Encoding.UTF8.GetBytes($"s{tag}"), actor, stamp, 10);
                    model[key] = model.TryGetValue(key, out var was) ? was.Merge(delta) : delta;
                    Merge(++tag, Key(key), Encode(delta));
                }

                _store.DispatchWrites();
                Assert.All(Await(writes), a => Assert.Equal(ReplicaStatus.Ok, a.Status));
                if (random.Next(3) == 0)
                {
                    Reopen(random.Next(4) == 0 ? "missing" : "kept");
                }
            }

            foreach (var (key, expected) in model)
            {
                var stored = Stored(Key(key));
                Assert.Equal(Describe(expected), Describe(stored));
            }
        }, iter: 40, threads: 1); // one store and answer queue: samples in turn
    }

    [Fact]
    public void EnsureDurable_StampsNearTheBound_RenewedAheadWithoutWaiting()
    {
        // The first write above the bound saves it before its batch (the loop waits once); stamps within half a margin
        // of the bound renew it in the background, so later batches never wait for the file.
        var now = HybridTimestamp.FromUnixMs(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).Value;
        _stamps.EnsureDurable(now, versioned: false);
        var first = _stamps.DurableBound;
        Assert.Equal(now + StoredStamps.Margin, first);

        var near = first - (StoredStamps.Margin / 4);
        _stamps.EnsureDurable(near, versioned: false);
        LocalCluster.WaitUntil(() => _stamps.DurableBound == near + StoredStamps.Margin, TimeSpan.FromSeconds(10), "the bound renewed in the background");
        Reopen("kept");
        Assert.Equal(near + StoredStamps.Margin, _stamps.DurableBound); // durable: the file holds it
    }

    [Fact]
    public void Forget_RemovesTheFileSoTheNextClusterRunScans()
    {
        Assert.True(System.IO.File.Exists(StoredStamps.PathIn(_directory.Path)));
        StoredStamps.Forget(_directory.Path);
        Assert.False(System.IO.File.Exists(StoredStamps.PathIn(_directory.Path)));
    }

    [Fact]
    public void Buckets_RefineTheStripes()
    {
        Assert.Equal(0, StoredStamps.BucketCount % 4096); // EngineReplicaStore's stripe count: a stripe's holder owns its buckets
    }

    public void Dispose()
    {
        _engine.Dispose();
        _directory.Dispose();
    }

    private static string Describe(SiblingSet set) =>
        string.Join(",", set.Siblings.ToArray().Select(s => $"{s.Dot.Actor}:{s.Dot.Counter}:{s.IsTombstone}:{Encoding.UTF8.GetString(s.Value.Span)}")) + $"|{set.LwwFloor}";

    [Fact]
    public async System.Threading.Tasks.Task PurgeTombstones_TombstoneOnlySetsOlderThanTheCutoff_RemovedAndNothingElse()
    {
        Merge(1, Key("old-delete"), PlainDelete(counter: 1_000));
        Merge(2, Key("recent-delete"), PlainDelete(counter: 5_000));
        Merge(3, Key("live"), PlainPut("v", counter: 1_000));
        Merge(4, Key("deleted-then-put"), PlainDelete(counter: 1_000));
        Merge(5, Key("deleted-then-put"), PlainPut("back", counter: 1_500));
        Merge(6, Key("concurrent"), VersionedPut("sibling", actor: 7, counter: (ulong)HybridTimestamp.FromUnixMs(900).Value));
        Merge(7, Key("concurrent"), PlainDelete(counter: 800)); // below the sibling: the set keeps a live value
        _store.DispatchWrites();
        Await(7);

        Assert.Equal(1, await _store.PurgeTombstonesAsync(cutoffUnixMs: 2_000));
        Assert.False(_engine.TryGet(Key("old-delete"), new ArrayBufferWriter<byte>(), out _), "the tombstone older than the grace is removed");
        Assert.True(Stored(Key("recent-delete")).IsDeleted, "a tombstone within its grace stays");
        Assert.Equal("v", Winner(Key("live")));
        Assert.Equal("back", Winner(Key("deleted-then-put")));
        Assert.Equal("sibling", Winner(Key("concurrent")));
        Assert.Equal(1, _store.TombstonesPurged);
        Assert.Equal(0, await _store.PurgeTombstonesAsync(cutoffUnixMs: 2_000));
    }

    [Fact]
    public void Ingest_KeysHeldNowhere_StoredAsTheyCame_HeldOnesComeBackToMerge()
    {
        var held = Key("page-17");
        Merge(1, held, VersionedPut("mine", actor: 9, counter: 5));
        _store.DispatchWrites();
        Await(1);
        var page = Page(Enumerable.Range(0, 100).Select(i => Key($"page-{i}")), i => PlainPut($"streamed-{i}", counter: 1_000 + i, actor: 3));

        _store.Submit(new StorageRequest(2, StorageOperation.Ingest, [], default, Entries: page));
        var answer = Await(1)[0];

        Assert.Equal(ReplicaStatus.Ok, answer.Status);
        Assert.Equal(99, answer.Keys);
        Assert.Equal(["page-17"], answer.Entries!.Select(e => Encoding.UTF8.GetString(e.Key)));
        Assert.Equal("mine", Winner(held)); // not overwritten: the caller merges it
        Assert.All(page.Where(e => Encoding.UTF8.GetString(e.Key) != "page-17"), e => Assert.Equal(e.Record.Set, StoredBytes(e.Key)));
        Assert.Equal(1, _engine.Statistics.Ingests);

        // The ingested stamps raised their buckets' bounds: a plain write stamped below one is merged (and loses), not written blind over it.
        var ingested = Key("page-40");
        Merge(3, ingested, PlainPut("older", counter: 500, actor: 4));
        _store.DispatchWrites();
        Await(1);
        Assert.Equal("streamed-40", Winner(ingested));
    }

    [Fact]
    public void Ingest_WritesOfThePageKeysRacingIt_EveryWriteAndEveryStreamedSiblingKept()
    {
        // The node's loop is this thread: pages go in while versioned writes of the same keys (another actor) are merged;
        // what the ingest gives back is merged after it, as ClusterNode does. Whatever the interleaving, every key ends
        // with both siblings: none written blind over an ingested record, none ingested over a write.
        ulong tag = 100;
        for (var round = 0; round < 20; round++)
        {
            var keys = Enumerable.Range(0, 400).Select(i => Key($"r{round}-{i}")).ToList();
            var page = Page(keys, i => VersionedPut($"streamed-{i}", actor: 1, counter: (ulong)(10 + i)));
            var ingestTag = ++tag;
            _store.Submit(new StorageRequest(ingestTag, StorageOperation.Ingest, [], default, Entries: page));
            var writes = 0;
            foreach (var key in keys.Where((_, i) => i % 2 == round % 2))
            {
                Merge(++tag, key, VersionedPut("written", actor: 2, counter: 5));
                writes++;
                if (writes % 50 == 0)
                {
                    _store.DispatchWrites();
                }
            }

            _store.DispatchWrites();
            var answers = Await(writes + 1);
            Assert.All(answers, a => Assert.Equal(ReplicaStatus.Ok, a.Status));
            var back = answers.Single(a => a.Tag == ingestTag).Entries!;
            foreach (var entry in back)
            {
                _store.Submit(new StorageRequest(++tag, StorageOperation.Merge, entry.Key, entry.Record));
            }

            _store.DispatchWrites();
            Assert.All(Await(back.Count), a => Assert.Equal(ReplicaStatus.Ok, a.Status));
            for (var i = 0; i < keys.Count; i++)
            {
                var values = Stored(keys[i]).Siblings.ToArray().Select(x => Encoding.UTF8.GetString(x.Value.Span)).Order().ToArray();
                string[] expected = i % 2 == round % 2 ? [$"streamed-{i}", "written"] : [$"streamed-{i}"];
                Assert.Equal(expected, values);
            }
        }
    }

    /// <summary>A stream page: the keys in the engine's order (token, then key), each with its record.</summary>
    private static ScanEntry[] Page(IEnumerable<byte[]> keys, Func<int, byte[]> record) =>
        [.. keys.Select((k, i) => (Key: k, Record: record(int.Parse(Encoding.UTF8.GetString(k).Split('-')[^1], System.Globalization.CultureInfo.InvariantCulture))))
            .OrderBy(e => RingKV.Core.Hashing.Token.Of(e.Key).Value).ThenBy(e => e.Key, ByteOrder.Instance)
            .Select(e => new ScanEntry(e.Key, new ReplicaRecord(e.Record, 0)))];

    private byte[] StoredBytes(byte[] key)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Assert.True(_engine.TryGet(key, buffer, out _), "the key is stored");
        return buffer.WrittenSpan.ToArray();
    }

    private sealed class ByteOrder : System.Collections.Generic.IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }

    private static byte[] PlainDelete(long counter, ulong actor = 1) =>
        Encode(SiblingSet.Empty.DeleteLww(actor, HybridTimestamp.FromUnixMs(counter), 10));

    private (StorageEngine Engine, StoredStamps Stamps, EngineReplicaStore Store) Open()
    {
        var engine = StorageEngine.Open(new StorageOptions { Directory = _directory.Path, MaxKeyBytes = 64 });
        var stamps = StoredStamps.Open(_directory.Path, engine, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        return (engine, stamps, new EngineReplicaStore(engine, stamps, _done.Enqueue, TimeProvider.System));
    }

    /// <summary>Closes the engine and opens it again with the stamp file kept, deleted or damaged.</summary>
    private void Reopen(string file)
    {
        _engine.Dispose();
        var path = StoredStamps.PathIn(_directory.Path);
        if (file == "missing")
        {
            System.IO.File.Delete(path);
        }
        else if (file == "damaged")
        {
            System.IO.File.WriteAllText(path, "{\"StampBound\":");
        }

        (_engine, _stamps, _store) = Open();
    }

    private string Winner(byte[] key)
    {
        Assert.True(Stored(key).TryGetWinnerValue(out var value));
        return Encoding.UTF8.GetString(value.Span);
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
