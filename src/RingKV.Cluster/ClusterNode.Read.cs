using System;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Consistency;
using RingKV.Core.Hashing;
using RingKV.Core.Versioning;

namespace RingKV.Cluster;

internal sealed partial class ClusterNode
{
    private void StartRead(ClientRequest request, DateTimeOffset now, IOutbox outbox)
    {
        var level = request.Consistency.IsDefault ? _settings.DefaultRead : request.Consistency;
        var replicas = ReplicasOf(Token.Of(request.Key).Value);
        if (!TryQuorum(level, replicas, request.Id, outbox, out var tracker))
        {
            return;
        }

        var pending = new ReadPending(NewRequestId(), request, replicas, tracker, level);
        Track(pending, now);
        pending.Start(this, outbox);
    }

    /// <summary>The tracker for a request over <paramref name="replicas"/>; false (UNAVAILABLE answered) when too few are alive.</summary>
    private bool TryQuorum(ConsistencyLevel level, Replicas replicas, ulong clientId, IOutbox outbox, out QuorumTracker tracker)
    {
        tracker = QuorumTracker.Create(level, replicas.DataCenters, _settings.DataCenter);
        if (replicas.Nodes.Length > 0 && tracker.CanSucceed(replicas.Alive, out _, out _))
        {
            return true;
        }

        tracker.CanSucceed(replicas.Alive, out var needed, out var alive);
        outbox.Reply(clientId, new ClientReply(ClientStatus.Unavailable, $"UNAVAILABLE {level} needs {needed}, {alive} alive"));
        return false;
    }

    /// <summary>Merges one replica's record into a read's result: sibling sets merge; the expiry follows the winning sibling's record.</summary>
    private static void MergeRecord(ref SiblingSet? merged, ref long expiry, ref Sibling? winner, ReplicaRecord record)
    {
        var (set, recordExpiry) = ClientReply.Decode(record);
        if (set is null)
        {
            return;
        }

        merged = merged is null ? set : merged.Merge(set);
        if (set.Winner is { } candidate && (winner is not { } best || candidate.WinsOver(best)))
        {
            winner = candidate;
            expiry = recordExpiry;
        }
    }

    /// <summary>A read: replicas are asked as many at a time as the level needs (this node first), the next one when one fails.</summary>
    private sealed class ReadPending : Pending
    {
        private readonly Replicas _replicas;
        private readonly QuorumTracker _tracker;
        private readonly ConsistencyLevel _level;
        private readonly bool[] _sent;
        private SiblingSet? _merged;
        private long _expiry;
        private Sibling? _winner;

        public ReadPending(ulong id, ClientRequest request, Replicas replicas, QuorumTracker tracker, ConsistencyLevel level)
            : base(id, request, replicas.Nodes)
        {
            _replicas = replicas;
            _tracker = tracker;
            _level = level;
            _sent = new bool[replicas.Nodes.Length];
        }

        public void Start(ClusterNode node, IOutbox outbox)
        {
            // One requirement over all replicas: ask just that many. Per-DC requirements: ask every live replica.
            var wanted = _level.Kind is ConsistencyKind.LocalQuorum or ConsistencyKind.EachQuorum ? Nodes.Length : _tracker.Required;
            for (var i = 0; i < Nodes.Length; i++)
            {
                if (!_replicas.Alive[i])
                {
                    _tracker.Record(i, success: false); // a DOWN replica is not asked: it counts as failed at once
                }
            }

            var self = IndexOf(node.Self);
            if (self >= 0 && _replicas.Alive[self])
            {
                SendTo(node, self, outbox);
                wanted--;
            }

            for (var i = 0; i < Nodes.Length && wanted > 0; i++)
            {
                if (!_sent[i] && _replicas.Alive[i])
                {
                    SendTo(node, i, outbox);
                    wanted--;
                }
            }
        }

        public override void OnReply(ClusterNode node, int replicaIndex, ClusterMessage reply, DateTimeOffset now, IOutbox outbox)
        {
            if (_tracker.HasReplied(replicaIndex) || reply is not ReplicaReadReply read)
            {
                return;
            }

            var ok = read.Status == ReplicaStatus.Ok;
            if (ok)
            {
                MergeRecord(ref _merged, ref _expiry, ref _winner, read.Record);
            }

            var state = _tracker.Record(replicaIndex, ok);
            if (state == QuorumState.Succeeded)
            {
                node.Finish(this, new ClientReply(ClientStatus.Ok) { Set = _merged, ExpiresAtUnixMs = _expiry }, outbox);
            }
            else if (state == QuorumState.Failed)
            {
                node.Finish(this, new ClientReply(ClientStatus.Error, $"ERR read failed at {_level}: {read.Error}"), outbox);
            }
            else if (!ok)
            {
                // A replica failed: ask one more that has not been asked, if any is alive.
                for (var i = 0; i < Nodes.Length; i++)
                {
                    if (!_sent[i] && _replicas.Alive[i])
                    {
                        SendTo(node, i, outbox);
                        break;
                    }
                }
            }
        }

        public override void OnDeadline(ClusterNode node, DateTimeOffset now, IOutbox outbox) =>
            node.Finish(this, new ClientReply(ClientStatus.Timeout, $"TIMEOUT {_level} replied {_tracker.Succeeded} of {_tracker.Required}"), outbox);

        private void SendTo(ClusterNode node, int index, IOutbox outbox)
        {
            _sent[index] = true;
            node.SendToReplica(this, index, Nodes[index], new ReplicaReadRequest(Id, Request.Key), new StorageRequest(0, StorageOperation.Read, Request.Key, default), outbox);
        }
    }
}
