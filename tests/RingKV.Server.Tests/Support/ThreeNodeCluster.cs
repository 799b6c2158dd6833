using System;
using RingKV.Server.Tests.Cluster;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.Support;

/// <summary>
/// Three real nodes (N = 3, QUORUM reads and writes, the defaults) shared by the command test classes that run their
/// cases through a cluster: they write through node 0 and read through node 2. Tests use key prefixes of their own.
/// </summary>
public sealed class ThreeNodeCluster : IDisposable
{
    /// <summary>The collection whose classes share one cluster, run one at a time.</summary>
    public const string Collection = "three-node cluster";

    private readonly LocalCluster _cluster = new(3);

    public ThreeNodeCluster()
    {
        Writer = _cluster.Db(0);
        Reader = _cluster.Db(2);
    }

    public IDatabase Writer { get; }

    public IDatabase Reader { get; }

    /// <summary>Node 0, where writes go.</summary>
    public System.Net.IPEndPoint WriterEndPoint => _cluster.Nodes[0].EndPoint;

    /// <summary>Node 2, where reads go.</summary>
    public System.Net.IPEndPoint ReaderEndPoint => _cluster.Nodes[2].EndPoint;

    public void Dispose() => _cluster.Dispose();
}

[CollectionDefinition(ThreeNodeCluster.Collection, DisableParallelization = true)]
public sealed class ThreeNodeClusterCollection : ICollectionFixture<ThreeNodeCluster>;
