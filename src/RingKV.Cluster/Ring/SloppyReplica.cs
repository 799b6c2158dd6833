namespace RingKV.Cluster.Ring;

/// <summary>A node of a sloppy preference list: a natural replica, or a stand-in that holds the data for one that is down.</summary>
/// <param name="Node">The node to send to.</param>
/// <param name="IntendedFor">The natural replica the data belongs to; <paramref name="Node"/> itself unless it is a stand-in, which keeps a hint for this node.</param>
internal readonly record struct SloppyReplica(NodeId Node, NodeId IntendedFor)
{
    /// <summary>True when <see cref="Node"/> stands in for a natural replica that is down.</summary>
    public bool IsStandIn => Node != IntendedFor;
}
