using System;
using System.Collections.Generic;
using System.Linq;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Cluster.Ring;
using RingKV.Core.Consistency;
using RingKV.Core.Hashing;
using RingKV.Core.Versioning;

namespace RingKV.Cluster;

internal sealed partial class ClusterNode
{
    /// <summary>
    /// SCAN over the ring: one page covers part of one vnode's range, read from as many of its replicas as the read level
    /// asks and merged per key, so with R + W &gt; N a full scan returns every acknowledged key.
    /// </summary>
    /// <remarks>
    /// The cursor is a token: the page reads [cursor, the range's last token] (the range past the ring's last vnode wraps
    /// to vnode 0, scanned to the top of the token space) and the next cursor is where the slowest replica stopped, or the
    /// next range; 0 once the top of the token space is passed. Pages never split one token, so a full scan through any
    /// node with no writes meanwhile returns every key exactly once.
    /// </remarks>
    private void StartScan(ClientRequest request, DateTimeOffset now, IOutbox outbox)
    {
        if (_ring.IsEmpty)
        {
            outbox.Reply(request.Id, new ClientReply(ClientStatus.Ok));
            return;
        }

        var level = request.Consistency.IsDefault ? _settings.DefaultRead : request.Consistency;
        var start = request.Cursor;
        var vnode = _ring.VnodeIndexOf(new Token(start));
        var rangeEnd = _ring.TokenAt(vnode).Value;
        var last = start > rangeEnd ? ulong.MaxValue : rangeEnd;
        var replicas = NaturalReplicas(vnode);
        if (!TryQuorum(level, replicas, request.Id, outbox, out var tracker))
        {
            return;
        }

        var pending = new ScanPending(NewRequestId(), request, replicas, tracker, level, start, last);
        Track(pending, now);
        pending.Start(this, now, outbox);
    }

    /// <summary>DBSIZE: every live node counts the keys of the ranges it is the first replica of; the sum is the cluster's.</summary>
    private void StartCount(ClientRequest request, DateTimeOffset now, IOutbox outbox)
    {
        // Each vnode's range is counted once, by the first live replica of its preference list: a key is counted on one
        // replica (what that replica holds), whichever nodes are DOWN.
        var byMember = new List<TokenRange>?[_ring.MemberCount];
        for (var vnode = 0; vnode < _ring.VnodeCount; vnode++)
        {
            foreach (var member in _placement.MemberIndexesForVnode(vnode))
            {
                if (IsAlive(_ring.MemberAt(member).Id))
                {
                    TokenRing.AddRingRange(byMember[member] ??= [], _ring.PreviousToken(vnode), _ring.TokenAt(vnode));
                    break;
                }
            }
        }

        var members = new List<NodeId>();
        var rangesOf = new List<List<(ulong, ulong)>>();
        for (var m = 0; m < byMember.Length; m++)
        {
            if (byMember[m] is { } ranges)
            {
                members.Add(_ring.MemberAt(m).Id);
                rangesOf.Add([.. TokenRing.SortAndMerge(ranges).Select(r => (r.First.Value, r.Last.Value))]);
            }
        }

        var pending = new FanOutPending(NewRequestId(), request, [.. members], MessageKind.ReplicaCount);
        Track(pending, now);
        for (var i = 0; i < pending.Nodes.Length; i++)
        {
            var ranges = rangesOf[i];
            SendToReplica(pending, i, pending.Nodes[i], new ReplicaCountRequest(pending.Id, ranges), new StorageRequest(0, StorageOperation.Count, [], default, Ranges: ranges), outbox);
        }

        pending.FinishIfDone(this, outbox);
    }

    /// <summary>FLUSHALL: every node flushes; refused when a node is DOWN, since it would keep (and later repair back) its keys.</summary>
    private void StartFlush(ClientRequest request, DateTimeOffset now, IOutbox outbox)
    {
        var members = new NodeId[_ring.MemberCount];
        for (var i = 0; i < members.Length; i++)
        {
            members[i] = _ring.MemberAt(i).Id;
            if (!IsAlive(members[i]))
            {
                outbox.Reply(request.Id, new ClientReply(ClientStatus.Unavailable, $"UNAVAILABLE FLUSHALL needs every node, {members[i]} is down"));
                return;
            }
        }

        var pending = new FanOutPending(NewRequestId(), request, members, MessageKind.ReplicaFlush);
        Track(pending, now);
        for (var i = 0; i < members.Length; i++)
        {
            SendToReplica(pending, i, members[i], new ReplicaFlushRequest(pending.Id), new StorageRequest(0, StorageOperation.Flush, [], default), outbox);
        }

        pending.FinishIfDone(this, outbox);
    }

    /// <summary>A scan page: R replicas asked, their pages merged per key and cut where the slowest stopped.</summary>
    private sealed class ScanPending(ulong id, ClientRequest request, Replicas replicas, QuorumTracker tracker, ConsistencyLevel level, ulong first, ulong last)
        : ReplicaReplyPending(id, request, replicas, tracker, level)
    {
        private readonly List<ReplicaScanReply> _pages = [];

        protected override string What => "scan";

        public override void OnReply(ClusterNode node, int replicaIndex, ClusterMessage reply, DateTimeOffset now, IOutbox outbox)
        {
            if (Tracker.HasReplied(replicaIndex) || reply is not ReplicaScanReply page)
            {
                return;
            }

            var ok = page.Status == ReplicaStatus.Ok;
            if (ok)
            {
                _pages.Add(page);
            }

            Count(node, replicaIndex, page.Status, page.Error, outbox);
        }

        protected override ClientReply Result() => Merge();

        protected override void SendTo(ClusterNode node, int index, IOutbox outbox)
        {
            var limit = Math.Max(1, Request.Count);
            node.SendToReplica(this, index, Nodes[index], new ReplicaScanRequest(Id, first, last, limit), new StorageRequest(0, StorageOperation.Scan, [], default, first, last, limit), outbox);
        }

        /// <summary>The page every asked replica covered in full: up to the lowest point where one stopped; keys merged in token order.</summary>
        private ClientReply Merge()
        {
            // Where the page ends: the least of the replicas' resume points; all complete means the whole range.
            var complete = true;
            var cut = ulong.MaxValue;
            foreach (var page in _pages)
            {
                if (!page.Complete)
                {
                    complete = false;
                    cut = Math.Min(cut, page.Next);
                }
            }

            var byKey = new SortedDictionary<(ulong Token, byte[] Key), (SiblingSet? Set, long Expiry, Sibling? Winner)>(KeyOrder.Instance);
            foreach (var page in _pages)
            {
                foreach (var entry in page.Entries)
                {
                    var token = Token.Of(entry.Key).Value;
                    if (!complete && token >= cut)
                    {
                        continue;
                    }

                    byKey.TryGetValue((token, entry.Key), out var merged);
                    var (set, expiry, winner) = merged;
                    MergeRecord(ref set, ref expiry, ref winner, entry.Record);
                    byKey[(token, entry.Key)] = (set, expiry, winner);
                }
            }

            var entries = new List<(byte[], SiblingSet, long)>(byKey.Count);
            foreach (var ((_, key), (set, expiry, _)) in byKey)
            {
                if (set is not null)
                {
                    entries.Add((key, set, expiry));
                }
            }

            var next = complete ? (last == ulong.MaxValue ? 0UL : last + 1) : cut;
            return new ClientReply(ClientStatus.Ok) { Entries = entries, NextCursor = next };
        }
    }

    /// <summary>Orders scan entries by token, then key bytes, so pages are deterministic.</summary>
    private sealed class KeyOrder : IComparer<(ulong Token, byte[] Key)>
    {
        public static readonly KeyOrder Instance = new();

        public int Compare((ulong Token, byte[] Key) x, (ulong Token, byte[] Key) y)
        {
            var byToken = x.Token.CompareTo(y.Token);
            return byToken != 0 ? byToken : x.Key.AsSpan().SequenceCompareTo(y.Key);
        }
    }

    /// <summary>A request every node answers (count, flush): done when all have; a node that fails or times out fails it.</summary>
    private sealed class FanOutPending(ulong id, ClientRequest request, NodeId[] nodes, MessageKind kind) : Pending(id, request, nodes)
    {
        private readonly bool[] _replied = new bool[nodes.Length];
        private int _replies;
        private long _keys;
        private long _expires;
        private long _ttlSum;

        public void FinishIfDone(ClusterNode node, IOutbox outbox)
        {
            if (_replies == Nodes.Length)
            {
                node.Finish(this, new ClientReply(ClientStatus.Ok) { Counts = (_keys, _expires, _ttlSum) }, outbox);
            }
        }

        public override void OnReply(ClusterNode node, int replicaIndex, ClusterMessage reply, DateTimeOffset now, IOutbox outbox)
        {
            if (_replied[replicaIndex] || reply.Kind != kind + 1)
            {
                return;
            }

            _replied[replicaIndex] = true;
            _replies++;
            var (status, error) = reply switch
            {
                ReplicaCountReply c => (c.Status, c.Error),
                ReplicaFlushReply f => (f.Status, f.Error),
                _ => (ReplicaStatus.Error, "unexpected reply"),
            };
            if (status != ReplicaStatus.Ok)
            {
                node.Finish(this, new ClientReply(ClientStatus.Error, $"ERR {Nodes[replicaIndex]} failed: {error}"), outbox);
                return;
            }

            if (reply is ReplicaCountReply count)
            {
                _keys += count.Keys;
                _expires += count.Expires;
                _ttlSum += count.TtlSumMs;
            }

            FinishIfDone(node, outbox);
        }

        public override void OnDeadline(ClusterNode node, DateTimeOffset now, IOutbox outbox) =>
            node.Finish(this, new ClientReply(ClientStatus.Timeout, $"TIMEOUT {_replies} of {Nodes.Length} nodes answered"), outbox);
    }
}
