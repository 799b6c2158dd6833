using System;
using System.Collections.Immutable;

namespace RingKV.Cluster.Membership;

/// <summary>Answers a <see cref="GossipSyn"/>: records and heartbeats newer than the initiator's digests, and requests for what the responder lacks.</summary>
internal sealed class GossipAck : GossipMessage
{
    /// <summary>An ack; <paramref name="seedAddress"/> echoes <see cref="GossipSyn.SeedAddress"/>.</summary>
    public GossipAck(
        NodeId from,
        string fromAddress,
        string seedAddress,
        ImmutableArray<NodeRecord> records,
        ImmutableArray<HeartbeatUpdate> heartbeats,
        ImmutableArray<GossipDigest> requests)
        : base(from, fromAddress)
    {
        ArgumentNullException.ThrowIfNull(seedAddress);
        CheckLength(seedAddress, nameof(seedAddress));
        records = records.IsDefault ? [] : records;
        heartbeats = heartbeats.IsDefault ? [] : heartbeats;
        requests = requests.IsDefault ? [] : requests;
        CheckCount(records.Length, nameof(records));
        CheckCount(heartbeats.Length, nameof(heartbeats));
        CheckCount(requests.Length, nameof(requests));
        SeedAddress = seedAddress;
        Records = records;
        Heartbeats = heartbeats;
        Requests = requests;
    }

    /// <inheritdoc/>
    public override GossipMessageKind Kind => GossipMessageKind.Ack;

    /// <summary>The syn's seed address, echoed; empty when the syn had none.</summary>
    public string SeedAddress { get; }

    /// <summary>Whole records: of nodes the initiator did not list, or whose description it has not seen.</summary>
    public ImmutableArray<NodeRecord> Records { get; }

    /// <summary>Heartbeat parts: of nodes whose current description the initiator already holds.</summary>
    public ImmutableArray<HeartbeatUpdate> Heartbeats { get; }

    /// <summary>What the responder holds of records the initiator listed newer (generation 0: none): send newer.</summary>
    public ImmutableArray<GossipDigest> Requests { get; }
}
