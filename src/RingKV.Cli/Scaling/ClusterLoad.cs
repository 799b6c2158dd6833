using System.Collections.Generic;
using RingKV.Cli.Admin;

namespace RingKV.Cli.Scaling;

/// <summary>One read of the cluster: KV.RING of the node that answered, and the replication factor it runs with.</summary>
/// <param name="Members">Every node, as the node that answered sees it.</param>
/// <param name="ReplicationFactor">Replicas per key (INFO's ringkv_replication, summed over data centers).</param>
/// <param name="From">The address of the node that answered.</param>
internal sealed record ClusterLoad(IReadOnlyList<RingMember> Members, int ReplicationFactor, string From);
