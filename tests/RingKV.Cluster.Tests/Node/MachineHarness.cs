using System;
using System.Buffers;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Membership;
using RingKV.Cluster.Messages;
using RingKV.Core.Random;
using RingKV.Core.Versioning;
using Xunit;

namespace RingKV.Cluster.Tests.Node;

/// <summary>
/// A few <see cref="NodeMachine"/>s wired together for focused tests: a manual clock, messages encoded and delivered in
/// send order when <see cref="Pump"/> runs (none lost unless a node is stopped), and an in-memory store per node whose
/// answers wait in a queue until <see cref="Pump"/> delivers them (never inside Submit).
/// </summary>
internal sealed class MachineHarness
{
    public static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly Queue<Action> _queue = new();

    public DateTimeOffset Now { get; private set; } = Start;

    public List<Member> Members { get; } = [];

    public Dictionary<ulong, ClientReply> Replies { get; } = [];

    /// <summary>Messages delivered, by kind.</summary>
    public List<(NodeId From, NodeId To, ClusterMessage Message)> Delivered { get; } = [];

    /// <summary>Called for each message before it is delivered; false drops it.</summary>
    public Func<NodeId, NodeId, ClusterMessage, bool>? Filter { get; set; }

    /// <summary>Changes the coordinator settings of the members added from now on (hint rate and window, strict quorum, ...).</summary>
    public Func<ClusterNodeSettings, ClusterNodeSettings>? Configure { get; set; }

    public Member Add(string name, string rack, ImmutableArray<ulong> tokens, ulong generation = 1, long clockFloor = 0, MemoryStore? store = null)
    {
        var index = Members.FindIndex(m => m.Id.Name == name);
        var member = new Member(this, name, store ?? new MemoryStore(this));
        var seeds = Members.Where(m => m.Id.Name != name).Take(1).Select(m => m.Address).ToList();
        if (index >= 0)
        {
            seeds = [.. Members.Where(m => m.Id.Name != name).Take(1).Select(m => m.Address)];
        }

        var cluster = new ClusterNodeSettings(member.Id, "dc1", rack) { ClockFloorUnixMs = clockFloor };
        var settings = new NodeMachineSettings(
            Configure?.Invoke(cluster) ?? cluster,
            new GossipSettings(),
            generation,
            $"{name}:6379",
            member.Address,
            seeds,
            1,
            tokens)
        { VnodesPerCapacity = 4 };
        member.Machine = new NodeMachine(settings, member.Store, new SplitMix64(name.GetHashCode(StringComparison.Ordinal)));
        if (index >= 0)
        {
            Members[index] = member;
        }
        else
        {
            Members.Add(member);
        }

        return member;
    }

    public Member this[string name] => Members.Single(m => m.Id.Name == name);

    /// <summary>a, b and c on racks r0-r2, tokens spread over the whole space (every key has a replica on each), settled.</summary>
    public static MachineHarness ThreeSpread(Func<ClusterNodeSettings, ClusterNodeSettings>? configure = null)
    {
        var harness = new MachineHarness { Configure = configure };
        const ulong Ninth = ulong.MaxValue / 9;
        harness.Add("a", "r0", [Ninth, 4 * Ninth, 7 * Ninth]);
        harness.Add("b", "r1", [2 * Ninth, 5 * Ninth, 8 * Ninth]);
        harness.Add("c", "r2", [3 * Ninth, 6 * Ninth, 9 * Ninth]);
        return harness.Settled(3);
    }

    /// <summary>a and d share rack r0, b and c have a rack each: every key has a replica on each rack, and c's stand-in is the r0 node that is not a replica.</summary>
    public static MachineHarness FourSpread()
    {
        var harness = new MachineHarness();
        const ulong Twelfth = ulong.MaxValue / 12;
        harness.Add("a", "r0", [Twelfth, 5 * Twelfth, 9 * Twelfth]);
        harness.Add("b", "r1", [2 * Twelfth, 6 * Twelfth, 10 * Twelfth]);
        harness.Add("c", "r2", [3 * Twelfth, 7 * Twelfth, 11 * Twelfth]);
        harness.Add("d", "r0", [4 * Twelfth, 8 * Twelfth, 12 * Twelfth]);
        return harness.Settled(4);
    }

    private MachineHarness Settled(int members)
    {
        Run(TimeSpan.FromSeconds(10));
        Assert.All(Members, m => Assert.Equal(members, m.Machine.Node.Ring.MemberCount));
        return this;
    }

    /// <summary>Advances the clock by <paramref name="step"/> at a time, ticking every running member and pumping, for <paramref name="duration"/>.</summary>
    public void Run(TimeSpan duration, TimeSpan? step = null)
    {
        var end = Now + duration;
        while (Now < end)
        {
            Now += step ?? TimeSpan.FromMilliseconds(100);
            foreach (var member in Members.Where(m => m.Running))
            {
                member.Machine.Tick(Now, member);
            }

            Pump();
        }
    }

    /// <summary>Delivers queued messages and storage answers until none is left.</summary>
    public void Pump()
    {
        while (_queue.TryDequeue(out var action))
        {
            action();
        }
    }

    public void Enqueue(Action action) => _queue.Enqueue(action);

    internal sealed class Member(MachineHarness harness, string name, MemoryStore store) : INodeOutbox
    {
        public NodeId Id { get; } = new(name);

        public string Address { get; } = $"{name}:7380";

        public MemoryStore Store { get; } = store;

        public NodeMachine Machine { get; set; } = null!;

        public bool Running { get; set; } = true;

        public void Submit(ClientRequest request) => Machine.Submit(request, harness.Now, this);

        public void Send(string peerAddress, NodeId? node, ClusterMessage message)
        {
            var to = harness.Members.FirstOrDefault(m => m.Address == peerAddress);
            var buffer = new ArrayBufferWriter<byte>();
            MessageCodec.Encode(message, buffer);
            var bytes = buffer.WrittenSpan.ToArray();
            var kind = message.Kind;
            var machine = Machine;
            harness.Enqueue(() =>
            {
                if (to is null || !to.Running || !Running && machine == Machine)
                {
                    return;
                }

                Assert.True(MessageCodec.TryDecode(kind, bytes, out var decoded, out var error), error);
                if (harness.Filter is { } filter && !filter(Id, to.Id, decoded))
                {
                    return;
                }

                harness.Delivered.Add((Id, to.Id, decoded));
                to.Machine.Receive(Id, decoded, harness.Now, to);
            });
        }

        public void Reply(ulong clientRequestId, ClientReply reply)
        {
            Assert.True(harness.Replies.TryAdd(clientRequestId, reply), $"a second reply to request {clientRequestId}");
        }

        public void Done(StorageDone done)
        {
            var machine = Machine;
            harness.Enqueue(() =>
            {
                if (Running && machine == Machine)
                {
                    machine.OnStorage(done, harness.Now, this);
                }
            });
        }
    }

    /// <summary>A node's records in memory; every merge and update is applied whole, in submission order, and durable at once (sync always).</summary>
    internal sealed class MemoryStore(MachineHarness harness) : IReplicaStore
    {
        public Dictionary<string, ReplicaRecord> Records { get; } = new(StringComparer.Ordinal);

        /// <summary>Hints kept, by (target, key): the merged record and when the first was kept (Unix ms).</summary>
        public Dictionary<(string Target, string Key), (ReplicaRecord Record, long KeptAt)> Hints { get; } = [];

        public Member Owner => harness.Members.First(m => ReferenceEquals(m.Store, this));

        public void Submit(in StorageRequest request)
        {
            var key = System.Text.Encoding.UTF8.GetString(request.Key);
            StorageDone done;
            switch (request.Operation)
            {
                case StorageOperation.Read:
                    done = new StorageDone(request.Tag, ReplicaStatus.Ok, Records.GetValueOrDefault(key, ReplicaRecord.None));
                    break;
                case StorageOperation.Merge:
                    Assert.True(SiblingSet.TryDecode(request.Record.Set, out var delta, out _));
                    var merged = Records.TryGetValue(key, out var stored) && SiblingSet.TryDecode(stored.Set, out var old, out _) ? old.Merge(delta) : delta;
                    var buffer = new ArrayBufferWriter<byte>();
                    merged.Encode(buffer);
                    Records[key] = new ReplicaRecord(buffer.WrittenSpan.ToArray(), 0);
                    done = new StorageDone(request.Tag, ReplicaStatus.Ok);
                    break;
                case StorageOperation.Update:
                    if (!request.Update!.TryApply(Get(key) ?? SiblingSet.Empty, Records.TryGetValue(key, out var before) ? before.ExpiresAtUnixMs : 0, out var result, out var expiry, out var refused))
                    {
                        done = new StorageDone(request.Tag, ReplicaStatus.Error, Error: refused);
                        break;
                    }

                    var written = new ArrayBufferWriter<byte>();
                    result.Encode(written);
                    Records[key] = new ReplicaRecord(written.WrittenSpan.ToArray(), expiry);
                    done = new StorageDone(request.Tag, ReplicaStatus.Ok, Records[key]);
                    break;
                case StorageOperation.Scan:
                    // Every key of the range at once, in token order (the limit is a hint a store may exceed).
                    var (first, last) = (request.First, request.Last);
                    var entries = Records
                        .Select(r => (Key: System.Text.Encoding.UTF8.GetBytes(r.Key), r.Value))
                        .Select(e => (Token: Core.Hashing.Token.Of(e.Key).Value, e.Key, e.Value))
                        .Where(e => e.Token >= first && e.Token <= last)
                        .OrderBy(e => e.Token)
                        .Select(e => new ScanEntry(e.Key, e.Value))
                        .ToList();
                    done = new StorageDone(request.Tag, ReplicaStatus.Ok, Entries: entries, Complete: true);
                    break;
                case StorageOperation.Ingest:
                    // As the engine's store: what the store holds nothing of goes in as it came; the rest comes back to merge.
                    var back = new List<ScanEntry>();
                    foreach (var entry in request.Entries ?? [])
                    {
                        var entryKey = System.Text.Encoding.UTF8.GetString(entry.Key);
                        if (!Records.TryAdd(entryKey, entry.Record))
                        {
                            back.Add(entry);
                        }
                    }

                    done = new StorageDone(request.Tag, ReplicaStatus.Ok, Entries: back);
                    break;
                case StorageOperation.Hint:
                    var pair = (request.Target!.Value.Name, key);
                    var isNew = !Hints.TryGetValue(pair, out var hint);
                    Assert.True(SiblingSet.TryDecode(request.Record.Set, out var hinted, out _));
                    var hintSet = !isNew && SiblingSet.TryDecode(hint.Record.Set, out var kept, out _) ? kept.Merge(hinted) : hinted;
                    var hintBytes = new ArrayBufferWriter<byte>();
                    hintSet.Encode(hintBytes);
                    Hints[pair] = (new ReplicaRecord(hintBytes.WrittenSpan.ToArray(), 0), isNew ? (long)request.First : hint.KeptAt);
                    done = new StorageDone(request.Tag, ReplicaStatus.Ok, Keys: isNew ? 1 : 0);
                    break;
                case StorageOperation.HintedRead:
                    var own = Get(key);
                    var withHint = Hints.TryGetValue((request.Target!.Value.Name, key), out var h) && SiblingSet.TryDecode(h.Record.Set, out var hs, out _)
                        ? (own is null ? hs : own.Merge(hs)) : own;
                    var readBytes = new ArrayBufferWriter<byte>();
                    withHint?.Encode(readBytes);
                    done = new StorageDone(request.Tag, ReplicaStatus.Ok, withHint is null ? ReplicaRecord.None : new ReplicaRecord(readBytes.WrittenSpan.ToArray(), 0));
                    break;
                case StorageOperation.HintScan:
                    var target = request.Target!.Value.Name;
                    var (cutoff, from, limit) = ((long)request.Last, request.First, request.Limit);
                    var expired = Hints.Where(e => e.Key.Target == target && e.Value.KeptAt < cutoff).Select(e => e.Key).ToList();
                    expired.ForEach(e => Hints.Remove(e));
                    var page = limit == 0 ? [] : Hints.Where(e => e.Key.Target == target)
                        .Select(e => (Token: Core.Hashing.Token.Of(System.Text.Encoding.UTF8.GetBytes(e.Key.Key)).Value, e.Key.Key, e.Value.Record))
                        .Where(e => e.Token >= from).OrderBy(e => e.Token).Take(limit).ToList();
                    var more = limit > 0 && page.Count == limit;
                    done = new StorageDone(request.Tag, ReplicaStatus.Ok,
                        Entries: [.. page.Select(e => new ScanEntry(System.Text.Encoding.UTF8.GetBytes(e.Key), e.Record))],
                        Complete: !more, Next: more ? page[^1].Token + 1 : 0, Expires: expired.Count);
                    break;
                case StorageOperation.HintDelete:
                    var deletePair = (request.Target!.Value.Name, key);
                    var same = Hints.TryGetValue(deletePair, out var current) && current.Record.Set.AsSpan().SequenceEqual(request.Record.Set);
                    done = new StorageDone(request.Tag, ReplicaStatus.Ok, Keys: same && Hints.Remove(deletePair) ? 1 : 0);
                    break;
                case StorageOperation.HintCount:
                    done = new StorageDone(request.Tag, ReplicaStatus.Ok, HintCounts: [.. Hints.Keys.GroupBy(k => k.Target).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (new NodeId(g.Key), (long)g.Count()))]);
                    break;
                default:
                    done = new StorageDone(request.Tag, ReplicaStatus.Ok, Entries: [], Complete: true);
                    break;
            }

            var owner = Owner;
            owner.Done(done);
        }

        public SiblingSet? Get(string key) =>
            Records.TryGetValue(key, out var record) && SiblingSet.TryDecode(record.Set, out var set, out _) ? set : null;
    }
}
