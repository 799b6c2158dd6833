using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace RingKV.Cli.Scaling;

/// <summary>Where the autoscaler gets nodes from and gives them back to: local processes, or an orchestrator.</summary>
/// <remarks>
/// Called by one <see cref="AutoscaleLoop"/>, one call at a time. Each change call returns once the change is done, so
/// the loop's cooldown starts from a cluster that has settled: <see cref="AddNodesAsync"/> once each new node is NORMAL
/// (joins go one at a time in the cluster, so it adds them one after another), <see cref="RemoveNodeAsync"/> once the
/// node has left and is gone. docs/operations.md describes a Kubernetes provider against the same interface.
/// </remarks>
internal interface INodeProvider
{
    /// <summary>The provider's name, as <c>--provider</c> takes it.</summary>
    string Name { get; }

    /// <summary>The nodes it manages now, by id; a scale in picks only among these.</summary>
    /// <exception cref="ProviderException">It cannot tell.</exception>
    Task<IReadOnlyList<ManagedNode>> ListAsync(CancellationToken cancel);

    /// <summary>Adds <paramref name="count"/> nodes, one after another, each joining through the cluster's nodes; returns them once each is NORMAL.</summary>
    /// <exception cref="ProviderException">A node could not be started or did not join; those added before it stay.</exception>
    Task<IReadOnlyList<ManagedNode>> AddNodesAsync(int count, CancellationToken cancel);

    /// <summary>Decommissions <paramref name="nodeId"/> (KV.DECOMMISSION) and returns once it has left the cluster and stopped.</summary>
    /// <exception cref="ProviderException">It is not managed here, refused the decommission, or did not leave in time.</exception>
    Task RemoveNodeAsync(string nodeId, CancellationToken cancel);
}
