using Xunit;

namespace RingKV.System.Tests;

/// <summary>Tests that start clusters of real processes run one at a time: they share the machine's cores and ports.</summary>
[CollectionDefinition("cluster processes", DisableParallelization = true)]
public sealed class ClusterProcesses
{
}
