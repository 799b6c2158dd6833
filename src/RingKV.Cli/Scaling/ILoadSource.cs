using System.Threading;
using System.Threading.Tasks;

namespace RingKV.Cli.Scaling;

/// <summary>Where the autoscaler reads the cluster's load from.</summary>
internal interface ILoadSource
{
    /// <summary>Reads the cluster's load now.</summary>
    /// <exception cref="ProviderException">No node answered; the message names each one asked and why.</exception>
    Task<ClusterLoad> ReadAsync(CancellationToken cancel);
}
