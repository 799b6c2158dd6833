using System;
using System.Buffers;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using RingKV.Cluster.AntiEntropy;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Cluster.Ring;
using RingKV.Core.Hashing;
using RingKV.Core.Versioning;
using Xunit;

namespace RingKV.Cluster.Tests.AntiEntropy;

/// <summary>The pass as a state machine: two ClusterNodes over in-memory stores, a manual clock, messages through the codec.</summary>
public sealed class RepairPassTests
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Pass_MissingKeys_CopiedBothWaysAndASecondPassFindsNothing()
    {
        var h = new Harness(new ClusterNodeSettings(new NodeId("a"), "dc1", "r1"));
        Harness.Fill(h.A, 0, 300);
        Harness.Fill(h.B, 200, 500); // a has 0-299, b 200-499: 200 keys each side lacks
        var first = h.RunPass(h.A);
        Assert.Equal((0, 400L), (first.RangesFailed, first.KeysRepaired));
        Assert.Equal(h.A.Store.Dump(), h.B.Store.Dump());
        Assert.Equal(500, h.A.Store.Count);
        Assert.Equal(0, h.RunPass(h.B).KeysRepaired);
    }

    [Fact]
    public void Pass_RateLimited_TakesAtLeastTheBytesOverTheRate()
    {
        const long Rate = 1024;
        var h = new Harness(new ClusterNodeSettings(new NodeId("a"), "dc1", "r1") { RepairRateBytesPerSecond = Rate, RepairTimeout = TimeSpan.FromSeconds(30) });
        Harness.Fill(h.A, 0, 1500, valueBytes: 100); // b has none: about 170 KB of records cross
        var started = h.Now;
        var figures = h.RunPass(h.A, TimeSpan.FromHours(1));
        var bytes = figures.BytesSent + figures.BytesReceived;
        var floor = TimeSpan.FromSeconds((bytes - (64 * 1024) - MaxMessage(h)) / (double)Rate); // the bucket starts full (64 KiB burst)
        Assert.Equal(0, figures.RangesFailed);
        Assert.Equal(1500, h.B.Store.Count);
        Assert.True(h.Now - started >= floor, $"{bytes} bytes at {Rate} B/s took {h.Now - started}, under {floor}");
        Assert.True(h.Now - started < floor + TimeSpan.FromSeconds(60), $"{bytes} bytes at {Rate} B/s took {h.Now - started}: waited far past the budget");
    }

    [Fact]
    public void Pass_PeerSilent_EveryRangeFailsByItsDeadlineAndThePassEnds()
    {
        var h = new Harness(new ClusterNodeSettings(new NodeId("a"), "dc1", "r1") { RepairTimeout = TimeSpan.FromSeconds(5), RepairRangesPerExchange = 4 });
        Harness.Fill(h.A, 0, 50);
        h.Drop = true;
        var started = h.Now;
        var figures = h.RunPass(h.A, TimeSpan.FromMinutes(10));
        Assert.Equal(figures.RangesTotal, figures.RangesFailed);
        Assert.Contains("passed its deadline", figures.LastFailure, StringComparison.Ordinal);
        Assert.All(figures.Ranges, r => Assert.Equal(RepairOutcome.Failed, r.Outcome));
        // One session per window of 4 ranges, each failing at its deadline (plus a tick).
        var sessions = (figures.RangesTotal + 3) / 4;
        Assert.True(h.Now - started <= TimeSpan.FromSeconds(5.2 * sessions), $"{sessions} sessions took {h.Now - started}");
    }

    [Fact]
    public void TryStartRepair_WhileAPassRuns_RefusedWithProgress_ThenScheduledPassesFollowTheInterval()
    {
        var h = new Harness(new ClusterNodeSettings(new NodeId("a"), "dc1", "r1") { RepairInterval = TimeSpan.FromMinutes(10) });
        Harness.Fill(h.A, 0, 20);
        Assert.True(h.A.Node.TryStartRepair(h.Now, h.A, out _));
        Assert.False(h.A.Node.TryStartRepair(h.Now, h.A, out var error));
        Assert.StartsWith("a repair pass is running (", error, StringComparison.Ordinal);
        h.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, h.A.Node.RepairFigures.PassesDone);

        h.Advance(TimeSpan.FromMinutes(9)); // the next scheduled pass is 10 minutes after the last ended
        Assert.Equal(1, h.A.Node.RepairFigures.PassesDone);
        h.Advance(TimeSpan.FromMinutes(1.5));
        Assert.Equal(2, h.A.Node.RepairFigures.PassesDone);
    }

    private static long MaxMessage(Harness h) => h.LargestMessage;

    private sealed class Harness
    {
        private readonly Queue<(Member To, NodeId From, MessageKind Kind, byte[] Body)> _messages = new();

        public Harness(ClusterNodeSettings settings)
        {
            var step = ulong.MaxValue / 8;
            var ring = TokenRing.Create([
                (new RingMember(new NodeId("a"), "dc1", "r1"), Enumerable.Range(0, 4).Select(i => new Token((ulong)(2 * i) * step)).ToArray()),
                (new RingMember(new NodeId("b"), "dc1", "r2"), Enumerable.Range(0, 4).Select(i => new Token((ulong)((2 * i) + 1) * step)).ToArray())]);
            var replication = ReplicationSettings.Uniform(2);
            var (storeA, storeB) = (new MemoryStore(), new MemoryStore());
            A = new Member(this, new ClusterNode(settings with { Replication = replication }, storeA, ring), storeA);
            B = new Member(this, new ClusterNode(new ClusterNodeSettings(new NodeId("b"), "dc1", "r2") { Replication = replication }, storeB, ring), storeB);
        }

        public Member A { get; }

        public Member B { get; }

        public DateTimeOffset Now { get; private set; } = Start;

        public bool Drop { get; set; }

        public long LargestMessage { get; private set; }

        public static void Fill(Member member, int from, int to, int valueBytes = 8)
        {
            for (var i = from; i < to; i++)
            {
                var buffer = new ArrayBufferWriter<byte>();
                SiblingSet.Empty.PutLww(Encoding.UTF8.GetBytes($"v{i}".PadRight(valueBytes, '.')), 1, HybridTimestamp.FromUnixMs(1_900_000_000_000 + i), 10).Encode(buffer);
                member.Store.Put(Encoding.UTF8.GetBytes($"k{i}"), new ReplicaRecord(buffer.WrittenSpan.ToArray(), 0));
            }
        }

        public RepairPassFigures RunPass(Member on, TimeSpan? limit = null)
        {
            Assert.True(on.Node.TryStartRepair(Now, on, out var error), error);
            var end = Now + (limit ?? TimeSpan.FromMinutes(5));
            while (on.Node.RepairFigures.Running)
            {
                Assert.True(Now < end, $"the pass did not end by {end}: {on.Node.RepairState}");
                Advance(TimeSpan.FromMilliseconds(100));
            }

            return on.Node.RepairFigures.Last!;
        }

        /// <summary>Ticks both nodes every 100 ms for <paramref name="duration"/>, delivering every message and storage answer between ticks.</summary>
        public void Advance(TimeSpan duration)
        {
            var end = Now + duration;
            while (Now < end)
            {
                Pump();
                Now += TimeSpan.FromMilliseconds(100);
                A.Node.Tick(Now, A);
                B.Node.Tick(Now, B);
                Pump();
            }
        }

        public void Send(Member from, NodeId to, ClusterMessage message)
        {
            var buffer = new ArrayBufferWriter<byte>();
            MessageCodec.Encode(message, buffer);
            LargestMessage = Math.Max(LargestMessage, buffer.WrittenCount);
            if (!Drop)
            {
                _messages.Enqueue((to == A.Node.Self ? A : B, from.Node.Self, message.Kind, buffer.WrittenSpan.ToArray()));
            }
        }

        private void Pump()
        {
            for (var progressed = true; progressed;)
            {
                progressed = A.Store.Deliver(A) | B.Store.Deliver(B);
                while (_messages.TryDequeue(out var m))
                {
                    Assert.True(MessageCodec.TryDecode(m.Kind, m.Body, out var message, out var error), error);
                    m.To.Node.Handle(m.From, message, Now, m.To);
                    progressed = true;
                }
            }
        }
    }

    private sealed class Member(Harness harness, ClusterNode node, MemoryStore store) : IOutbox
    {
        public ClusterNode Node { get; } = node;

        public MemoryStore Store { get; } = store;

        public void Send(NodeId to, ClusterMessage message) => harness.Send(this, to, message);

        public void Reply(ulong clientRequestId, ClientReply reply)
        {
        }

        public DateTimeOffset Now => harness.Now;
    }

    /// <summary>Records by (token, key); answers queue until delivered, in submission order. Scans page by the limit, never splitting a token.</summary>
    private sealed class MemoryStore : IReplicaStore
    {
        private readonly SortedDictionary<(ulong Token, string Key), ReplicaRecord> _records = new();
        private readonly Queue<StorageDone> _answers = new();

        public int Count => _records.Count;

        public void Put(byte[] key, ReplicaRecord record) => _records[(Token.Of(key).Value, Encoding.UTF8.GetString(key))] = record;

        public List<string> Dump() => [.. _records.Select(r => $"{r.Key.Key}={Convert.ToHexString(r.Value.Set)}@{r.Value.ExpiresAtUnixMs}")];

        public void Submit(in StorageRequest request)
        {
            switch (request.Operation)
            {
                case StorageOperation.Scan:
                    var entries = new List<ScanEntry>();
                    ulong? last = null;
                    var (first, end) = (request.First, request.Last);
                    foreach (var ((token, key), record) in _records.Where(r => r.Key.Token >= first && r.Key.Token <= end))
                    {
                        if (entries.Count >= request.Limit && token != last)
                        {
                            _answers.Enqueue(new StorageDone(request.Tag, ReplicaStatus.Ok, Entries: entries, Complete: false, Next: token));
                            return;
                        }

                        entries.Add(new ScanEntry(Encoding.UTF8.GetBytes(key), record));
                        last = token;
                    }

                    _answers.Enqueue(new StorageDone(request.Tag, ReplicaStatus.Ok, Entries: entries));
                    break;
                case StorageOperation.Merge:
                    Assert.True(SiblingSet.TryDecode(request.Record.Set, out var delta, out _));
                    var id = (Token.Of(request.Key).Value, Encoding.UTF8.GetString(request.Key));
                    var merged = _records.TryGetValue(id, out var stored) && SiblingSet.TryDecode(stored.Set, out var old, out _) ? old.Merge(delta) : delta;
                    var buffer = new ArrayBufferWriter<byte>();
                    merged.Encode(buffer);
                    _records[id] = new ReplicaRecord(buffer.WrittenSpan.ToArray(), request.Record.ExpiresAtUnixMs);
                    _answers.Enqueue(new StorageDone(request.Tag, ReplicaStatus.Ok));
                    break;
                case StorageOperation.HintCount:
                    // The node counts its hints at start (hinted handoff); these tests keep none.
                    _answers.Enqueue(new StorageDone(request.Tag, ReplicaStatus.Ok, HintCounts: []));
                    break;
                default:
                    throw new InvalidOperationException($"anti-entropy does not ask for {request.Operation}");
            }
        }

        public bool Deliver(Member member)
        {
            var any = false;
            while (_answers.TryDequeue(out var done))
            {
                member.Node.OnStorage(done, member.Now, member);
                any = true;
            }

            return any;
        }
    }
}
