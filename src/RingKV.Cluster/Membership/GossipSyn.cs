using System;
using System.Collections.Immutable;

namespace RingKV.Cluster.Membership;

/// <summary>Opens a gossip exchange: a digest of every record the initiator holds, its own included.</summary>
internal sealed class GossipSyn : GossipMessage
{
    /// <summary>A syn; <paramref name="seedAddress"/> is the address it was sent to when sent to a seed not yet identified, else empty.</summary>
    public GossipSyn(NodeId from, string fromAddress, string seedAddress, ImmutableArray<GossipDigest> digests)
        : base(from, fromAddress)
    {
        ArgumentNullException.ThrowIfNull(seedAddress);
        CheckLength(seedAddress, nameof(seedAddress));
        digests = digests.IsDefault ? [] : digests;
        CheckCount(digests.Length, nameof(digests));
        SeedAddress = seedAddress;
        Digests = digests;
    }

    /// <inheritdoc/>
    public override GossipMessageKind Kind => GossipMessageKind.Syn;

    /// <summary>The seed address this syn was sent to, echoed by the ack so the initiator learns the seed's node id; empty when sent to a known node.</summary>
    public string SeedAddress { get; }

    /// <summary>The initiator's digests.</summary>
    public ImmutableArray<GossipDigest> Digests { get; }
}
