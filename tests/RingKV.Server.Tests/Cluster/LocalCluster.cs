using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using RingKV.Testing.Processes;
using StackExchange.Redis;

namespace RingKV.Server.Tests.Cluster;

/// <summary>K real <c>ringkv serve</c> processes on loopback forming one cluster: node 0 is the seed of the others.</summary>
public sealed class LocalCluster : IDisposable
{
    private static readonly TimeSpan FormDeadline = TimeSpan.FromSeconds(60);
    private readonly string[] _flags;

    public LocalCluster(int nodes, params string[] flags)
    {
        _flags = flags;
        var ports = FreePorts(nodes * 2);
        ClientPorts = ports.Take(nodes).ToArray();
        PeerPorts = ports.Skip(nodes).ToArray();
        try
        {
            for (var i = 0; i < nodes; i++)
            {
                Nodes.Add(StartNode(i));
            }

            WaitUntil(() => Nodes.All(n => UpNormal(n) == nodes), FormDeadline, $"{nodes} nodes NORMAL and UP on every node");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public List<ServerProcess> Nodes { get; } = [];

    public int[] ClientPorts { get; private set; }

    public int[] PeerPorts { get; private set; }

    public string Logs => string.Join("\n", Nodes.Select((n, i) => $"--- node{i}\n{n.Log}"));

    /// <summary>A StackExchange.Redis database on node <paramref name="i"/>.</summary>
    public IDatabase Db(int i) => Nodes[i].Connect().GetDatabase();

    /// <summary>KV.RING as <paramref name="node"/> sees it: one field map per node, by id.</summary>
    public static Dictionary<string, Dictionary<string, string>> Ring(ServerProcess node) => RingView.Ring(node);

    /// <summary>Nodes node <paramref name="node"/> sees NORMAL and UP.</summary>
    public static int UpNormal(ServerProcess node) => RingView.UpNormal(node);

    /// <summary>Node <paramref name="observer"/>'s view of node <paramref name="subject"/>'s status (UP, DOWN, or absent).</summary>
    public static string StatusOf(ServerProcess observer, int subject) => RingView.StatusOf(observer, subject);

    public static void WaitUntil(Func<bool> condition, TimeSpan deadline, string what) => RingView.WaitUntil(condition, deadline, what);

    public void Dispose()
    {
        foreach (var node in Nodes)
        {
            node.Dispose();
        }
    }

    /// <summary>Starts one more node (node{count}) with node 0 as its seed and <paramref name="flags"/> on top of the cluster's; does not wait for it to join.</summary>
    public ServerProcess AddNode(params string[] flags)
    {
        var i = Nodes.Count;
        var ports = FreePorts(2);
        ClientPorts = [.. ClientPorts, ports[0]];
        PeerPorts = [.. PeerPorts, ports[1]];
        var node = StartNode(i, flags);
        Nodes.Add(node);
        return node;
    }

    /// <summary>INFO field <paramref name="field"/> of <paramref name="node"/> in <paramref name="section"/> as text, or null when absent.</summary>
    public static string? InfoField(ServerProcess node, string field, string section = "streaming")
    {
        using var raw = node.ConnectRaw();
        var text = raw.Call("INFO", section) is byte[] bytes ? System.Text.Encoding.UTF8.GetString(bytes) : "";
        foreach (var line in text.Split("\r\n"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return line[(field.Length + 1)..];
            }
        }

        return null;
    }

    private ServerProcess StartNode(int i, params string[] extra)
    {
        var flags = new List<string>
        {
            "--node-id", $"node{i}",
            "--peer-listen", $"127.0.0.1:{PeerPorts[i]}",
            "--seeds", $"127.0.0.1:{PeerPorts[0]}",
            "--sync", "always",
        };
        flags.AddRange(_flags);
        flags.AddRange(extra);
        return ServerProcess.Listening($"127.0.0.1:{ClientPorts[i]}", [.. flags]);
    }

    private static int[] FreePorts(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }
}
