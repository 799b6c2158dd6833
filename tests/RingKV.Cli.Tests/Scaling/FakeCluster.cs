using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Cli.Admin;
using RingKV.Cli.Scaling;

namespace RingKV.Cli.Tests.Scaling;

/// <summary>A cluster in memory that is both the load source and the provider: adds and removes change what the next read shows.</summary>
internal sealed class FakeCluster : ILoadSource, INodeProvider
{
    private readonly List<RingMember> _members = [];
    private int _next;

    public FakeCluster(int nodes, double opsPerNode)
    {
        OpsPerNode = opsPerNode;
        for (var i = 0; i < nodes; i++)
        {
            AddMember();
        }
    }

    /// <summary>What every node reports as its ops/s.</summary>
    public double OpsPerNode { get; set; }

    /// <summary>When set, reads fail with it.</summary>
    public string? ReadFailure { get; set; }

    /// <summary>When set, changes fail with it.</summary>
    public string? ChangeFailure { get; set; }

    public List<int> Adds { get; } = [];

    public List<string> Removes { get; } = [];

    public int Reads { get; private set; }

    public string Name => "fake";

    public int Count => _members.Count;

    public Task<ClusterLoad> ReadAsync(CancellationToken cancel)
    {
        Reads++;
        if (ReadFailure is { } failure)
        {
            throw new ProviderException(failure);
        }

        var members = new List<RingMember>();
        foreach (var member in _members)
        {
            members.Add(member with { OpsPerSecond = OpsPerNode });
        }

        return Task.FromResult(new ClusterLoad(members, 1, "fake:1"));
    }

    public Task<IReadOnlyList<ManagedNode>> ListAsync(CancellationToken cancel)
    {
        var nodes = new List<ManagedNode>();
        foreach (var member in _members)
        {
            nodes.Add(new ManagedNode(member.Id, member.Address, "fake"));
        }

        return Task.FromResult<IReadOnlyList<ManagedNode>>(nodes);
    }

    public Task<IReadOnlyList<ManagedNode>> AddNodesAsync(int count, CancellationToken cancel)
    {
        if (ChangeFailure is { } failure)
        {
            throw new ProviderException(failure);
        }

        Adds.Add(count);
        var added = new List<ManagedNode>();
        for (var i = 0; i < count; i++)
        {
            var member = AddMember();
            added.Add(new ManagedNode(member.Id, member.Address, "fake"));
        }

        return Task.FromResult<IReadOnlyList<ManagedNode>>(added);
    }

    public Task RemoveNodeAsync(string nodeId, CancellationToken cancel)
    {
        if (ChangeFailure is { } failure)
        {
            throw new ProviderException(failure);
        }

        Removes.Add(nodeId);
        _members.RemoveAll(m => m.Id == nodeId);
        return Task.CompletedTask;
    }

    private RingMember AddMember()
    {
        _next++;
        var port = 7378 + _next;
        var member = new RingMember(
            "node" + _next.ToString(CultureInfo.InvariantCulture),
            $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            $"127.0.0.1:{(port + 10000).ToString(CultureInfo.InvariantCulture)}",
            "dc1",
            "rack1",
            "NORMAL",
            "UP",
            1,
            0,
            16,
            0);
        _members.Add(member);
        return member;
    }
}
