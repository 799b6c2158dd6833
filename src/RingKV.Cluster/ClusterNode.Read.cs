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
        var replicas = ReplicasFor(Token.Of(request.Key).Value, level);
        if (!TryQuorum(level, replicas, request.Id, outbox, out var tracker))
        {
            return;
        }

        var pending = new ReadPending(NewRequestId(), request, replicas, tracker, level);
        Track(pending, now);
        pending.Start(this, now, outbox);
    }

    /// <summary>The tracker for a request over <paramref name="replicas"/>; false (UNAVAILABLE answered) when too few are alive.</summary>
    private bool TryQuorum(ConsistencyLevel level, Replicas replicas, ulong clientId, IOutbox outbox, out QuorumTracker tracker, Origin? origin = null)
    {
        tracker = new QuorumTracker(replicas.PlanFor(level, _settings.DataCenter));
        if (replicas.Nodes.Length > 0 && tracker.CanSucceed(replicas.Alive, out _, out _))
        {
            return true;
        }

        tracker.CanSucceed(replicas.Alive, out var needed, out var alive);
        Answer(origin, clientId, new ClientReply(ClientStatus.Unavailable, $"UNAVAILABLE {level} needs {needed}, {alive} alive"), outbox);
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

    /// <summary>
    /// A request answered by R replicas' replies (a read, a scan page): they are asked as many at a time as the level
    /// needs, this node first, then replicas this node does not suspect, in preference order; one more is asked each
    /// time one fails, and each time <see cref="ClusterNodeSettings.SpeculativeRetry"/> passes without the answer
    /// (speculative retry), while replicas are left. Replicas this node suspects are asked only after every other.
    /// </summary>
    /// <remarks>
    /// Why: a replica can be UP for the cluster (fewer than two observers suspect it) and still silent for this node,
    /// when only the link between the two is cut. Asking it first would make the read wait for the deadline.
    /// </remarks>
    private abstract class ReplicaReplyPending : Pending
    {
        private readonly bool[] _sent;

        protected ReplicaReplyPending(ulong id, ClientRequest request, Replicas replicas, QuorumTracker tracker, ConsistencyLevel level)
            : base(id, request, replicas.Nodes)
        {
            Replicas = replicas;
            Tracker = tracker;
            Level = level;
            _sent = new bool[replicas.Nodes.Length];
        }

        protected Replicas Replicas { get; }

        protected QuorumTracker Tracker { get; }

        protected ConsistencyLevel Level { get; }

        public void Start(ClusterNode node, DateTimeOffset now, IOutbox outbox)
        {
            // One requirement over all replicas: ask just that many. Per-DC requirements: ask every live replica.
            var wanted = Level.Kind is ConsistencyKind.LocalQuorum or ConsistencyKind.EachQuorum ? Nodes.Length : Tracker.Required;
            for (var i = 0; i < Nodes.Length; i++)
            {
                if (!Replicas.Alive[i])
                {
                    Tracker.Record(i, success: false); // a DOWN replica is not asked: it counts as failed at once
                }
            }

            var self = IndexOf(node.Self);
            if (self >= 0 && Replicas.Alive[self] && !Replicas.IsStandIn(self))
            {
                Ask(node, self, outbox);
                wanted--;
            }

            for (var next = NextToAsk(node); wanted > 0 && next >= 0; next = NextToAsk(node))
            {
                Ask(node, next, outbox);
                wanted--;
            }

            ScheduleSpeculation(node, now);
        }

        /// <summary>The retry delay passed without the answer: asks the next replica not asked yet, if any.</summary>
        public void Speculate(ClusterNode node, DateTimeOffset now, IOutbox outbox)
        {
            var next = NextToAsk(node);
            if (next >= 0)
            {
                Ask(node, next, outbox);
                ScheduleSpeculation(node, now);
            }
        }

        public override void OnDeadline(ClusterNode node, DateTimeOffset now, IOutbox outbox) =>
            node.Finish(this, new ClientReply(ClientStatus.Timeout, $"TIMEOUT {Level} replied {Tracker.Succeeded} of {Tracker.Required}"), outbox);

        /// <summary>Counts one replica's reply; answers when the level is met or cannot be, asks one more when it failed.</summary>
        protected void Count(ClusterNode node, int replicaIndex, ReplicaStatus status, string error, IOutbox outbox)
        {
            var ok = status == ReplicaStatus.Ok;
            var state = Tracker.Record(replicaIndex, ok);
            if (state == QuorumState.Succeeded)
            {
                OnSucceeded(node, outbox);
            }
            else if (state == QuorumState.Failed)
            {
                node.Finish(this, status == ReplicaStatus.Busy
                    ? new ClientReply(ClientStatus.Busy, $"BUSY {Level} replied {Tracker.Succeeded} of {Tracker.Required}: {error}")
                    : new ClientReply(ClientStatus.Error, $"ERR {What} failed at {Level}: {error}"), outbox);
            }
            else if (!ok && NextToAsk(node) is var next and >= 0)
            {
                Ask(node, next, outbox);
            }
        }

        /// <summary>Enough replicas replied: by default, answers <see cref="Result"/>.</summary>
        protected virtual void OnSucceeded(ClusterNode node, IOutbox outbox) => node.Finish(this, Result(), outbox);

        /// <summary>Whether replica <paramref name="index"/> was asked.</summary>
        protected bool WasAsked(int index) => _sent[index];

        /// <summary>"read" or "scan", for error texts.</summary>
        protected abstract string What { get; }

        /// <summary>The answer once enough replicas replied.</summary>
        protected abstract ClientReply Result();

        /// <summary>Sends the replica request to replica <paramref name="index"/>.</summary>
        protected abstract void SendTo(ClusterNode node, int index, IOutbox outbox);

        private void Ask(ClusterNode node, int index, IOutbox outbox)
        {
            _sent[index] = true;
            SendTo(node, index, outbox);
        }

        /// <summary>
        /// The replica to ask next: the first alive natural replica not asked yet that this node does not suspect, else
        /// the first such stand-in (it holds only the hints of writes made while its replica was DOWN), else the first
        /// suspected one; -1 when none is left.
        /// </summary>
        private int NextToAsk(ClusterNode node)
        {
            var standIn = -1;
            var suspected = -1;
            for (var i = 0; i < Nodes.Length; i++)
            {
                if (_sent[i] || !Replicas.Alive[i])
                {
                    continue;
                }

                if (node.IsSuspected(Nodes[i]))
                {
                    suspected = suspected < 0 ? i : suspected;
                }
                else if (Replicas.IsStandIn(i))
                {
                    standIn = standIn < 0 ? i : standIn;
                }
                else
                {
                    return i;
                }
            }

            return standIn >= 0 ? standIn : suspected;
        }

        /// <summary>Asks one more replica after the retry delay, when one is left to ask.</summary>
        private void ScheduleSpeculation(ClusterNode node, DateTimeOffset now)
        {
            var delay = node._settings.SpeculativeRetry;
            if (delay > TimeSpan.Zero && NextToAsk(node) >= 0)
            {
                node._speculations.Add(Id, (now + delay).UtcTicks);
            }
        }
    }

    /// <summary>
    /// A read: the replicas' records merged (sibling sets merge; the expiry follows the winning sibling's record), and
    /// read repair when they disagree.
    /// </summary>
    /// <remarks>
    /// Read repair: once the level is met, every natural replica that answered a record other than the merged one (or
    /// none) is sent the merged record to merge, as is every live natural replica the read did not ask (it may be as
    /// stale). In the background by default: the answer does not wait. With REPAIR (<see cref="ConsistencyLevel.Repair"/>)
    /// the answer waits until each stale replica that answered has acknowledged it, so a value a REPAIR read returned is
    /// on as many replicas as the level asks (a later read at the level sees it). Stand-ins are not repaired: they are
    /// not the key's replicas.
    /// </remarks>
    private sealed class ReadPending(ulong id, ClientRequest request, Replicas replicas, QuorumTracker tracker, ConsistencyLevel level)
        : ReplicaReplyPending(id, request, replicas, tracker, level)
    {
        private SiblingSet? _merged;
        private long _expiry;
        private Sibling? _winner;

        // The one record every replica so far answered, while they agree (replicas in sync: merging equal sets is a no-op).
        private ReplicaRecord? _agreed;
        private bool _disagreed;

        // Per slot: what it answered (null: not yet, or failed; None: no record); some answered none.
        private readonly ReplicaRecord?[] _answers = new ReplicaRecord?[replicas.Nodes.Length];
        private bool _someMissing;

        // REPAIR: stale replicas whose acknowledgement the answer waits for.
        private bool[]? _repairWaits;
        private int _repairsLeft;

        protected override string What => "read";

        public override void OnReply(ClusterNode node, int replicaIndex, ClusterMessage reply, DateTimeOffset now, IOutbox outbox)
        {
            if (reply is ReplicaWriteReply repaired)
            {
                OnRepaired(node, replicaIndex, repaired, outbox);
                return;
            }

            if (Tracker.HasReplied(replicaIndex) || reply is not ReplicaReadReply read)
            {
                return;
            }

            var ok = read.Status == ReplicaStatus.Ok;
            if (ok)
            {
                _answers[replicaIndex] = read.Record;
                if (read.Record.Exists)
                {
                    Add(read.Record);
                }
                else
                {
                    _someMissing = true;
                }
            }

            Count(node, replicaIndex, read.Status, read.Error, outbox);
        }

        protected override void OnSucceeded(ClusterNode node, IOutbox outbox)
        {
            if (_agreed is null || (!_disagreed && !_someMissing))
            {
                node.Finish(this, Result(), outbox); // nothing anywhere, or every answer the same: nothing to repair
                return;
            }

            var merged = MergedRecord();
            var message = new ReplicaWriteRequest(Id, Request.Key, merged);
            var local = new StorageRequest(0, StorageOperation.Merge, Request.Key, merged);
            for (var i = 0; i < Nodes.Length; i++)
            {
                if (!Replicas.Alive[i] || Replicas.IsStandIn(i))
                {
                    continue;
                }

                var answered = _answers[i];
                var stale = answered is not { } record || record.ExpiresAtUnixMs != merged.ExpiresAtUnixMs || !record.Set.AsSpan().SequenceEqual(merged.Set);
                if (!stale || (answered is null && WasAsked(i) && Tracker.HasReplied(i)))
                {
                    continue; // in sync, or failed to answer (not known stale)
                }

                node._readRepairs++;
                node.SendToReplica(this, i, Nodes[i], message, local, outbox);
                if (Level.Repair && answered is not null)
                {
                    _repairWaits ??= new bool[Nodes.Length];
                    _repairWaits[i] = true;
                    _repairsLeft++;
                }
            }

            if (_repairsLeft == 0)
            {
                node.Finish(this, Result(), outbox);
            }
        }

        public override void OnDeadline(ClusterNode node, DateTimeOffset now, IOutbox outbox)
        {
            if (_repairsLeft > 0)
            {
                node.Finish(this, new ClientReply(ClientStatus.Timeout, $"TIMEOUT {Level} REPAIR: {_repairsLeft} stale replicas did not acknowledge the repair in time"), outbox);
                return;
            }

            base.OnDeadline(node, now, outbox);
        }

        private void OnRepaired(ClusterNode node, int replicaIndex, ReplicaWriteReply reply, IOutbox outbox)
        {
            if (_repairWaits is null || !_repairWaits[replicaIndex])
            {
                return;
            }

            _repairWaits[replicaIndex] = false;
            if (reply.Status != ReplicaStatus.Ok)
            {
                node.Finish(this, new ClientReply(reply.Status == ReplicaStatus.Busy ? ClientStatus.Busy : ClientStatus.Error,
                    $"{(reply.Status == ReplicaStatus.Busy ? "BUSY" : "ERR")} read repair at {Level} failed on {Nodes[replicaIndex]}: {reply.Error}"), outbox);
                return;
            }

            if (--_repairsLeft == 0)
            {
                node.Finish(this, Result(), outbox);
            }
        }

        /// <summary>The record every replica should hold: the agreed one, or the merge of what they answered.</summary>
        private ReplicaRecord MergedRecord()
        {
            if (!_disagreed)
            {
                return _agreed!.Value;
            }

            var encoded = new System.Buffers.ArrayBufferWriter<byte>(256);
            _merged!.Encode(encoded);
            return new ReplicaRecord(encoded.WrittenSpan.ToArray(), _expiry);
        }

        protected override ClientReply Result() => _agreed is { } record && !_disagreed
            ? new(ClientStatus.Ok) { Record = record, ExpiresAtUnixMs = record.ExpiresAtUnixMs }
            : new(ClientStatus.Ok) { Set = _merged, ExpiresAtUnixMs = _expiry };

        private void Add(ReplicaRecord record)
        {
            if (!_disagreed)
            {
                if (_agreed is not { } agreed)
                {
                    _agreed = record;
                    return;
                }

                if (agreed.ExpiresAtUnixMs == record.ExpiresAtUnixMs && agreed.Set.AsSpan().SequenceEqual(record.Set))
                {
                    return;
                }

                _disagreed = true;
                MergeRecord(ref _merged, ref _expiry, ref _winner, agreed);
            }

            MergeRecord(ref _merged, ref _expiry, ref _winner, record);
        }

        protected override void SendTo(ClusterNode node, int index, IOutbox outbox)
        {
            if (Replicas.IsStandIn(index))
            {
                var intended = Replicas.IntendedFor[index];
                node.SendToReplica(this, index, Nodes[index], new HintedReadRequest(Id, Request.Key, intended),
                    new StorageRequest(0, StorageOperation.HintedRead, Request.Key, default, Target: intended), outbox, MessageKind.ReplicaRead);
                return;
            }

            node.SendToReplica(this, index, Nodes[index], new ReplicaReadRequest(Id, Request.Key), new StorageRequest(0, StorageOperation.Read, Request.Key, default), outbox);
        }
    }
}
