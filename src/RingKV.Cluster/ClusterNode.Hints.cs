using System;
using System.Collections.Generic;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Hashing;

namespace RingKV.Cluster;

/// <summary>The hint work a storage answer finishes.</summary>
internal enum HintWork : byte
{
    /// <summary>Not hint work.</summary>
    None,

    /// <summary>A hint was kept (a stand-in's write, or this coordinator's for a DOWN replica).</summary>
    Stored,

    /// <summary>A page of hints to hand over (or a sweep of the expired ones).</summary>
    Scan,

    /// <summary>A handed-over hint deleted.</summary>
    Delete,

    /// <summary>The hints kept per target, at start.</summary>
    Count,

    /// <summary>A hint for this node itself merged into its own store (a hint kept while it counted itself DOWN, or by an earlier run).</summary>
    MergedHere,
}

/// <summary>A node's hinted-handoff figures, for INFO and status: hints pending per target and the totals so far.</summary>
/// <param name="PendingByTarget">Hints kept per target with any, in id order.</param>
/// <param name="Written">Hints kept since start (a write merged into a pending hint counts too).</param>
/// <param name="Delivered">Hints handed over to their replica and deleted.</param>
/// <param name="Dropped">Hints deleted unsent, older than the hint window (anti-entropy repairs what they held).</param>
internal sealed record HintFigures(IReadOnlyList<(NodeId Target, long Pending)> PendingByTarget, long Written, long Delivered, long Dropped)
{
    /// <summary>Hints pending over every target.</summary>
    public long Pending
    {
        get
        {
            long total = 0;
            foreach (var (_, pending) in PendingByTarget)
            {
                total += pending;
            }

            return total;
        }
    }
}

/// <summary>
/// Hinted handoff. A write for a DOWN replica is kept durably, as a hint naming that replica, by its stand-in (sloppy
/// quorum) or, when it has none, by the coordinator; a hint merges with earlier hints of the same key for the same
/// replica, so a key written many times while its replica was away is handed over once. Once gossip shows the replica
/// UP (and this node does not suspect it), the hints are read in pages and sent to it as plain replica writes, at most
/// <see cref="ClusterNodeSettings.HintRateBytesPerSecond"/> so a returning node is not flooded; each acknowledged hint
/// is deleted unless a newer write merged into it meanwhile (that one goes in a later page). Hints first kept more than
/// <see cref="ClusterNodeSettings.HintWindow"/> ago are deleted unsent and counted as dropped: anti-entropy repairs what
/// they held.
/// </summary>
/// <remarks>
/// The store keeps the hints (durable before the write is acknowledged: a kill -9 of the node keeps them); this state
/// machine keeps only counts and what is in flight, rebuilt at start from the store's count. Deterministic: targets are
/// visited in id order (a sorted dictionary), ids come from the request counter.
/// </remarks>
internal sealed partial class ClusterNode
{
    /// <summary>Hints read per page; the next page starts as soon as every hint of the last is acknowledged.</summary>
    private const int HintPage = 256;

    /// <summary>How long a handed-over hint waits for its acknowledgement before its target is tried again later.</summary>
    private static readonly TimeSpan HintRetry = TimeSpan.FromSeconds(1);

    /// <summary>How often hints for a target that is not UP are swept for the expired ones.</summary>
    private static readonly TimeSpan HintSweep = TimeSpan.FromSeconds(30);

    private readonly SortedDictionary<NodeId, HintQueue> _hintQueues = [];
    private readonly Dictionary<ulong, HintDelivery> _deliveries = [];
    private readonly DueQueue<ulong> _deliveryDeadlines = new();
    private bool _hintCountAsked;
    private ByteBudget _hintBudget;
    private double _hintAverageBytes = 128;
    private long _hintsWritten;
    private long _hintsDelivered;
    private long _hintsDropped;

    /// <summary>The hinted-handoff figures now.</summary>
    public HintFigures Hints
    {
        get
        {
            var pending = new List<(NodeId, long)>();
            foreach (var (target, queue) in _hintQueues)
            {
                if (queue.Pending > 0)
                {
                    pending.Add((target, queue.Pending));
                }
            }

            return new HintFigures(pending, _hintsWritten, _hintsDelivered, _hintsDropped);
        }
    }

    /// <summary>Keeps a hint of a write for <paramref name="target"/>, a DOWN replica without a stand-in; nothing waits for it.</summary>
    /// <remarks>A view that shows this node DOWN (gossip of an earlier run) would name it: then the write merges here, as its replica.</remarks>
    private void KeepHint(NodeId target, byte[] key, ReplicaRecord record, DateTimeOffset now)
    {
        if (target == Self)
        {
            SubmitStorage(new StorageRequest(0, StorageOperation.Merge, key, record), new StorageWait(null, 0, -1, MessageKind.ReplicaWrite));
            return;
        }

        SubmitStorage(
            new StorageRequest(0, StorageOperation.Hint, key, record, First: HintTime(now), Target: target),
            new StorageWait(null, 0, -1, MessageKind.ReplicaWrite) { Hint = HintWork.Stored, HintFor = target });
    }

    /// <summary>When a hint is kept, as its storage request carries it (<see cref="StorageRequest.First"/>, Unix ms): the hint window counts from there.</summary>
    private static ulong HintTime(DateTimeOffset now) => (ulong)Math.Max(0, now.ToUnixTimeMilliseconds());

    private HintQueue QueueOf(NodeId target)
    {
        if (!_hintQueues.TryGetValue(target, out var queue))
        {
            queue = new HintQueue();
            _hintQueues[target] = queue;
        }

        return queue;
    }

    /// <summary>
    /// Counts a hint storage answer; true when a peer's request or a coordinated request also waits for it (the caller
    /// then answers that as usual).
    /// </summary>
    private bool OnHintStorage(StorageWait wait, in StorageDone done, DateTimeOffset now, IOutbox outbox)
    {
        switch (wait.Hint)
        {
            case HintWork.Stored when done.Status == ReplicaStatus.Ok:
                _hintsWritten++;
                QueueOf(wait.HintFor!.Value).Pending += done.Keys;
                break;
            case HintWork.Count when done.Status == ReplicaStatus.Ok:
                foreach (var (target, count) in done.HintCounts ?? [])
                {
                    QueueOf(target).Pending += count;
                }

                break;
            case HintWork.Count:
                _hintCountAsked = false; // ask again on the next tick
                break;
            case HintWork.Scan:
                OnHintPage(wait, done, now, outbox);
                break;
            case HintWork.MergedHere:
                HintAcknowledged(wait.RequestId, done.Status == ReplicaStatus.Ok, now);
                break;
            case HintWork.Delete:
                if (done.Status == ReplicaStatus.Ok && done.Keys > 0)
                {
                    var queue = QueueOf(wait.HintFor!.Value);
                    queue.Pending = Math.Max(0, queue.Pending - 1);
                    _hintsDelivered++;
                }

                break;
        }

        return wait.Hint == HintWork.Stored && (wait.Peer is not null || wait.ReplicaIndex >= 0);
    }

    /// <summary>Starts hand-overs to targets that are UP, sweeps expired hints of the others, forgets hand-overs not acknowledged in time.</summary>
    private void TickHints(DateTimeOffset now, IOutbox outbox)
    {
        if (!_hintCountAsked)
        {
            _hintCountAsked = true;
            SubmitStorage(new StorageRequest(0, StorageOperation.HintCount, [], default), new StorageWait(null, 0, -1, MessageKind.ReplicaWrite) { Hint = HintWork.Count });
        }

        var ticks = now.UtcTicks;
        while (_deliveryDeadlines.TryTakeDue(ticks, out var id))
        {
            if (_deliveries.Remove(id, out var late))
            {
                var queue = QueueOf(late.Target);
                queue.InFlight--;
                queue.RetryAtTicks = (now + HintRetry).UtcTicks;
            }
        }

        var rate = _settings.HintRateBytesPerSecond;

        // A replica that comes back after a long absence gets the rate from its first second; a page is started while the
        // budget is above zero and spends what it sends, so the overdraft is at most one page.
        _hintBudget.Refill(rate, ticks);

        var cutoff = (now - _settings.HintWindow).ToUnixTimeMilliseconds();
        foreach (var (target, queue) in _hintQueues)
        {
            if (queue.Pending <= 0 || queue.Scanning || queue.InFlight > 0 || ticks < queue.RetryAtTicks)
            {
                continue;
            }

            var deliverable = target == Self || Redirected(target) || (_ring.TryGetMember(target, out _) && IsAlive(target) && !IsSuspected(target));
            if (!deliverable)
            {
                if (ticks >= queue.SweepAtTicks)
                {
                    // Limit 0: only the expired hints are deleted, none is read out.
                    queue.SweepAtTicks = (now + HintSweep).UtcTicks;
                    queue.Scanning = true;
                    SubmitStorage(
                        new StorageRequest(0, StorageOperation.HintScan, [], default, First: 0, Last: (ulong)Math.Max(0, cutoff), Limit: 0, Target: target),
                        new StorageWait(null, 0, 0, MessageKind.ReplicaWrite) { Hint = HintWork.Scan, HintFor = target });
                }

                continue;
            }

            if (rate > 0 && _hintBudget.Available <= 0)
            {
                break;
            }

            StartHintPage(target, queue, now);
        }
    }

    /// <summary>Reads the next page of <paramref name="target"/>'s hints to hand over.</summary>
    /// <remarks>Throttled, a page holds about as many hints as the budget pays for at their average size so far, so the rate is overdrawn by a hint or two, not a page.</remarks>
    private void StartHintPage(NodeId target, HintQueue queue, DateTimeOffset now)
    {
        queue.Scanning = true;
        var cutoff = (now - _settings.HintWindow).ToUnixTimeMilliseconds();
        var limit = _settings.HintRateBytesPerSecond <= 0 ? HintPage : (int)Math.Clamp(_hintBudget.Available / _hintAverageBytes, 1, HintPage);
        SubmitStorage(
            new StorageRequest(0, StorageOperation.HintScan, [], default, First: queue.Cursor, Last: (ulong)Math.Max(0, cutoff), Limit: limit, Target: target),
            new StorageWait(null, queue.Cursor, 1, MessageKind.ReplicaWrite) { Hint = HintWork.Scan, HintFor = target });
    }

    /// <summary>
    /// A hand-over ended: once the page is all acknowledged, the next starts at once (not at the next tick: a page per
    /// 100 ms tick was 640 hints a second) while hints are left, the target is still UP and the rate allows.
    /// </summary>
    private void ContinueHandOver(NodeId target, HintQueue queue, DateTimeOffset now)
    {
        if (queue.InFlight == 0 && !queue.Scanning && queue.Pending > 0 && now.UtcTicks >= queue.RetryAtTicks
            && (_settings.HintRateBytesPerSecond <= 0 || _hintBudget.Available > 0)
            && (target == Self || Redirected(target) || (IsAlive(target) && !IsSuspected(target))))
        {
            StartHintPage(target, queue, now);
        }
    }

    /// <summary>A page of hints read: each is sent to its target; the expired ones the store deleted are counted dropped.</summary>
    /// <remarks>The wait's RequestId is the page's first token and its ReplicaIndex 1 for a hand-over page, 0 for a sweep (no request waits on either).</remarks>
    private void OnHintPage(StorageWait wait, in StorageDone done, DateTimeOffset now, IOutbox outbox)
    {
        var target = wait.HintFor!.Value;
        var queue = QueueOf(target);
        queue.Scanning = false;
        if (done.Status != ReplicaStatus.Ok)
        {
            queue.RetryAtTicks = (now + HintRetry).UtcTicks;
            return;
        }

        _hintsDropped += done.Expires;
        queue.Pending = Math.Max(0, queue.Pending - done.Expires);
        var entries = done.Entries ?? [];
        if (wait.ReplicaIndex == 0)
        {
            return; // a sweep
        }

        // A page that read every hint of the target from the first token counts them exactly (start-up counts can be off
        // by hints kept while the count ran).
        if (done.Complete && wait.RequestId == 0)
        {
            queue.Pending = entries.Count;
        }

        queue.Cursor = done.Complete ? 0 : done.Next;
        var deadline = (now + _settings.RequestTimeout).UtcTicks;
        var redirected = Redirected(target);
        foreach (var entry in entries)
        {
            // A hint for a node that left (removed, or replaced) goes to the key's live replicas on the current ring instead:
            // the write it holds may be on fewer than the level's replicas otherwise (it counted for a sloppy level), and
            // merging it where the key is already held changes nothing.
            NodeId[] to = redirected ? LiveReplicasOf(entry.Key) : [target];
            if (to.Length == 0)
            {
                queue.RetryAtTicks = (now + HintRetry).UtcTicks; // none UP: the hint stays for the next page
                continue;
            }

            var id = NewRequestId();
            _deliveries[id] = new HintDelivery(target, entry.Key, entry.Record, to, to.Length);
            _deliveryDeadlines.Add(id, deadline);
            queue.InFlight++;
            var bytes = entry.Key.Length + entry.Record.Set.Length + 16;
            _hintBudget.Spend(bytes);
            _hintAverageBytes += (bytes - _hintAverageBytes) / 16; // a moving average, for the next page's size
            foreach (var node in to)
            {
                if (node == Self)
                {
                    SubmitStorage(new StorageRequest(0, StorageOperation.Merge, entry.Key, entry.Record), new StorageWait(null, id, -1, MessageKind.ReplicaWrite) { Hint = HintWork.MergedHere });
                }
                else
                {
                    outbox.Send(node, new ReplicaWriteRequest(id, entry.Key, entry.Record));
                }
            }
        }
    }

    /// <summary>Whether hints for <paramref name="target"/> go to each key's current replicas: it left the cluster (and the ring).</summary>
    private bool Redirected(NodeId target) => target != Self && _left.Contains(target) && !_ring.TryGetMember(target, out _);

    /// <summary>The key's natural replicas on the current ring that are UP.</summary>
    private NodeId[] LiveReplicasOf(byte[] key)
    {
        var replicas = _placement.For(Token.Of(key));
        var live = new List<NodeId>(replicas.Length);
        foreach (var node in replicas)
        {
            if (node == Self || (IsAlive(node) && !IsSuspected(node)))
            {
                live.Add(node);
            }
        }

        return [.. live];
    }

    /// <summary>
    /// One recipient of a handed-over hint acknowledged it (or failed): once every recipient did, the hint is deleted if it
    /// did not change meanwhile; a failure leaves it for a later page.
    /// </summary>
    private void HintAcknowledged(ulong id, bool ok, DateTimeOffset now)
    {
        if (!_deliveries.TryGetValue(id, out var delivery))
        {
            return;
        }

        var queue = QueueOf(delivery.Target);
        if (!ok)
        {
            _deliveries.Remove(id);
            queue.InFlight--;
            queue.RetryAtTicks = (now + HintRetry).UtcTicks;
            return;
        }

        if (delivery.Waiting > 1)
        {
            _deliveries[id] = delivery with { Waiting = delivery.Waiting - 1 };
            return;
        }

        _deliveries.Remove(id);
        queue.InFlight--;
        SubmitStorage(
            new StorageRequest(0, StorageOperation.HintDelete, delivery.Key, delivery.Record, Target: delivery.Target),
            new StorageWait(null, 0, -1, MessageKind.ReplicaWrite) { Hint = HintWork.Delete, HintFor = delivery.Target });
        ContinueHandOver(delivery.Target, queue, now);
    }

    /// <summary>A replica acknowledged a handed-over hint (true: the reply was one).</summary>
    private bool OnHintDelivered(NodeId from, ReplicaWriteReply reply, DateTimeOffset now)
    {
        if (!_deliveries.TryGetValue(reply.RequestId, out var delivery) || Array.IndexOf(delivery.To, from) < 0)
        {
            return false;
        }

        HintAcknowledged(reply.RequestId, reply.Status == ReplicaStatus.Ok, now);
        return true;
    }

    /// <summary>A hint for <paramref name="Target"/> sent to <paramref name="To"/> (the target, or the key's replicas when it left), <paramref name="Waiting"/> acknowledgements still to come.</summary>
    private readonly record struct HintDelivery(NodeId Target, byte[] Key, ReplicaRecord Record, NodeId[] To, int Waiting);

    /// <summary>The hints this node keeps for one target: how many, where the next page starts, what is in flight.</summary>
    private sealed class HintQueue
    {
        public long Pending { get; set; }

        public ulong Cursor { get; set; }

        public bool Scanning { get; set; }

        public int InFlight { get; set; }

        public long RetryAtTicks { get; set; }

        public long SweepAtTicks { get; set; }
    }
}
