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

    // Where a write's record is encoded before it is copied out (one per node: the node is single-threaded).
    private readonly ArrayBufferWriter<byte> _encodeBuffer = new(256);

    private void StartWrite(ClientRequest request, DateTimeOffset now, IOutbox outbox)
    {
        var level = request.Consistency.IsDefault ? _settings.DefaultWrite : request.Consistency;
        var replicas = WriteReplicasFor(Token.Of(request.Key).Value, level);
        if (!TryQuorum(level, replicas, request.Id, outbox, out var tracker))
        {
            return;
        }

        if (request.Write is WriteOperation.VersionedPut or WriteOperation.VersionedDelete or WriteOperation.Increment)
        {
            // Coordinated at a natural replica (it holds the dots its node minted, and its counter entries); stand-ins only keep hints.
            var self = Array.IndexOf(replicas.Nodes, Self, 0, replicas.PendingFrom);
            if (self >= 0 && replicas.Alive[self] && !replicas.IsStandIn(self))
            {
                StartVersionedWrite(request, null, replicas, tracker, level, self, now, outbox);
            }
            else if (replicas.NaturalAlive > 0)
            {
                Forward(request, replicas, level, now, outbox);
            }
            else
            {
                outbox.Reply(request.Id, new ClientReply(ClientStatus.Unavailable, $"UNAVAILABLE {level}: a versioned write or an increment needs a live replica of its key to coordinate it, none is up"));
            }

            return;
        }

        if (!HasClockLease(now))
        {
            outbox.Reply(request.Id, ClockLeaseBusy);
            return;
        }

        var record = Stamp(request, now);
        var pending = new WritePending(NewRequestId(), request, replicas, tracker, level, record);
        Track(pending, now);
        pending.Start(this, now, outbox);
    }

    private static ClientReply ClockLeaseBusy => new(ClientStatus.Busy, "BUSY the node's clock lease is being renewed; retry");

    /// <summary>Whether the next stamp is below the clock lease (stamps above it could repeat after a crash: the host's persisted floor is the lease).</summary>
    private bool HasClockLease(DateTimeOffset now) => Math.Max(now.ToUnixTimeMilliseconds(), _clock.Last.UnixMs + 1) < _clockLeaseUnixMs;

    /// <summary>
    /// A plain write as a delta record every replica merges: one last-writer-wins sibling whose dot is (this node, a fresh
    /// counter) and whose time is the node's next hybrid-logical stamp.
    /// </summary>
    /// <remarks>
    /// The dot's counter is at least the stamp's packed value (SiblingSet's rule), and stamps grow strictly on this node
    /// across restarts (invariant 3), so no context can have seen the dot before. A delta from the empty set is right for a
    /// plain write, wherever it is stamped: it supersedes by stamp, and the earlier dots of this node its context claims are
    /// stamped below it (the clock observed them), so last-writer-wins drops them anyway. Not so for a versioned write
    /// (see <see cref="StartVersionedWrite"/>).
    /// </remarks>
    private ReplicaRecord Stamp(ClientRequest request, DateTimeOffset now)
    {
        var stamp = _clock.Next(now.ToUnixTimeMilliseconds());
        var actor = Self.Actor;
        var max = _settings.MaxVersionEntries;
        _encodeBuffer.ResetWrittenCount();

        // A SET's delta written straight from its parts (the same bytes as the set's encoding: pinned by
        // SiblingSetFastPath's property tests): its sibling is stamped `stamp`, its dot's counter is the stamp's value.
        if (request.Write == WriteOperation.PlainPut && SiblingSetFastPath.TryEncodeBlindPutLww([], request.Value, actor, stamp, max, _encodeBuffer))
        {
            _clock.Observe(stamp);
        }
        else
        {
            var set = request.Write == WriteOperation.PlainPut
                ? SiblingSet.Empty.PutLww(request.Value, actor, stamp, max)
                : SiblingSet.Empty.DeleteLww(actor, stamp, max);
            _clock.Observe(set[0]);
            _encodeBuffer.ResetWrittenCount();
            set.Encode(_encodeBuffer);
        }

        return new ReplicaRecord(_encodeBuffer.WrittenSpan.ToArray(), request.Write == WriteOperation.PlainPut ? request.ExpiresAtUnixMs : 0);
    }

    /// <summary>
    /// Coordinates a versioned write at this node, a live replica of the key (replica <paramref name="self"/>): its store
    /// applies the write to the set it holds, then the resulting set goes to the other replicas to merge.
    /// </summary>
    /// <remarks>
    /// Why here and not as a delta from the empty set stamped wherever the client asked: the new context claims every
    /// counter of the dot's actor up to the new one (SiblingSet.Put's Requires), so a delta minted by a node that does not
    /// hold the actor's earlier dots of the key makes every replica drop them: two concurrent KV.PUTs through one node
    /// lost the first. The coordinating replica's store applies each write to its stored set as one read-modify-write
    /// (<see cref="StorageOperation.Update"/>), so it holds every dot this node minted for the key, as Riak's put FSM runs
    /// at a vnode of the preference list. The whole resulting set is what the others merge: always a correct join input
    /// (a delta would have to carry every sibling of this actor the result keeps). The local store counts as one ack.
    /// </remarks>
    private void StartVersionedWrite(ClientRequest request, Origin? origin, Replicas replicas, QuorumTracker tracker, ConsistencyLevel level, int self, DateTimeOffset now, IOutbox outbox)
    {
        if (!HasClockLease(now))
        {
            Answer(origin, request.Id, ClockLeaseBusy, outbox);
            return;
        }

        RecordUpdate update;
        if (request.Write == WriteOperation.Increment)
        {
            if (!request.TryIncrementParts(out var delta, out var seen))
            {
                Answer(origin, request.Id, new ClientReply(ClientStatus.Error, "ERR an increment without its delta"), outbox);
                return;
            }

            update = new CounterUpdate(CounterActor, delta, seen.Set, seen.ExpiresAtUnixMs, now.ToUnixTimeMilliseconds());
        }
        else
        {
            ObserveContext(request.Context, now);
            var stamp = _clock.Next(now.ToUnixTimeMilliseconds());
            update = new VersionedUpdate(request.Context, request.Value, request.Write == WriteOperation.VersionedDelete, Self.Actor, stamp, _settings.MaxVersionEntries);
        }

        var pending = new VersionedWritePending(NewRequestId(), request, replicas, tracker, level, self) { ReplyTo = origin };
        Track(pending, now);
        pending.Start(this, update);
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

    /// <summary>A write counted against its level: the replicas' acknowledgements, the answer, the deadline.</summary>
    private abstract class WriteQuorumPending(ulong id, ClientRequest request, Replicas replicas, QuorumTracker tracker, ConsistencyLevel level)
        : Pending(id, request, replicas.Nodes)
    {
        protected Replicas Replicas { get; } = replicas;

        protected QuorumTracker Tracker { get; } = tracker;

        protected ConsistencyLevel Level { get; } = level;

        /// <summary>The answer once the level is met.</summary>
        protected virtual ClientReply Succeeded => ClientReply.Done;

        /// <summary>Successes of the key's replicas (not of nodes that only join them: they come after <see cref="Replicas.PendingFrom"/>).</summary>
        public override int Acked => Tracker.Acknowledged(Replicas.PendingFrom);

        public override bool Settled => Tracker.AllReplied;

        public override void OnReply(ClusterNode node, int replicaIndex, ClusterMessage reply, DateTimeOffset now, IOutbox outbox)
        {
            if (Tracker.HasReplied(replicaIndex) || reply is not ReplicaWriteReply written)
            {
                return;
            }

            Count(node, replicaIndex, written.Status, written.Error, outbox);
        }

        public override void OnDeadline(ClusterNode node, DateTimeOffset now, IOutbox outbox) =>
            node.Finish(this, new ClientReply(ClientStatus.Timeout, $"TIMEOUT {Level} acked {Tracker.Succeeded} of {Tracker.Required}"), outbox);

        /// <summary>Records that DOWN replicas were not sent the write.</summary>
        protected void SkipDown()
        {
            for (var i = 0; i < Nodes.Length; i++)
            {
                if (!Replicas.Alive[i])
                {
                    Tracker.Record(i, success: false); // DOWN: not sent; the coordinator keeps a hint for it (SendToEach)
                }
            }
        }

        /// <summary>
        /// Sends <paramref name="record"/> to every slot but <paramref name="skip"/>: a natural replica merges it, a stand-in
        /// keeps it as a hint for the DOWN replica it stands in for (counted for the level: sloppy quorum), and for a DOWN
        /// replica without one this node keeps the hint itself (not counted, as Cassandra's coordinator hints).
        /// </summary>
        protected void SendToEach(ClusterNode node, ReplicaRecord record, int skip, DateTimeOffset now, IOutbox outbox)
        {
            ReplicaWriteRequest? plain = null;
            for (var i = 0; i < Nodes.Length; i++)
            {
                if (i == skip)
                {
                    continue;
                }

                var key = Request.Key;
                if (!Replicas.Alive[i])
                {
                    node.KeepHint(Replicas.IntendedFor[i], key, record, now);
                }
                else if (Replicas.IsStandIn(i))
                {
                    var intended = Replicas.IntendedFor[i];
                    if (Nodes[i] == node.Self)
                    {
                        node.SubmitStorage(
                            new StorageRequest(0, StorageOperation.Hint, key, record, First: HintTime(now), Target: intended),
                            StorageWait.ForRequest(Id, i, MessageKind.ReplicaWrite) with { Hint = HintWork.Stored, HintFor = intended });
                    }
                    else
                    {
                        outbox.Send(Nodes[i], new HintedWriteRequest(Id, key, record, intended));
                    }
                }
                else
                {
                    plain ??= new ReplicaWriteRequest(Id, key, record);
                    node.SendToReplica(this, i, Nodes[i], plain, new StorageRequest(0, StorageOperation.Merge, key, record), outbox);
                }
            }
        }

        protected void Count(ClusterNode node, int replicaIndex, ReplicaStatus status, string error, IOutbox outbox)
        {
            var state = Tracker.Record(replicaIndex, status == ReplicaStatus.Ok);
            if (Answered)
            {
                node.OnLateAck(this, outbox);
            }
            else if (state == QuorumState.Succeeded)
            {
                node.Finish(this, Succeeded, outbox);
            }
            else if (state == QuorumState.Failed)
            {
                // An overloaded replica (its queue, or the link to it, full) is BUSY for the client: retry later.
                node.Finish(this, status == ReplicaStatus.Busy
                    ? new ClientReply(ClientStatus.Busy, $"BUSY {Level} acked {Tracker.Succeeded} of {Tracker.Required}: {error}")
                    : new ClientReply(ClientStatus.Error, $"ERR write failed at {Level}: acked {Tracker.Succeeded} of {Tracker.Required}; {error}"), outbox);
            }
        }
    }

    /// <summary>A plain write: its delta sent to every live replica at once; answered after as many acknowledgements as the level asks.</summary>
    private sealed class WritePending(ulong id, ClientRequest request, Replicas replicas, QuorumTracker tracker, ConsistencyLevel level, ReplicaRecord record)
        : WriteQuorumPending(id, request, replicas, tracker, level)
    {
        public void Start(ClusterNode node, DateTimeOffset now, IOutbox outbox)
        {
            SkipDown();
            SendToEach(node, record, skip: -1, now, outbox);
        }
    }

    /// <summary>
    /// A versioned write at its coordinating replica: first this node's store applies it; then the resulting set goes to
    /// the other live replicas; answered after as many acknowledgements (the local store's included) as the level asks.
    /// </summary>
    private sealed class VersionedWritePending(ulong id, ClientRequest request, Replicas replicas, QuorumTracker tracker, ConsistencyLevel level, int self)
        : WriteQuorumPending(id, request, replicas, tracker, level)
    {
        private ClientReply _succeeded = ClientReply.Done;

        protected override ClientReply Succeeded => _succeeded;

        public void Start(ClusterNode node, RecordUpdate update)
        {
            SkipDown();
            node.SubmitStorage(
                new StorageRequest(0, StorageOperation.Update, Request.Key, default, Update: update),
                StorageWait.ForRequest(Id, self, MessageKind.ReplicaWrite));
        }

        public override void OnStorage(ClusterNode node, int replicaIndex, MessageKind kind, in StorageDone done, DateTimeOffset now, IOutbox outbox)
        {
            if (Tracker.HasReplied(self))
            {
                return;
            }

            if (done.Status != ReplicaStatus.Ok && Request.Write == WriteOperation.Increment && done.Error.StartsWith("ERR ", StringComparison.Ordinal))
            {
                node.Finish(this, new ClientReply(ClientStatus.Error, done.Error), outbox); // the value refused the increment (Redis's error)
                return;
            }

            if (done.Status != ReplicaStatus.Ok)
            {
                // Nothing was written anywhere: the other replicas only ever merge the coordinating replica's result.
                node.Finish(this, done.Status == ReplicaStatus.Busy
                    ? new ClientReply(ClientStatus.Busy, $"BUSY {Level}: the coordinating replica {node.Self} is overloaded: {done.Error}")
                    : new ClientReply(ClientStatus.Error, $"ERR write failed at {Level}: the coordinating replica {node.Self} failed: {done.Error}"), outbox);
                return;
            }

            if (SiblingSet.TryDecode(done.Record.Set, out var written, out _) && written.Winner is { } minted)
            {
                node._clock.Observe(minted); // the new sibling: stamped above the set, so it is the winner
                if (written.Counter is { } counter)
                {
                    _succeeded = ClientReply.Done with { Counter = (long)counter.Total };
                }
            }

            SendToEach(node, done.Record, skip: self, now, outbox);
            Count(node, self, ReplicaStatus.Ok, "", outbox);
        }
    }
}
