using System;
using System.Buffers;
using System.Collections.Generic;
using RingKV.Cluster.AntiEntropy;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Hashing;

namespace RingKV.Cluster;

/// <summary>
/// Anti-entropy: a pass compares this node's records of every vnode range it replicates with each other live replica's,
/// through Merkle trees, and exchanges only the records of the leaves that differ, both ways, each side merging what it
/// receives (StorageOperation.Merge: versions merge, no sibling is lost).
/// </summary>
/// <remarks>
/// <para>
/// Trees are rebuilt from the store's token-range scans when a pass reaches a range, not kept and updated as writes
/// arrive. Why: the write path pays nothing (no hash update per write, no tree locked or dirtied), and there is no tree
/// state to keep durable or consistent with the data across crashes (a tree updated in memory is wrong after a restart
/// until rebuilt, one on disk must commit atomically with the writes). The cost is one scan of the range per pass on
/// each side, and memory for the trees of the ranges in flight (about 2 hashes per 4 records; the initiator keeps
/// 16 bytes per record of a range until its tree is built). Trees hash the records exactly as stored: tombstones are
/// sibling-set records like any other, so a delete travels like a write.
/// </para>
/// <para>
/// The protocol, per session (this node, the initiator, with one peer, over up to RepairRangesPerExchange consecutive
/// ranges, non-wrapping pieces of vnode ranges): (1) the initiator scans each range into (token, record hash) pairs and
/// sends the ranges with its key counts (AntiEntropyRoots); the peer scans them too, builds each tree at a depth chosen
/// from both counts (MerkleTree.DepthFor), keeps them for the session and answers the roots; (2) for each range whose
/// roots differ, the initiator builds its tree at that depth and descends: it asks the hashes 4 levels below the
/// differing nodes (AntiEntropyDescend), all ranges in one message, and keeps the differing ones (MerkleTree.TryDescend),
/// until it reaches the leaves (when more than half of a level differs it takes all the leaves below at once);
/// (3) for each batch of differing leaves it scans its records of their token slices and sends them (AntiEntropyPush);
/// the peer scans its own, merges the initiator's that differ, and only then answers with the count of differing keys
/// and its own differing records, which the initiator merges before the next step. Neither side trusts the other's
/// record to replace its own: both merge, so after the session both hold the merge of the two.
/// </para>
/// <para>
/// Throttle and priority: one session in flight at a time per pass; every message sent or received by the pass is
/// charged to a token bucket of RepairRateBytesPerSecond (refilled from <c>now</c>), and the next request waits in Tick
/// while the bucket is negative. Deadlines: each step (a local scan, a request to the peer) has RepairTimeout; a
/// session past it counts its ranges failed for the pass and the pass goes on. A peer's session is forgotten 2 ×
/// RepairTimeout after its last request. Determinism: ranges in ring order, peers in id order, records by token then
/// key; no decision iterates a hash container.
/// </para>
/// <para>
/// NOTE: the production store's scans (and its merges' reads) hide records past their expiry, judged by each node's
/// clock, so trees cover live and tombstone records but not expired ones. Two consequences: a record within clock skew
/// of its expiry can differ for one pass; and a replica that missed a newer write with an expiry, once that write has
/// expired elsewhere, is not told of it and can hand its older value back (the store's merge path has the same gap for
/// a late replica write). Closing it needs scans and merge reads that see expired records as stored.
/// </para>
/// </remarks>
internal sealed partial class ClusterNode
{
    private const int RepairScanPage = 1024;
    private const int DescendLevels = 4;
    private const int MaxPushBytes = 256 * 1024;
    private const int MaxPushLeaves = 256;
    private const int MaxSessionRanges = 64;
    private const long MinRepairBurstBytes = 64 * 1024;

    private readonly Dictionary<NodeId, ServedSession> _served = [];
    private readonly Dictionary<ulong, AntiEntropyWait> _antiEntropyWaits = [];
    private readonly MessageSizer _sizer = new();
    private RepairPass? _repair;
    private RepairPassFigures? _lastPass;
    private long _passIds;
    private DateTimeOffset? _nextPassAt;
    private double _repairBucket = double.NaN;
    private DateTimeOffset _repairBucketAt;
    private long _totalKeysRepaired, _totalKeysSent, _totalKeysReceived, _totalBytesSent, _totalBytesReceived, _totalRangesFailed, _sessionsServed;

    /// <summary>Anti-entropy figures: the running pass, the last one, cumulative counters (a snapshot).</summary>
    public AntiEntropyFigures RepairFigures => new(
        _repair?.Snapshot(null), _lastPass, _passIds - (_repair is null ? 0 : 1), _nextPassAt,
        _totalKeysRepaired, _totalKeysSent, _totalKeysReceived, _totalBytesSent, _totalBytesReceived, _totalRangesFailed, _sessionsServed);

    /// <summary>Where the running pass's session is, for logs and failure messages.</summary>
    public string RepairState => _repair?.Current is { } x
        ? $"session {x.Id} with {x.Peer}: {x.Phase}, awaiting {x.AwaitingId}, blocked {x.Blocked is not null}, deadline {x.Deadline:HH:mm:ss.fff}, queued {_repair.Queue.Count}, next range {_repair.NextRange}"
        : _repair is null ? "idle" : $"between sessions, queued {_repair.Queue.Count}";

    /// <summary>Starts a full anti-entropy pass now; false (and why) when one is running or the node has no ring yet.</summary>
    public bool TryStartRepair(DateTimeOffset now, IOutbox outbox, out string error)
    {
        if (_repair is { } running)
        {
            error = $"a repair pass is running ({running.Done} of {running.Ranges.Length} ranges done)";
            return false;
        }

        if (_ring.IsEmpty)
        {
            error = "the node has not joined a ring yet";
            return false;
        }

        StartPass(now, outbox);
        error = "";
        return true;
    }

    private void TickAntiEntropy(DateTimeOffset now, IOutbox outbox)
    {
        var interval = _settings.RepairInterval;
        if (interval > TimeSpan.Zero)
        {
            _nextPassAt ??= now + interval;
            if (_repair is null && now >= _nextPassAt && !_ring.IsEmpty)
            {
                StartPass(now, outbox);
            }
        }

        if (_repair?.Current is { } exchange)
        {
            if (exchange.Blocked is { } blocked)
            {
                SendExchange(exchange, blocked, now, outbox);
            }
            else if (now > exchange.Deadline)
            {
                FailExchange(exchange, $"{exchange.Phase} with {exchange.Peer} passed its deadline ({_settings.RepairTimeout})", now, outbox);
            }
        }

        if (_served.Count > 0)
        {
            List<NodeId>? expired = null;
            foreach (var (peer, session) in _served)
            {
                if (now > session.ExpiresAt)
                {
                    (expired ??= []).Add(peer);
                }
            }

            foreach (var peer in expired ?? [])
            {
                _served.Remove(peer);
            }
        }
    }

    private void HandleAntiEntropy(NodeId from, ClusterMessage message, DateTimeOffset now, IOutbox outbox)
    {
        switch (message)
        {
            case AntiEntropyRootsRequest m:
                ServeRoots(from, m, now, outbox);
                break;
            case AntiEntropyDescendRequest m:
                ServeDescend(from, m, now, outbox);
                break;
            case AntiEntropyPushRequest m:
                ServePush(from, m, now, outbox);
                break;
            default:
                OnExchangeReply(from, message, now, outbox);
                break;
        }
    }

    private bool TryAntiEntropyStorage(in StorageDone done, DateTimeOffset now, IOutbox outbox)
    {
        if (!_antiEntropyWaits.Remove(done.Tag, out var wait))
        {
            return false;
        }

        switch (wait.Owner)
        {
            case Exchange x when _repair?.Current == x:
                OnExchangeStorage(x, wait.Kind, done, now, outbox);
                break;
            case ServedSession s when _served.TryGetValue(s.Peer, out var current) && current == s:
                OnServedScan(s, done, now, outbox);
                break;
            case ServedPush p:
                OnServedPushStorage(p, wait.Kind, done, outbox);
                break;
            default:
                break; // its exchange or session ended
        }

        return true;
    }

    private void SubmitAntiEntropy(StorageRequest request, AntiEntropyWait wait)
    {
        var tag = _nextTag++;
        _antiEntropyWaits[tag] = wait;
        _store.Submit(request with { Tag = tag });
    }

    private static StorageRequest ScanOf(ulong first, ulong last) => new(0, StorageOperation.Scan, [], default, first, last, RepairScanPage);

    // ---- The pass (this node initiates) ----

    private void StartPass(DateTimeOffset now, IOutbox outbox)
    {
        var ranges = new List<RangeState>();
        for (var vnode = 0; vnode < _ring.VnodeCount; vnode++)
        {
            var replicas = _placement.ForVnode(vnode);
            if (replicas.IndexOf(Self) < 0)
            {
                continue;
            }

            var peers = new List<NodeId>();
            foreach (var replica in replicas)
            {
                if (replica != Self && !peers.Contains(replica))
                {
                    peers.Add(replica);
                }
            }

            peers.Sort();
            var start = _ring.PreviousToken(vnode);
            var end = _ring.TokenAt(vnode);
            var (first, second) = TokenRange.FromRing(start, end);
            var pieces = second is { } s ? new[] { first, s } : new[] { first };
            ranges.Add(new RangeState(start.Value, end.Value, pieces, [.. peers]));
        }

        _repair = new RepairPass(++_passIds, now, [.. ranges]);
        AdvancePass(now, outbox);
    }

    /// <summary>Starts the next session of the pass, queuing the next window of ranges when none is queued; ends the pass when none is left.</summary>
    private void AdvancePass(DateTimeOffset now, IOutbox outbox)
    {
        var pass = _repair!;
        while (pass.Current is null)
        {
            if (pass.Queue.Count == 0)
            {
                if (pass.NextRange >= pass.Ranges.Length)
                {
                    EndPass(now);
                    return;
                }

                QueueWindow(pass);
                continue;
            }

            var exchange = pass.Queue.Dequeue();
            pass.Current = exchange;
            exchange.Phase = ExchangePhase.Scanning;
            exchange.Deadline = now + _settings.RepairTimeout;
            SubmitAntiEntropy(ScanOf(exchange.Pieces[0].First, exchange.Pieces[0].Last), new AntiEntropyWait(WaitKind.Scan, exchange));
        }
    }

    /// <summary>Queues one session per live peer over the next window of ranges, peers in id order; a DOWN peer's ranges fail at once.</summary>
    private void QueueWindow(RepairPass pass)
    {
        var end = Math.Min(pass.Ranges.Length, pass.NextRange + Math.Max(1, _settings.RepairRangesPerExchange));
        var byPeer = new List<Exchange>();
        for (var i = pass.NextRange; i < end; i++)
        {
            var range = pass.Ranges[i];
            foreach (var peer in range.Peers)
            {
                if (!IsAlive(peer))
                {
                    pass.Fail(i, $"{peer} is DOWN");
                    continue;
                }

                var exchange = byPeer.Find(x => x.Peer == peer);
                if (exchange is null)
                {
                    exchange = new Exchange(NewRequestId(), peer);
                    byPeer.Add(exchange);
                }

                exchange.AddRange(i, range.Pieces);
            }

            pass.EndIfDone(i);
        }

        pass.NextRange = end;
        byPeer.Sort((a, b) => a.Peer.CompareTo(b.Peer));
        foreach (var exchange in byPeer)
        {
            pass.Queue.Enqueue(exchange);
        }
    }

    private void EndPass(DateTimeOffset now)
    {
        var pass = _repair!;
        _lastPass = pass.Snapshot(now);
        _totalRangesFailed += pass.FailedRanges;
        _repair = null;
        if (_settings.RepairInterval > TimeSpan.Zero)
        {
            _nextPassAt = now + _settings.RepairInterval;
        }
    }

    /// <summary>Sends a request of the current session, or holds it until the byte budget allows (Tick retries).</summary>
    private void SendExchange(Exchange x, ClusterMessage message, DateTimeOffset now, IOutbox outbox)
    {
        var size = _sizer.Measure(message);
        if (!TryTakeRepairBudget(size, now))
        {
            x.Blocked = message;
            return;
        }

        x.Blocked = null;
        x.AwaitingId = message.RequestId;
        x.Deadline = now + _settings.RepairTimeout;
        _repair!.BytesSent += size;
        _totalBytesSent += size;
        outbox.Send(x.Peer, message);
    }

    /// <summary>Takes <paramref name="bytes"/> from the bucket; false while it is negative (a message may take it below zero, the next waits).</summary>
    private bool TryTakeRepairBudget(long bytes, DateTimeOffset now)
    {
        var rate = _settings.RepairRateBytesPerSecond;
        if (rate <= 0)
        {
            return true;
        }

        var burst = Math.Max(rate, MinRepairBurstBytes);
        if (double.IsNaN(_repairBucket))
        {
            _repairBucket = burst;
        }
        else if (now > _repairBucketAt)
        {
            _repairBucket = Math.Min(burst, _repairBucket + (rate * (now - _repairBucketAt).TotalSeconds));
        }

        _repairBucketAt = now > _repairBucketAt ? now : _repairBucketAt;
        if (_repairBucket < 0)
        {
            return false;
        }

        _repairBucket -= bytes;
        return true;
    }

    private void OnExchangeReply(NodeId from, ClusterMessage message, DateTimeOffset now, IOutbox outbox)
    {
        if (_repair?.Current is not { } x || from != x.Peer || message.RequestId != x.AwaitingId || x.Blocked is not null)
        {
            return; // late, duplicated, or not ours
        }

        x.AwaitingId = 0;
        var size = _sizer.Measure(message);
        _repair.BytesReceived += size;
        _totalBytesReceived += size;
        if (!double.IsNaN(_repairBucket) && _settings.RepairRateBytesPerSecond > 0)
        {
            _repairBucket -= size;
        }

        switch (message)
        {
            case AntiEntropyRootsReply m when x.Phase == ExchangePhase.Roots:
                OnRoots(x, m, now, outbox);
                break;
            case AntiEntropyDescendReply m when x.Phase == ExchangePhase.Descend:
                OnDescend(x, m, now, outbox);
                break;
            case AntiEntropyPushReply m when x.Phase == ExchangePhase.Push:
                OnPushReply(x, m, now, outbox);
                break;
            default:
                FailExchange(x, $"{from} answered {message.Kind} during {x.Phase}", now, outbox);
                break;
        }
    }

    private void OnExchangeStorage(Exchange x, WaitKind kind, in StorageDone done, DateTimeOffset now, IOutbox outbox)
    {
        if (done.Status != ReplicaStatus.Ok)
        {
            FailExchange(x, $"the local store failed: {done.Error}", now, outbox);
            return;
        }

        x.Deadline = now + _settings.RepairTimeout;
        switch (kind)
        {
            case WaitKind.Scan:
                OnRangeScan(x, done, now, outbox);
                break;
            case WaitKind.LeafScan:
                OnLeafScan(x, done, now, outbox);
                break;
            default: // WaitKind.Merge
                if (--x.PendingMerges == 0)
                {
                    x.NextPush++;
                    SendNextPush(x, now, outbox);
                }

                break;
        }
    }

    /// <summary>A page of the range scan: hashed into the piece's pairs; the next page, the next piece, or the roots request.</summary>
    private void OnRangeScan(Exchange x, in StorageDone done, DateTimeOffset now, IOutbox outbox)
    {
        var piece = x.Pieces[x.Scanning];
        var pairs = x.Pairs[x.Scanning];
        foreach (var entry in done.Entries ?? [])
        {
            pairs.Add((Token.Of(entry.Key).Value, MerkleTree.EntryHash(entry.Key, entry.Record.Set, entry.Record.ExpiresAtUnixMs)));
        }

        if (!done.Complete)
        {
            SubmitAntiEntropy(ScanOf(done.Next, piece.Last), new AntiEntropyWait(WaitKind.Scan, x));
            return;
        }

        if (++x.Scanning < x.Pieces.Count)
        {
            var next = x.Pieces[x.Scanning];
            SubmitAntiEntropy(ScanOf(next.First, next.Last), new AntiEntropyWait(WaitKind.Scan, x));
            return;
        }

        var ranges = new AntiEntropyRange[x.Pieces.Count];
        for (var i = 0; i < ranges.Length; i++)
        {
            ranges[i] = new AntiEntropyRange(x.Pieces[i].First, x.Pieces[i].Last, x.Pairs[i].Count);
        }

        x.Phase = ExchangePhase.Roots;
        SendExchange(x, new AntiEntropyRootsRequest(x.Id, ranges), now, outbox);
    }

    private void OnRoots(Exchange x, AntiEntropyRootsReply reply, DateTimeOffset now, IOutbox outbox)
    {
        if (reply.Status != ReplicaStatus.Ok || reply.Roots.Count != x.Pieces.Count)
        {
            FailExchange(x, $"{x.Peer} answered the roots with {reply.Status} {reply.Error} ({reply.Roots.Count} of {x.Pieces.Count} roots)", now, outbox);
            return;
        }

        for (var i = 0; i < x.Pieces.Count; i++)
        {
            var root = reply.Roots[i];
            var tree = MerkleTree.Build(x.Pieces[i].First, x.Pieces[i].Last, root.Depth, x.Pairs[i]);
            x.Pairs[i] = []; // the tree holds what the descent needs
            x.Trees[i] = tree;
            if (tree.Root == root.Hash)
            {
                continue;
            }

            x.Differed[i] = true;
            if (tree.Depth == 0)
            {
                x.Leaves[i] = [0];
            }
            else
            {
                x.Frontier[i] = (0, [0]);
            }
        }

        ContinueDescent(x, now, outbox);
    }

    /// <summary>Asks the hashes below every range's differing nodes in one request; on to the pushes once every range reached its leaves.</summary>
    private void ContinueDescent(Exchange x, DateTimeOffset now, IOutbox outbox)
    {
        var steps = new List<AntiEntropyDescent>();
        for (var i = 0; i < x.Pieces.Count; i++)
        {
            if (x.Frontier[i] is not { } frontier)
            {
                continue;
            }

            var tree = x.Trees[i]!;
            var (level, nodes) = frontier;
            var levelsDown = Math.Min(DescendLevels, tree.Depth - level);
            if (level > 0 && nodes.Count * 2 > 1 << level && (tree.Count >> level) * 32 < 8 << levelsDown)
            {
                // Most of the level differs and each node holds fewer records than the hashes below it would take (a
                // record is 32 bytes at least, a hash 8): the records are the cheaper way down. Higher up, a spread
                // difference makes every node differ while each holds many records (1 % of 1,000,000 keys differing
                // sent every record when this looked at the first rule alone): descend.
                var below = tree.Depth - level;
                var leaves = new List<int>(nodes.Count << below);
                foreach (var node in nodes)
                {
                    for (var leaf = node << below; leaf < (node + 1) << below; leaf++)
                    {
                        leaves.Add(leaf);
                    }
                }

                x.Leaves[i] = leaves;
                x.Frontier[i] = null;
                continue;
            }

            steps.Add(new AntiEntropyDescent(i, level, levelsDown, nodes));
        }

        if (steps.Count == 0)
        {
            StartLeafScans(x, now, outbox);
            return;
        }

        x.Phase = ExchangePhase.Descend;
        x.Steps = steps;
        SendExchange(x, new AntiEntropyDescendRequest(NewRequestId(), x.Id, steps), now, outbox);
    }

    private void OnDescend(Exchange x, AntiEntropyDescendReply reply, DateTimeOffset now, IOutbox outbox)
    {
        if (reply.Status != ReplicaStatus.Ok)
        {
            FailExchange(x, $"{x.Peer} answered the descent with {reply.Status} {reply.Error}", now, outbox);
            return;
        }

        var hashes = reply.Hashes is ulong[] array ? array : [.. reply.Hashes];
        var offset = 0;
        foreach (var step in x.Steps)
        {
            var count = step.Nodes.Count << step.LevelsDown;
            var tree = x.Trees[step.Range]!;
            if (offset + count > hashes.Length
                || !tree.TryDescend(step.Level, step.Nodes, step.LevelsDown, hashes.AsSpan(offset, count), out var differing))
            {
                FailExchange(x, $"{x.Peer} answered the descent with {hashes.Length} hashes, not what {x.Steps.Count} steps need", now, outbox);
                return;
            }

            offset += count;
            var level = step.Level + step.LevelsDown;
            if (level == tree.Depth)
            {
                x.Leaves[step.Range] = differing;
                x.Frontier[step.Range] = null;
            }
            else
            {
                x.Frontier[step.Range] = differing.Count == 0 ? null : (level, differing);
            }
        }

        ContinueDescent(x, now, outbox);
    }

    /// <summary>Scans this node's records of the differing leaves' token slices, runs of adjacent leaves one scan each.</summary>
    private void StartLeafScans(Exchange x, DateTimeOffset now, IOutbox outbox)
    {
        x.Phase = ExchangePhase.LeafScan;
        for (var i = 0; i < x.Pieces.Count; i++)
        {
            if (x.Leaves[i] is not { Count: > 0 } leaves)
            {
                continue;
            }

            foreach (var (first, last) in TokenRuns(x.Trees[i]!, leaves))
            {
                x.LeafScans.Enqueue((i, first, last));
            }
        }

        NextLeafScan(x, now, outbox);
    }

    /// <summary>The token ranges of runs of adjacent leaves (ascending), leaves with empty slices skipped.</summary>
    private static List<(ulong First, ulong Last)> TokenRuns(MerkleTree tree, List<int> leaves)
    {
        var runs = new List<(ulong, ulong)>();
        for (var at = 0; at < leaves.Count;)
        {
            var end = at;
            while (end + 1 < leaves.Count && leaves[end + 1] == leaves[end] + 1)
            {
                end++;
            }

            // A run's first non-empty slice starts it and its last non-empty one ends it.
            ulong? first = null;
            ulong last = 0;
            for (var leaf = leaves[at]; leaf <= leaves[end]; leaf++)
            {
                if (tree.TryGetLeafRange(leaf, out var lo, out var hi))
                {
                    first ??= lo;
                    last = hi;
                }
            }

            if (first is { } f)
            {
                runs.Add((f, last));
            }

            at = end + 1;
        }

        return runs;
    }

    private void NextLeafScan(Exchange x, DateTimeOffset now, IOutbox outbox)
    {
        if (x.LeafScans.TryPeek(out var scan))
        {
            SubmitAntiEntropy(ScanOf(scan.First, scan.Last), new AntiEntropyWait(WaitKind.LeafScan, x));
            return;
        }

        BuildPushes(x);
        SendNextPush(x, now, outbox);
    }

    private void OnLeafScan(Exchange x, in StorageDone done, DateTimeOffset now, IOutbox outbox)
    {
        var (piece, _, last) = x.LeafScans.Peek();
        var entries = x.LeafEntries[piece] ??= [];
        foreach (var entry in done.Entries ?? [])
        {
            entries.Add(entry);
        }

        if (!done.Complete)
        {
            x.LeafScans.Dequeue();
            var rest = new Queue<(int, ulong, ulong)>();
            rest.Enqueue((piece, done.Next, last));
            while (x.LeafScans.TryDequeue(out var more))
            {
                rest.Enqueue(more);
            }

            x.LeafScans = rest;
        }
        else
        {
            x.LeafScans.Dequeue();
        }

        NextLeafScan(x, now, outbox);
    }

    /// <summary>Splits each range's differing leaves and this node's records of them into pushes of at most MaxPushLeaves leaves or about MaxPushBytes.</summary>
    private static void BuildPushes(Exchange x)
    {
        for (var i = 0; i < x.Pieces.Count; i++)
        {
            if (x.Leaves[i] is not { Count: > 0 } leaves)
            {
                continue;
            }

            var tree = x.Trees[i]!;
            var entries = x.LeafEntries[i] ?? [];
            var e = 0;
            var push = new Push(i);
            foreach (var leaf in leaves)
            {
                // Entries are in token order, and so are the leaves: this leaf's entries are next, if any.
                while (e < entries.Count && tree.LeafOf(Token.Of(entries[e].Key).Value) < leaf)
                {
                    e++; // not in a differing leaf (cannot happen: the scans covered only those leaves)
                }

                while (e < entries.Count && tree.LeafOf(Token.Of(entries[e].Key).Value) == leaf)
                {
                    push.Entries.Add(entries[e]);
                    push.Bytes += entries[e].Key.Length + entries[e].Record.Set.Length + 16;
                    e++;
                }

                push.Leaves.Add(leaf);
                if (push.Leaves.Count >= MaxPushLeaves || push.Bytes >= MaxPushBytes)
                {
                    x.Pushes.Add(push);
                    push = new Push(i);
                }
            }

            if (push.Leaves.Count > 0)
            {
                x.Pushes.Add(push);
            }

            x.LeafEntries[i] = null;
        }
    }

    private void SendNextPush(Exchange x, DateTimeOffset now, IOutbox outbox)
    {
        if (x.NextPush >= x.Pushes.Count)
        {
            CompleteExchange(x, now, outbox);
            return;
        }

        var push = x.Pushes[x.NextPush];
        x.Phase = ExchangePhase.Push;
        SendExchange(x, new AntiEntropyPushRequest(NewRequestId(), x.Id, [new AntiEntropyLeaves(push.Piece, push.Leaves)], push.Entries), now, outbox);
    }

    private void OnPushReply(Exchange x, AntiEntropyPushReply reply, DateTimeOffset now, IOutbox outbox)
    {
        if (reply.Status != ReplicaStatus.Ok)
        {
            FailExchange(x, $"{x.Peer} answered a push with {reply.Status} {reply.Error}", now, outbox);
            return;
        }

        var pass = _repair!;
        var push = x.Pushes[x.NextPush];
        var range = pass.Ranges[x.Pieces[push.Piece].Range];
        range.KeysSent += push.Entries.Count;
        range.KeysReceived += reply.Entries.Count;
        range.KeysRepaired += reply.Differing;
        _totalKeysSent += push.Entries.Count;
        _totalKeysReceived += reply.Entries.Count;
        _totalKeysRepaired += reply.Differing;
        if (reply.Entries.Count == 0)
        {
            x.NextPush++;
            SendNextPush(x, now, outbox);
            return;
        }

        x.Phase = ExchangePhase.Merge;
        x.PendingMerges = reply.Entries.Count;
        x.Deadline = now + _settings.RepairTimeout;
        foreach (var entry in reply.Entries)
        {
            SubmitAntiEntropy(new StorageRequest(0, StorageOperation.Merge, entry.Key, entry.Record), new AntiEntropyWait(WaitKind.Merge, x));
        }
    }

    private void CompleteExchange(Exchange x, DateTimeOffset now, IOutbox outbox)
    {
        var pass = _repair!;
        foreach (var index in x.Ranges)
        {
            var differed = false;
            for (var i = 0; i < x.Pieces.Count; i++)
            {
                differed |= x.Pieces[i].Range == index && x.Differed[i];
            }

            pass.PeerDone(index, differed);
        }

        pass.Current = null;
        AdvancePass(now, outbox);
    }

    private void FailExchange(Exchange x, string why, DateTimeOffset now, IOutbox outbox)
    {
        var pass = _repair!;
        foreach (var index in x.Ranges)
        {
            pass.Fail(index, why);
            pass.EndIfDone(index);
        }

        pass.Current = null;
        AdvancePass(now, outbox);
    }

    // ---- Sessions peers open with this node ----

    private void ServeRoots(NodeId from, AntiEntropyRootsRequest m, DateTimeOffset now, IOutbox outbox)
    {
        if (_served.TryGetValue(from, out var open) && open.Id == m.RequestId)
        {
            return; // a duplicate of the session being served
        }

        if (m.Ranges.Count is 0 or > MaxSessionRanges)
        {
            outbox.Send(from, new AntiEntropyRootsReply(m.RequestId, ReplicaStatus.Error, [], $"a session takes 1 to {MaxSessionRanges} ranges, not {m.Ranges.Count}"));
            return;
        }

        var session = new ServedSession(from, m.RequestId, m.Ranges) { ExpiresAt = now + (2 * _settings.RepairTimeout) };
        _served[from] = session; // one session per peer: a new one replaces its last
        _sessionsServed++;
        SubmitAntiEntropy(ScanOf(m.Ranges[0].First, m.Ranges[0].Last), new AntiEntropyWait(WaitKind.Scan, session));
    }

    private void OnServedScan(ServedSession s, in StorageDone done, DateTimeOffset now, IOutbox outbox)
    {
        if (done.Status != ReplicaStatus.Ok)
        {
            _served.Remove(s.Peer);
            outbox.Send(s.Peer, new AntiEntropyRootsReply(s.Id, done.Status, [], $"the replica's scan failed: {done.Error}"));
            return;
        }

        var range = s.Ranges[s.Scanning];
        foreach (var entry in done.Entries ?? [])
        {
            s.Pairs.Add((Token.Of(entry.Key).Value, MerkleTree.EntryHash(entry.Key, entry.Record.Set, entry.Record.ExpiresAtUnixMs)));
        }

        if (!done.Complete)
        {
            SubmitAntiEntropy(ScanOf(done.Next, range.Last), new AntiEntropyWait(WaitKind.Scan, s));
            return;
        }

        s.Trees[s.Scanning] = MerkleTree.Build(range.First, range.Last, MerkleTree.DepthFor(Math.Max(range.Keys, s.Pairs.Count)), s.Pairs);
        s.Pairs.Clear();
        s.ExpiresAt = now + (2 * _settings.RepairTimeout);
        if (++s.Scanning < s.Ranges.Count)
        {
            var next = s.Ranges[s.Scanning];
            SubmitAntiEntropy(ScanOf(next.First, next.Last), new AntiEntropyWait(WaitKind.Scan, s));
            return;
        }

        var roots = new AntiEntropyRoot[s.Trees.Length];
        for (var i = 0; i < roots.Length; i++)
        {
            var tree = s.Trees[i]!;
            roots[i] = new AntiEntropyRoot(tree.Depth, tree.Root, tree.Count);
        }

        outbox.Send(s.Peer, new AntiEntropyRootsReply(s.Id, ReplicaStatus.Ok, roots));
    }

    /// <summary>The ready session <paramref name="session"/> of <paramref name="from"/>; null (Error answered by the caller) when this node does not hold it.</summary>
    private ServedSession? ServedOf(NodeId from, ulong session, DateTimeOffset now)
    {
        if (_served.TryGetValue(from, out var s) && s.Id == session && s.Scanning == s.Ranges.Count)
        {
            s.ExpiresAt = now + (2 * _settings.RepairTimeout);
            return s;
        }

        return null;
    }

    private void ServeDescend(NodeId from, AntiEntropyDescendRequest m, DateTimeOffset now, IOutbox outbox)
    {
        if (ServedOf(from, m.Session, now) is not { } s)
        {
            outbox.Send(from, new AntiEntropyDescendReply(m.RequestId, ReplicaStatus.Error, [], $"no anti-entropy session {m.Session} of {from} here"));
            return;
        }

        var hashes = new List<ulong>();
        foreach (var step in m.Steps)
        {
            if (step.Range >= s.Trees.Length || step.Level + step.LevelsDown > s.Trees[step.Range]!.Depth)
            {
                outbox.Send(from, new AntiEntropyDescendReply(m.RequestId, ReplicaStatus.Error, [], $"a step outside range {step.Range}'s tree"));
                return;
            }

            hashes.AddRange(s.Trees[step.Range]!.DescendantHashes(step.Level, step.Nodes, step.LevelsDown));
        }

        outbox.Send(from, new AntiEntropyDescendReply(m.RequestId, ReplicaStatus.Ok, hashes));
    }

    private void ServePush(NodeId from, AntiEntropyPushRequest m, DateTimeOffset now, IOutbox outbox)
    {
        var push = new ServedPush(from, m.RequestId, m.Entries);
        if (ServedOf(from, m.Session, now) is not { } s)
        {
            push.Error = $"no anti-entropy session {m.Session} of {from} here";
            AnswerServedPush(push, outbox);
            return;
        }

        foreach (var leaves in m.Leaves)
        {
            var tree = leaves.Range < s.Trees.Length ? s.Trees[leaves.Range]! : null;
            var sorted = new SortedSet<int>(leaves.Leaves);
            if (tree is null || sorted.Max >= tree.LeafCount)
            {
                push.Error = $"leaves outside range {leaves.Range}'s tree in session {m.Session}";
                AnswerServedPush(push, outbox);
                return;
            }

            foreach (var run in TokenRuns(tree, [.. sorted]))
            {
                push.Scans.Enqueue(run);
            }
        }

        NextServedScan(push, outbox);
    }

    private void NextServedScan(ServedPush p, IOutbox outbox)
    {
        if (p.Scans.TryPeek(out var scan))
        {
            SubmitAntiEntropy(ScanOf(scan.First, scan.Last), new AntiEntropyWait(WaitKind.LeafScan, p));
            return;
        }

        CompareServedPush(p, outbox);
    }

    private void OnServedPushStorage(ServedPush p, WaitKind kind, in StorageDone done, IOutbox outbox)
    {
        if (done.Status != ReplicaStatus.Ok)
        {
            p.Error = $"the replica's store failed: {done.Error}";
        }

        if (kind == WaitKind.Merge)
        {
            if (--p.PendingMerges == 0)
            {
                AnswerServedPush(p, outbox);
            }

            return;
        }

        if (p.Error.Length > 0)
        {
            AnswerServedPush(p, outbox);
            return;
        }

        foreach (var entry in done.Entries ?? [])
        {
            p.Mine.Add(entry);
        }

        var (_, last) = p.Scans.Dequeue();
        if (!done.Complete)
        {
            var rest = new Queue<(ulong, ulong)>();
            rest.Enqueue((done.Next, last));
            while (p.Scans.TryDequeue(out var more))
            {
                rest.Enqueue(more);
            }

            p.Scans = rest;
        }

        NextServedScan(p, outbox);
    }

    /// <summary>Joins the initiator's records with this node's by (token, key): merges the initiator's that differ, keeps its own that differ for the answer.</summary>
    private void CompareServedPush(ServedPush p, IOutbox outbox)
    {
        var theirs = Keyed(p.Theirs);
        var mine = Keyed(p.Mine);
        var merges = new List<ScanEntry>();
        int a = 0, b = 0;
        while (a < theirs.Count || b < mine.Count)
        {
            var order = a == theirs.Count ? 1 : b == mine.Count ? -1 : Compare(theirs[a], mine[b]);
            if (order < 0)
            {
                merges.Add(theirs[a++].Entry);
                p.Differing++;
            }
            else if (order > 0)
            {
                p.Answer.Add(mine[b++].Entry);
                p.Differing++;
            }
            else
            {
                var (x, y) = (theirs[a++].Entry.Record, mine[b++].Entry.Record);
                if (x.ExpiresAtUnixMs != y.ExpiresAtUnixMs || !x.Set.AsSpan().SequenceEqual(y.Set))
                {
                    merges.Add(theirs[a - 1].Entry);
                    p.Answer.Add(mine[b - 1].Entry);
                    p.Differing++;
                }
            }
        }

        if (merges.Count == 0)
        {
            AnswerServedPush(p, outbox);
            return;
        }

        p.PendingMerges = merges.Count;
        foreach (var entry in merges)
        {
            SubmitAntiEntropy(new StorageRequest(0, StorageOperation.Merge, entry.Key, entry.Record), new AntiEntropyWait(WaitKind.Merge, p));
        }
    }

    private static List<(ulong Token, ScanEntry Entry)> Keyed(IReadOnlyList<ScanEntry> entries)
    {
        var keyed = new List<(ulong, ScanEntry)>(entries.Count);
        foreach (var entry in entries)
        {
            keyed.Add((Token.Of(entry.Key).Value, entry));
        }

        keyed.Sort(Compare);
        return keyed;
    }

    private static int Compare((ulong Token, ScanEntry Entry) x, (ulong Token, ScanEntry Entry) y)
    {
        var byToken = x.Token.CompareTo(y.Token);
        return byToken != 0 ? byToken : x.Entry.Key.AsSpan().SequenceCompareTo(y.Entry.Key);
    }

    private static void AnswerServedPush(ServedPush p, IOutbox outbox) => outbox.Send(p.Peer, p.Error.Length > 0
        ? new AntiEntropyPushReply(p.RequestId, ReplicaStatus.Error, 0, [], p.Error)
        : new AntiEntropyPushReply(p.RequestId, ReplicaStatus.Ok, p.Differing, p.Answer));

    // ---- State ----

    private enum WaitKind : byte
    {
        Scan,
        LeafScan,
        Merge,
    }

    private enum ExchangePhase : byte
    {
        Scanning,
        Roots,
        Descend,
        LeafScan,
        Push,
        Merge,
    }

    /// <summary>What an anti-entropy storage tag waits for: a step of an exchange, a served session's scan, or a served push's scan or merge.</summary>
    private readonly record struct AntiEntropyWait(WaitKind Kind, object Owner);

    /// <summary>A non-wrapping piece of a vnode range in a session, and the pass's range it belongs to.</summary>
    private readonly record struct Piece(int Range, ulong First, ulong Last);

    /// <summary>One vnode range of a pass: its ring range, pieces, peers, and what its comparisons found so far.</summary>
    private sealed class RangeState(ulong start, ulong end, TokenRange[] pieces, NodeId[] peers)
    {
        public ulong Start { get; } = start;

        public ulong End { get; } = end;

        public TokenRange[] Pieces { get; } = pieces;

        public NodeId[] Peers { get; } = peers;

        public int PeersLeft { get; set; } = peers.Length;

        public bool Differed { get; set; }

        public bool Failed { get; set; }

        public bool Ended { get; set; }

        public long KeysRepaired { get; set; }

        public long KeysSent { get; set; }

        public long KeysReceived { get; set; }

        public RepairRangeResult Result() => new(Start, End, Peers.Length,
            Failed ? RepairOutcome.Failed : Differed ? RepairOutcome.Repaired : RepairOutcome.Equal, KeysRepaired, KeysSent, KeysReceived);
    }

    /// <summary>A running pass: its ranges in ring order, the sessions queued for the current window, the one in flight.</summary>
    private sealed class RepairPass(long id, DateTimeOffset startedAt, RangeState[] ranges)
    {
        private readonly List<RepairRangeResult> _ended = [];

        public long Id { get; } = id;

        public DateTimeOffset StartedAt { get; } = startedAt;

        public RangeState[] Ranges { get; } = ranges;

        public int NextRange { get; set; }

        public Queue<Exchange> Queue { get; } = new();

        public Exchange? Current { get; set; }

        public int Done { get; private set; }

        public int Differing { get; private set; }

        public int FailedRanges { get; private set; }

        public long BytesSent { get; set; }

        public long BytesReceived { get; set; }

        public string LastFailure { get; private set; } = "";

        /// <summary>One peer of range <paramref name="index"/> failed (DOWN, silent, refused).</summary>
        public void Fail(int index, string why)
        {
            var range = Ranges[index];
            range.Failed = true;
            range.PeersLeft--;
            LastFailure = why;
        }

        /// <summary>One peer of range <paramref name="index"/> compared (and repaired what differed).</summary>
        public void PeerDone(int index, bool differed)
        {
            var range = Ranges[index];
            range.Differed |= differed;
            range.PeersLeft--;
            EndIfDone(index);
        }

        /// <summary>Counts range <paramref name="index"/> done once every peer of it is.</summary>
        public void EndIfDone(int index)
        {
            var range = Ranges[index];
            if (range.Ended || range.PeersLeft > 0)
            {
                return;
            }

            range.Ended = true;
            Done++;
            if (range.Failed)
            {
                FailedRanges++;
            }
            else if (range.Differed)
            {
                Differing++;
            }

            _ended.Add(range.Result());
        }

        public RepairPassFigures Snapshot(DateTimeOffset? endedAt)
        {
            long sent = 0, received = 0, repaired = 0;
            foreach (var range in Ranges)
            {
                sent += range.KeysSent;
                received += range.KeysReceived;
                repaired += range.KeysRepaired;
            }

            var results = new List<RepairRangeResult>(_ended);
            results.Sort((a, b) => a.End.CompareTo(b.End));
            return new RepairPassFigures(Id, StartedAt, endedAt, Ranges.Length, Done, Differing, FailedRanges, sent, received, repaired,
                BytesSent, BytesReceived, results)
            { LastFailure = LastFailure };
        }
    }

    /// <summary>A session with one peer over some ranges' pieces, and where it is.</summary>
    private sealed class Exchange(ulong id, NodeId peer)
    {
        public ulong Id { get; } = id;

        public NodeId Peer { get; } = peer;

        public List<Piece> Pieces { get; } = [];

        /// <summary>The pass's ranges the pieces belong to, each once, ascending.</summary>
        public List<int> Ranges { get; } = [];

        public ExchangePhase Phase { get; set; }

        public DateTimeOffset Deadline { get; set; }

        /// <summary>The request whose reply the session waits for; 0 when none.</summary>
        public ulong AwaitingId { get; set; }

        /// <summary>A request held until the byte budget allows it.</summary>
        public ClusterMessage? Blocked { get; set; }

        public int Scanning { get; set; }

        public List<List<(ulong Token, ulong Hash)>> Pairs { get; } = [];

        public List<MerkleTree?> Trees { get; } = [];

        public List<bool> Differed { get; } = [];

        public List<(int Level, List<int> Nodes)?> Frontier { get; } = [];

        public List<List<int>?> Leaves { get; } = [];

        public List<List<ScanEntry>?> LeafEntries { get; } = [];

        public List<AntiEntropyDescent> Steps { get; set; } = [];

        public Queue<(int Piece, ulong First, ulong Last)> LeafScans { get; set; } = new();

        public List<Push> Pushes { get; } = [];

        public int NextPush { get; set; }

        public int PendingMerges { get; set; }

        public void AddRange(int range, TokenRange[] pieces)
        {
            Ranges.Add(range);
            foreach (var piece in pieces)
            {
                Pieces.Add(new Piece(range, piece.First.Value, piece.Last.Value));
                Pairs.Add([]);
                Trees.Add(null);
                Differed.Add(false);
                Frontier.Add(null);
                Leaves.Add(null);
                LeafEntries.Add(null);
            }
        }
    }

    /// <summary>One push of an exchange: differing leaves of one piece and this node's records of them.</summary>
    private sealed class Push(int piece)
    {
        public int Piece { get; } = piece;

        public List<int> Leaves { get; } = [];

        public List<ScanEntry> Entries { get; } = [];

        public long Bytes { get; set; }
    }

    /// <summary>A session a peer opened with this node: its ranges and, once scanned, this node's trees of them.</summary>
    private sealed class ServedSession(NodeId peer, ulong id, IReadOnlyList<AntiEntropyRange> ranges)
    {
        public NodeId Peer { get; } = peer;

        public ulong Id { get; } = id;

        public IReadOnlyList<AntiEntropyRange> Ranges { get; } = ranges;

        public MerkleTree?[] Trees { get; } = new MerkleTree?[ranges.Count];

        /// <summary>The range being scanned; Ranges.Count once every tree is built (the session is ready).</summary>
        public int Scanning { get; set; }

        public List<(ulong Token, ulong Hash)> Pairs { get; } = [];

        public DateTimeOffset ExpiresAt { get; set; }
    }

    /// <summary>A peer's push being served: its records, this node's of the same leaves, and the merges in flight.</summary>
    private sealed class ServedPush(NodeId peer, ulong requestId, IReadOnlyList<ScanEntry> theirs)
    {
        public NodeId Peer { get; } = peer;

        public ulong RequestId { get; } = requestId;

        public IReadOnlyList<ScanEntry> Theirs { get; } = theirs;

        public Queue<(ulong First, ulong Last)> Scans { get; set; } = new();

        public List<ScanEntry> Mine { get; } = [];

        public List<ScanEntry> Answer { get; } = [];

        public long Differing { get; set; }

        public int PendingMerges { get; set; }

        public string Error { get; set; } = "";
    }

    /// <summary>Measures encoded message bodies (the bytes figures and the throttle count them) into one reused buffer.</summary>
    private sealed class MessageSizer : IBufferWriter<byte>
    {
        private byte[] _scratch = new byte[4096];
        private long _written;

        public long Measure(ClusterMessage message)
        {
            _written = 0;
            MessageCodec.Encode(message, this);
            return _written;
        }

        public void Advance(int count) => _written += count;

        public Memory<byte> GetMemory(int sizeHint = 0) => Scratch(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => Scratch(sizeHint).Span;

        private Memory<byte> Scratch(int sizeHint)
        {
            if (sizeHint > _scratch.Length)
            {
                _scratch = new byte[Math.Max(sizeHint, _scratch.Length * 2)];
            }

            return _scratch;
        }
    }
}
