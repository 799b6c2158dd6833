namespace RingKV.Cluster;

/// <summary>Marks the cluster assembly; the layer's types live in the folders Ring, Membership, Coordination and Messages.</summary>
internal static class ClusterAssembly
{
}
