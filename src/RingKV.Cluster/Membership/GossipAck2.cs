using System.Collections.Immutable;

namespace RingKV.Cluster.Membership;

/// <summary>Closes a gossip exchange: the initiator's records and heartbeats newer than the <see cref="GossipAck.Requests"/>.</summary>
internal sealed class GossipAck2 : GossipMessage
{
    /// <summary>An ack2.</summary>
    public GossipAck2(NodeId from, string fromAddress, ImmutableArray<NodeRecord> records, ImmutableArray<HeartbeatUpdate> heartbeats)
        : base(from, fromAddress)
    {
        records = records.IsDefault ? [] : records;
        heartbeats = heartbeats.IsDefault ? [] : heartbeats;
        CheckCount(records.Length, nameof(records));
        CheckCount(heartbeats.Length, nameof(heartbeats));
        Records = records;
        Heartbeats = heartbeats;
    }

    /// <inheritdoc/>
    public override GossipMessageKind Kind => GossipMessageKind.Ack2;

    /// <summary>Whole records.</summary>
    public ImmutableArray<NodeRecord> Records { get; }

    /// <summary>Heartbeat parts.</summary>
    public ImmutableArray<HeartbeatUpdate> Heartbeats { get; }
}
