using System;
using System.Buffers;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Consistency;
using RingKV.Core.Hashing;
using RingKV.Core.Versioning;

namespace RingKV.Cluster;

internal sealed partial class ClusterNode
{
    /// <summary>How far ahead of this node's clock a context's stamps may be and still be observed.</summary>
    private static readonly TimeSpan MaxContextLead = TimeSpan.FromMinutes(10);

    private void StartWrite(ClientRequest request, DateTimeOffset now, IOutbox outbox)
    {
        var level = request.Consistency.IsDefault ? _settings.DefaultWrite : request.Consistency;
        var replicas = ReplicasOf(Token.Of(request.Key).Value);
        if (!TryQuorum(level, replicas, request.Id, outbox, out var tracker))
        {
            return;
        }

        if (Math.Max(now.ToUnixTimeMilliseconds(), _clock.Last.UnixMs + 1) >= _clockLeaseUnixMs)
        {
            // Stamps above the lease could repeat after a crash (the host's persisted floor is the lease).
            outbox.Reply(request.Id, new ClientReply(ClientStatus.Busy, "BUSY the node's clock lease is being renewed; retry"));
            return;
        }

        var record = Stamp(request, now);
        var pending = new WritePending(NewRequestId(), request, replicas, tracker, level, record);
        Track(pending, now);
        pending.Start(this, outbox);
    }

    /// <summary>
    /// The write as a delta record every replica merges: one sibling whose dot is (this node, a fresh counter) and whose
    /// time is the node's next hybrid-logical stamp, and the context the write supersedes.
    /// </summary>
    /// <remarks>
    /// The dot's counter is at least the stamp's packed value (SiblingSet's rule), and stamps grow strictly on this node
    /// across restarts (invariant 3), so no context can have seen the dot before. Plain writes supersede by stamp (last
    /// writer wins), versioned writes by context.
    /// </remarks>
    private ReplicaRecord Stamp(ClientRequest request, DateTimeOffset now)
    {
        ObserveContext(request.Context, now);
        var stamp = _clock.Next(now.ToUnixTimeMilliseconds());
        var actor = Self.Actor;
        var max = _settings.MaxVersionEntries;
        var set = request.Write switch
        {
            WriteOperation.PlainPut => SiblingSet.Empty.PutLww(request.Value, actor, stamp, max),
            WriteOperation.PlainDelete => SiblingSet.Empty.DeleteLww(actor, stamp, max),
            WriteOperation.VersionedPut => SiblingSet.Empty.Put(request.Context, request.Value, actor, stamp, max),
            _ => SiblingSet.Empty.Delete(request.Context, actor, stamp, max),
        };

        foreach (var sibling in set.Siblings)
        {
            _clock.Observe(sibling);
        }

        var buffer = new ArrayBufferWriter<byte>(request.Value.Length + 64);
        set.Encode(buffer);
        return new ReplicaRecord(buffer.WrittenSpan.ToArray(), request.Write == WriteOperation.PlainPut ? request.ExpiresAtUnixMs : 0);
    }

    /// <summary>
    /// Raises the clock above the stamps of the writes a versioned write's context saw. Their dots' counters are at least
    /// their packed stamps (SiblingSet's rule), so the largest counter bounds them. A write stamped below what it
    /// supersedes would be dropped by the replicas' last-writer-wins floor together with what it superseded (found by
    /// simulator seed 630153849, with clock skew between two coordinators). Counters implausibly far ahead of this
    /// node's clock (a forged context) are ignored rather than let them push the clock, and the lease, away.
    /// </summary>
    private void ObserveContext(VersionVector context, DateTimeOffset now)
    {
        var limit = HybridTimestamp.FromUnixMs(Math.Min(HybridTimestamp.MaxUnixMs, now.ToUnixTimeMilliseconds() + (long)MaxContextLead.TotalMilliseconds)).Value;
        foreach (var entry in context.Entries)
        {
            if (entry.Counter <= (ulong)limit)
            {
                _clock.Observe(new HybridTimestamp((long)entry.Counter));
            }
        }
    }

    /// <summary>A write: sent to every live replica at once; answered after as many acknowledgements as the level asks.</summary>
    private sealed class WritePending : Pending
    {
        private readonly Replicas _replicas;
        private readonly QuorumTracker _tracker;
        private readonly ConsistencyLevel _level;
        private readonly ReplicaRecord _record;

        public WritePending(ulong id, ClientRequest request, Replicas replicas, QuorumTracker tracker, ConsistencyLevel level, ReplicaRecord record)
            : base(id, request, replicas.Nodes)
        {
            _replicas = replicas;
            _tracker = tracker;
            _level = level;
            _record = record;
        }

        public void Start(ClusterNode node, IOutbox outbox)
        {
            var message = new ReplicaWriteRequest(Id, Request.Key, _record);
            var local = new StorageRequest(0, StorageOperation.Merge, Request.Key, _record);
            for (var i = 0; i < Nodes.Length; i++)
            {
                if (_replicas.Alive[i])
                {
                    node.SendToReplica(this, i, Nodes[i], message, local, outbox);
                }
                else
                {
                    _tracker.Record(i, success: false); // DOWN: not sent (hinted handoff keeps it for later, see the failures issue)
                }
            }
        }

        public override void OnReply(ClusterNode node, int replicaIndex, ClusterMessage reply, DateTimeOffset now, IOutbox outbox)
        {
            if (_tracker.HasReplied(replicaIndex) || reply is not ReplicaWriteReply written)
            {
                return;
            }

            var state = _tracker.Record(replicaIndex, written.Status == ReplicaStatus.Ok);
            if (state == QuorumState.Succeeded)
            {
                node.Finish(this, ClientReply.Done, outbox);
            }
            else if (state == QuorumState.Failed)
            {
                // An overloaded replica (its queue, or the link to it, full) is BUSY for the client: retry later.
                node.Finish(this, written.Status == ReplicaStatus.Busy
                    ? new ClientReply(ClientStatus.Busy, $"BUSY {_level} acked {_tracker.Succeeded} of {_tracker.Required}: {written.Error}")
                    : new ClientReply(ClientStatus.Error, $"ERR write failed at {_level}: acked {_tracker.Succeeded} of {_tracker.Required}; {written.Error}"), outbox);
            }
        }

        public override void OnDeadline(ClusterNode node, DateTimeOffset now, IOutbox outbox) =>
            node.Finish(this, new ClientReply(ClientStatus.Timeout, $"TIMEOUT {_level} acked {_tracker.Succeeded} of {_tracker.Required}"), outbox);
    }
}
