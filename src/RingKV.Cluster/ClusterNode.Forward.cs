using System;
using System.Collections.Generic;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Consistency;
using RingKV.Core.Hashing;

namespace RingKV.Cluster;

internal sealed partial class ClusterNode
{
    // Forwarded writes this node coordinated lately, by (forwarder, its request id), and when each may be forgotten: a
    // duplicate of the message (the network may duplicate) must not apply the write twice, as a second sibling.
    private readonly HashSet<(NodeId Node, ulong RequestId)> _forwardsSeen = [];
    private readonly DueQueue<(NodeId Node, ulong RequestId)> _forwardsToForget = new();

    /// <summary>
    /// Sends a versioned write this node is not a live replica of to the first live replica in preference order (in this
    /// node's data center when one is alive there, so LOCAL_QUORUM counts the same data center), which coordinates it;
    /// its answer is relayed to the client.
    /// </summary>
    /// <remarks>
    /// The level goes resolved (this node's default when the client named none). This node keeps its own deadline, so the
    /// client gets exactly one answer: the relayed one, or TIMEOUT when it does not come in time (the write may still
    /// have been applied, as with any TIMEOUT). Rejected alternative: stamping here, which loses siblings (see
    /// <see cref="StartVersionedWrite"/>).
    /// </remarks>
    private void Forward(ClientRequest request, Replicas replicas, ConsistencyLevel level, DateTimeOffset now, IOutbox outbox)
    {
        var target = -1;
        for (var i = 0; i < replicas.PendingFrom; i++)
        {
            if (replicas.Alive[i] && !replicas.IsStandIn(i) && (target < 0 || (string.Equals(replicas.DataCenters[i], _settings.DataCenter, StringComparison.Ordinal)
                && !string.Equals(replicas.DataCenters[target], _settings.DataCenter, StringComparison.Ordinal))))
            {
                target = i;
            }
        }

        // The caller checked that some natural replica is alive.
        var node = replicas.Nodes[target];
        var pending = new ForwardPending(NewRequestId(), request, node, level);
        Track(pending, now);
        outbox.Send(node, new CoordinateWriteRequest(pending.Id, request.Key, request.Write, request.Value, request.Context, level));
    }

    /// <summary>A peer forwarded a versioned write: coordinate it here if this node is a replica of the key, and answer the peer.</summary>
    private void OnCoordinateWrite(NodeId from, CoordinateWriteRequest message, DateTimeOffset now, IOutbox outbox)
    {
        var origin = new Origin(from, message.RequestId);
        if (!_forwardsSeen.Add((from, message.RequestId)))
        {
            return; // a duplicate: the first copy is answered
        }

        _forwardsToForget.Add((from, message.RequestId), (now + (_settings.RequestTimeout * 2)).UtcTicks);
        if (_pending.Count >= _settings.MaxInFlight)
        {
            Answer(origin, 0, new ClientReply(ClientStatus.Busy, "BUSY too many requests in flight on the coordinating replica"), outbox);
            return;
        }

        var request = ClientRequest.WriteOf(0, message.Key, message.Write, message.Value, context: message.Context, consistency: message.Consistency);
        var level = message.Consistency.IsDefault ? _settings.DefaultWrite : message.Consistency;
        var replicas = WriteReplicasFor(Token.Of(message.Key).Value, level);
        if (!TryQuorum(level, replicas, 0, outbox, out var tracker, origin))
        {
            return;
        }

        var self = Array.IndexOf(replicas.Nodes, Self, 0, replicas.PendingFrom);
        if (self < 0 || replicas.IsStandIn(self))
        {
            // Never forwarded again (no loops): the rings disagree while membership changes; the client retries.
            Answer(origin, 0, new ClientReply(ClientStatus.Unavailable, $"UNAVAILABLE {Self} is not a replica of the key in its ring (membership is changing); retry"), outbox);
            return;
        }

        StartVersionedWrite(request, origin, replicas, tracker, level, self, now, outbox);
    }

    /// <summary>Forgets forwarded writes old enough that no duplicate of them can still arrive.</summary>
    private void ForgetForwards(long nowTicks)
    {
        while (_forwardsToForget.TryTakeDue(nowTicks, out var forward))
        {
            _forwardsSeen.Remove(forward);
        }
    }

    /// <summary>The node a request was forwarded from, and its id there: the answer goes back to it.</summary>
    private readonly record struct Origin(NodeId Node, ulong RequestId);

    /// <summary>A versioned write forwarded to its coordinating replica: relays that replica's answer, or answers TIMEOUT at the deadline.</summary>
    /// <remarks>An Ok answer the coordinating replica sent before every replica replied lingers here too, for WAIT.</remarks>
    private sealed class ForwardPending(ulong id, ClientRequest request, NodeId target, ConsistencyLevel level) : Pending(id, request, [target])
    {
        private int _acked;
        private bool _settled;

        public override int Acked => _acked;

        public override bool Settled => _settled;

        public override void OnReply(ClusterNode node, int replicaIndex, ClusterMessage reply, DateTimeOffset now, IOutbox outbox)
        {
            if (reply is CoordinateWriteReply relayed)
            {
                _acked = Math.Max(_acked, relayed.Acked); // replies may come duplicated or out of order: the count only grows
                _settled |= relayed.Final || relayed.Status != ClientStatus.Ok;
                if (Answered)
                {
                    node.OnLateAck(this, outbox);
                    return;
                }

                node.Finish(this, relayed.Status != ClientStatus.Ok ? new ClientReply(relayed.Status, relayed.Message)
                    : Request.Write == WriteOperation.Increment && long.TryParse(relayed.Message, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var counted)
                        ? ClientReply.Done with { Counter = counted }
                        : ClientReply.Done, outbox);
            }
        }

        public override void OnDeadline(ClusterNode node, DateTimeOffset now, IOutbox outbox) =>
            node.Finish(this, new ClientReply(ClientStatus.Timeout, $"TIMEOUT {level}: the write's coordinating replica {target} did not answer in time"), outbox);
    }
}
