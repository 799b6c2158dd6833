namespace RingKV.Cluster.Membership;

/// <summary>One node as the local node sees it: its record and its health.</summary>
/// <param name="Record">The newest record the local node holds.</param>
/// <param name="IsLocal">Whether this is the local node.</param>
/// <param name="Phi">The local detector's phi for the node when the view was taken (0 for the local node and nodes that left).</param>
/// <param name="SuspectedLocally">Whether the local node suspects it (phi above the threshold).</param>
/// <param name="Observers">Distinct observers whose current reports suspect it, the local node included.</param>
/// <param name="Down">Whether it is DOWN for the cluster: at least two observers (<see cref="DownConsensus"/>); never for a node that left.</param>
internal readonly record struct MemberStatus(NodeRecord Record, bool IsLocal, double Phi, bool SuspectedLocally, int Observers, bool Down)
{
    /// <summary>The node.</summary>
    public NodeId Id => Record.Id;
}
