namespace RingKV.Cluster.Membership;

/// <summary>What a node knows of one node's record: its (generation, version), the unit of a gossip exchange.</summary>
/// <remarks>Generation 0 means "no record": a request for everything about <see cref="Node"/>.</remarks>
internal readonly record struct GossipDigest(NodeId Node, ulong Generation, ulong Version)
{
    /// <summary>Whether a record at (<paramref name="generation"/>, <paramref name="version"/>) is newer than this digest.</summary>
    public bool IsOlderThan(ulong generation, ulong version)
        => generation > Generation || (generation == Generation && version > Version);
}
