using System;
using System.Collections.Generic;

namespace RingKV.Cluster.Scaling;

/// <summary>The cluster's load at one moment: every node KV.RING lists, and the replication factor the cluster runs with.</summary>
/// <param name="At">When it was read: the policy's now.</param>
/// <param name="Nodes">Every node, in any order; LEFT nodes are ignored.</param>
/// <param name="ReplicationFactor">Replicas per key (the sum over data centers); the policy never goes below it.</param>
internal sealed record LoadSample(DateTimeOffset At, IReadOnlyList<NodeLoad> Nodes, int ReplicationFactor);
