using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using RingKV.Testing.Processes;

namespace RingKV.Server.Tests.Cluster;

/// <summary>
/// Real <c>ringkv serve</c> processes whose peer links can be cut pair by pair: each node listens for peers on its own
/// loopback address (127.0.0.10 + i) and advertises a <see cref="CutProxy"/> in front of it, so a cut of one pair
/// blackholes exactly that pair's connections, both ways. Every node syncs each write (<c>--sync always</c>).
/// </summary>
public sealed class CutCluster : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(40);

    /// <summary>Starts <paramref name="count"/> nodes and waits until every node sees every node NORMAL and UP.</summary>
    public CutCluster(int count)
    {
        var ports = FreePorts.BasePort(2 * count); // clients P+i, proxies P+count+i, peers P+10000+i
        for (var i = 0; i < count; i++)
        {
            Proxies.Add(new CutProxy(new IPEndPoint(IPAddress.Loopback, ports + count + i), new IPEndPoint(PeerIp(i), ports + 10000 + i), TimeSpan.FromMinutes(5)));
        }

        for (var i = 0; i < count; i++)
        {
            Nodes.Add(ServerProcess.Listening(
                $"127.0.0.1:{ports + i}",
                "--node-id", $"node{i}",
                "--peer-listen", $"{PeerIp(i)}:{ports + 10000 + i}",
                "--peer-advertise", Proxies[i].EndPoint.ToString(),
                "--seeds", Proxies[0].EndPoint.ToString(),
                "--sync", "always"));
        }

        LocalCluster.WaitUntil(() => Nodes.All(n => LocalCluster.UpNormal(n) == count), Deadline, $"{count} nodes NORMAL and UP on every node");
    }

    /// <summary>The nodes, node i named <c>node{i}</c>.</summary>
    public List<ServerProcess> Nodes { get; } = [];

    /// <summary>The proxy in front of each node's peer port.</summary>
    public List<CutProxy> Proxies { get; } = [];

    /// <summary>The address node <paramref name="i"/>'s peer links leave from.</summary>
    public static IPAddress PeerIp(int i) => IPAddress.Parse($"127.0.0.{10 + i}");

    /// <summary>Blackholes both directions between nodes <paramref name="x"/> and <paramref name="y"/>.</summary>
    public void Cut(int x, int y)
    {
        Proxies[x].Cut(PeerIp(y));
        Proxies[y].Cut(PeerIp(x));
    }

    /// <summary>Undoes <see cref="Cut"/>.</summary>
    public void Heal(int x, int y)
    {
        Proxies[x].Heal(PeerIp(y));
        Proxies[y].Heal(PeerIp(x));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            node.Dispose();
        }

        foreach (var proxy in Proxies)
        {
            await proxy.DisposeAsync();
        }
    }
}
