using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Cluster;
using RingKV.Cluster.AntiEntropy;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Cluster.Ring;
using RingKV.Core.Hashing;
using RingKV.Core.Versioning;
using RingKV.Server.Cluster;
using RingKV.Server.Store;
using RingKV.Storage;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Server.Tests.Cluster;

/// <summary>
/// What a small difference costs: two replicas over real engines (EngineReplicaStore), 100,000 keys each, 10 of them
/// differing (newer on one side, missing on the other, deleted on one side); one anti-entropy pass must move under 1 %
/// of the data set's bytes, repair exactly those keys, and leave a second pass nothing to repair.
/// </summary>
/// <remarks>The two ClusterNodes run in this process on one pump thread; their messages go through the real codec, counted.</remarks>
public sealed class AntiEntropyCostTests(ITestOutputHelper output) : IDisposable
{
    // The benchmark of docs/benchmarks.md runs this test with RINGKV_AE_KEYS=1000000 RINGKV_AE_DIFFER=10000 (1 %).
    private static readonly int Keys = Setting("RINGKV_AE_KEYS", 100_000);
    private static readonly int Differ = Setting("RINGKV_AE_DIFFER", 10);
    private readonly TempDirectory _directory = new("ringkv-ae-cost");
    private readonly List<Replica> _replicas = [];
    private readonly List<StorageEngine> _engines = [];
    private readonly SemaphoreSlim _signal = new(0);

    [Fact]
    public async Task Pass_TenOf100KKeysDiffer_SendsUnderOnePercentAndRepairsExactlyThem()
    {
        // The engines are filled first, the stores opened after: their stamp bounds start from a scan of what is stored,
        // as a node's do at start (a store opened before would take older writes it never saw for blind ones).
        var engineA = OpenEngine("a");
        var engineB = OpenEngine("b");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long dataSetBytes = 0;
        var same = new WriteBatch(1 << 20);
        var onlyA = new WriteBatch(1 << 16);
        var onlyB = new WriteBatch(1 << 16);
        for (var i = 0; i < Keys; i++)
        {
            var key = Encoding.UTF8.GetBytes($"key:{i:D6}");
            var record = Record($"value {i} {new string('x', 40)}", now - 60_000 + (i % 1000), actor: 1);
            dataSetBytes += key.Length + record.Length + 8;
            LocalStore.Put(same, key, record, 0);
            if (same.Count >= 5000)
            {
                await engineA.WriteAsync(same);
                await engineB.WriteAsync(same);
                same.Clear();
            }
        }

        await engineA.WriteAsync(same);
        await engineB.WriteAsync(same);

        // The differences, in tens: 4 newer on a, 3 missing on b, 2 deleted on a (tombstones travel), 1 newer on b.
        var stride = Keys / Differ;
        for (var i = 0; i < Differ; i++)
        {
            var key = Encoding.UTF8.GetBytes($"key:{((i * stride) + 17) % Keys:D6}");
            switch (i % 10)
            {
                case < 4:
                    LocalStore.Put(onlyA, key, Record($"newer {i}", now, actor: 2), 0);
                    break;
                case < 7:
                    engineB.Delete(key); // b never got it (an engine delete: no trace of the key)
                    break;
                case < 9:
                    LocalStore.Put(onlyA, key, Tombstone(now, actor: 2), 0);
                    break;
                default:
                    LocalStore.Put(onlyB, key, Record($"newer on b {i}", now, actor: 3), 0);
                    break;
            }
        }

        await engineA.WriteAsync(onlyA);
        await engineB.WriteAsync(onlyB);
        var ring = TwoNodeRing();
        var a = Open("a", engineA, ring);
        var b = Open("b", engineB, ring);

        var first = RunPass(a);
        var bytes = first.BytesSent + first.BytesReceived;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"data set {Keys} keys, {dataSetBytes} bytes; pass 1: {first.RangesTotal} ranges, {first.RangesDiffering} differed, keys repaired {first.KeysRepaired}, "
            + $"sent {first.KeysSent} records, received {first.KeysReceived}; bytes sent {first.BytesSent} + received {first.BytesReceived} = {bytes} "
            + $"({100.0 * bytes / dataSetBytes:0.000} % of the data set), wire bytes counted by the pump {a.WireBytes + b.WireBytes}, {first.DurationAt(DateTimeOffset.UtcNow).TotalSeconds:0.00} s"));

        Assert.Equal(0, first.RangesFailed);
        Assert.Equal(Differ, first.KeysRepaired);
        if (Differ * 1000 <= Keys)
        {
            // One in ten thousand differing (the 10 of 100,000): well under 1 % of the bytes must move.
            Assert.True(bytes < dataSetBytes / 100, $"the pass moved {bytes} bytes, not under 1 % of {dataSetBytes}");
        }

        Assert.Equal(a.WireBytes + b.WireBytes, bytes); // the figures count exactly what crossed

        Assert.Equal(Dump(a.Engine), Dump(b.Engine));
        var second = RunPass(a);
        output.WriteLine($"pass 2: keys repaired {second.KeysRepaired}, ranges differing {second.RangesDiffering}, bytes {second.BytesSent + second.BytesReceived}");
        Assert.Equal((0, 0, 0), (second.KeysRepaired, second.RangesDiffering, second.RangesFailed));
    }

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), System.Globalization.NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;

    public void Dispose()
    {
        foreach (var engine in _engines)
        {
            engine.Dispose();
        }

        _directory.Dispose();
        _signal.Dispose();
    }

    private static TokenRing TwoNodeRing()
    {
        // 16 vnodes each, interleaved: with N=2 both nodes replicate every range.
        var step = ulong.MaxValue / 32;
        var a = Enumerable.Range(0, 16).Select(i => new Token((ulong)(2 * i) * step)).ToArray();
        var b = Enumerable.Range(0, 16).Select(i => new Token((ulong)((2 * i) + 1) * step)).ToArray();
        return TokenRing.Create([(new RingMember(new NodeId("a"), "dc1", "r1"), a), (new RingMember(new NodeId("b"), "dc1", "r2"), b)]);
    }

    private StorageEngine OpenEngine(string name)
    {
        var engine = StorageEngine.Open(new StorageOptions { Directory = System.IO.Path.Combine(_directory.Path, name) });
        _engines.Add(engine);
        return engine;
    }

    private Replica Open(string name, StorageEngine engine, TokenRing ring)
    {
        var dir = System.IO.Path.Combine(_directory.Path, name);
        var stamps = StoredStamps.Open(dir, engine, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var done = new ConcurrentQueue<StorageDone>();
        var store = new EngineReplicaStore(engine, stamps, d =>
        {
            done.Enqueue(d);
            _signal.Release();
        }, TimeProvider.System);
        var settings = new ClusterNodeSettings(new NodeId(name), "dc1", name == "a" ? "r1" : "r2")
        {
            Replication = ReplicationSettings.Uniform(2),
            RepairTimeout = TimeSpan.FromSeconds(60),
        };
        var replica = new Replica(this, new ClusterNode(settings, store, ring), engine, store, done);
        _replicas.Add(replica);
        return replica;
    }

    /// <summary>Starts a pass on <paramref name="on"/> and pumps both nodes until it ends (deadline 2 minutes).</summary>
    private RepairPassFigures RunPass(Replica on)
    {
        Assert.True(on.Node.TryStartRepair(DateTimeOffset.UtcNow, on, out var error), error);
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(10);
        var nextTick = DateTimeOffset.UtcNow;
        while (on.Node.RepairFigures.Running)
        {
            var now = DateTimeOffset.UtcNow;
            Assert.True(now < deadline, $"the pass did not end in 2 minutes: {on.Node.RepairState}");
            var progressed = false;
            foreach (var replica in _replicas)
            {
                while (replica.Done.TryDequeue(out var done))
                {
                    replica.Node.OnStorage(done, now, replica);
                    progressed = true;
                }

                while (replica.Inbox.TryDequeue(out var message))
                {
                    Assert.True(MessageCodec.TryDecode(message.Kind, message.Bytes, out var decoded, out var decodeError), decodeError);
                    replica.Node.Handle(message.From, decoded, now, replica);
                    progressed = true;
                }

                replica.Store.DispatchWrites();
            }

            if (now >= nextTick)
            {
                foreach (var replica in _replicas)
                {
                    replica.Node.Tick(now, replica);
                }

                nextTick = now + TimeSpan.FromMilliseconds(100);
            }

            if (!progressed)
            {
                _signal.Wait(TimeSpan.FromMilliseconds(20));
            }
        }

        return on.Node.RepairFigures.Last!;
    }

    private static byte[] Record(string value, long unixMs, ulong actor)
    {
        var buffer = new ArrayBufferWriter<byte>();
        SiblingSet.Empty.PutLww(Encoding.UTF8.GetBytes(value), actor, HybridTimestamp.FromUnixMs(unixMs), 10).Encode(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Tombstone(long unixMs, ulong actor)
    {
        var buffer = new ArrayBufferWriter<byte>();
        SiblingSet.Empty.DeleteLww(actor, HybridTimestamp.FromUnixMs(unixMs), 10).Encode(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Every record of an engine, in order, as key=hex(record)@expiry lines: two replicas agree when these are equal.</summary>
    private static List<string> Dump(StorageEngine engine)
    {
        var lines = new List<string>();
        using var it = engine.NewIterator(TokenRange.All);
        while (it.MoveNext())
        {
            lines.Add($"{Encoding.UTF8.GetString(it.Key)}={Convert.ToHexString(it.Value)}@{it.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0}");
        }

        return lines;
    }

    private readonly record struct Wire(NodeId From, MessageKind Kind, byte[] Bytes);

    /// <summary>One node: its machine, engine and store, its storage answers, and its inbox (it is also its own outbox).</summary>
    private sealed class Replica(AntiEntropyCostTests test, ClusterNode node, StorageEngine engine, EngineReplicaStore store, ConcurrentQueue<StorageDone> done) : IOutbox
    {
        public ClusterNode Node { get; } = node;

        public StorageEngine Engine { get; } = engine;

        public EngineReplicaStore Store { get; } = store;

        public ConcurrentQueue<StorageDone> Done { get; } = done;

        public ConcurrentQueue<Wire> Inbox { get; } = new();

        /// <summary>Body bytes this node sent.</summary>
        public long WireBytes { get; private set; }

        public void Send(NodeId to, ClusterMessage message)
        {
            var buffer = new ArrayBufferWriter<byte>();
            MessageCodec.Encode(message, buffer);
            WireBytes += buffer.WrittenCount;
            test._replicas.Single(r => r.Node.Self == to).Inbox.Enqueue(new Wire(Node.Self, message.Kind, buffer.WrittenSpan.ToArray()));
        }

        public void Reply(ulong clientRequestId, ClientReply reply)
        {
        }
    }
}
