using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Testing.Processes;

namespace RingKV.System.Tests.Chaos;

/// <summary>
/// K real <c>ringkv serve</c> processes on loopback, each behind a <see cref="CutProxy"/>, that can be killed and
/// restarted, paused and resumed, and cut from each other in groups.
/// </summary>
/// <remarks>
/// Node i listens for peers on its own address 127.0.0.(10+i) and advertises its proxy on 127.0.0.1, so the proxies
/// know every internode connection's sender by its source address and a cut blackholes real traffic both ways. Client
/// ports are not proxied: a client still reaches a node on the minority side of a cut, as in a real partition between
/// racks. A restart keeps the node's data directory, client port and peer port. Not thread-safe: the fault loop alone
/// changes it. Dispose kills every node (a paused one too) and stops the proxies.
/// </remarks>
public sealed class ChaosCluster : IAsyncDisposable
{
    private static readonly TimeSpan FormDeadline = TimeSpan.FromSeconds(90);
    private readonly List<CutProxy> _proxies = [];
    private readonly List<ServerProcess> _nodes = [];
    private readonly int _basePort;
    private readonly bool[] _paused;

    private ChaosCluster(int nodes)
    {
        _basePort = FreePorts.BasePort(2 * nodes); // clients P+i, proxies P+nodes+i, peers P+10000+i
        _paused = new bool[nodes];
    }

    public int Count => _nodes.Count;

    public IReadOnlyList<ServerProcess> Nodes => _nodes;

    /// <summary>Node i's RESP address.</summary>
    public IPEndPoint ClientEndPoint(int i) => new(IPAddress.Loopback, _basePort + i);

    /// <summary>Bytes the proxies dropped while cut.</summary>
    public long DroppedBytes => _proxies.Sum(p => p.DroppedBytes);

    /// <summary>Starts <paramref name="nodes"/> nodes with <paramref name="flags"/> and waits until every node sees every node NORMAL and UP.</summary>
    public static async Task<ChaosCluster> StartAsync(int nodes, TimeSpan lifetime, params string[] flags)
    {
        var cluster = new ChaosCluster(nodes);
        try
        {
            for (var i = 0; i < nodes; i++)
            {
                cluster._proxies.Add(new CutProxy(new IPEndPoint(IPAddress.Loopback, cluster._basePort + nodes + i), new IPEndPoint(PeerIp(i), cluster._basePort + 10000 + i), lifetime));
            }

            for (var i = 0; i < nodes; i++)
            {
                var node = i;
                cluster._nodes.Add(await Task.Run(() => ServerProcess.Listening(
                    $"127.0.0.1:{cluster._basePort + node}",
                    [
                        "--node-id", $"node{node}",
                        "--peer-listen", $"{PeerIp(node)}:{cluster._basePort + 10000 + node}",
                        "--peer-advertise", cluster._proxies[node].EndPoint.ToString(),
                        "--seeds", cluster._proxies[0].EndPoint.ToString(),
                        "--sync", "always",
                        .. flags,
                    ])).ConfigureAwait(false));
            }

            await Task.Run(() => cluster.WaitHealthy(FormDeadline, $"{nodes} nodes NORMAL and UP on every node")).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Node i's peer listener address, the source address of its internode connections.</summary>
    public static IPAddress PeerIp(int i) => IPAddress.Parse($"127.0.0.{10 + i}");

    /// <summary>SIGKILL: node <paramref name="i"/> dies at once, without flushing or saying goodbye.</summary>
    public void Kill(int i) => _nodes[i].Kill();

    /// <summary>Starts a killed node again on its data directory and ports; returns once it serves RESP.</summary>
    public void Restart(int i) => _nodes[i].Restart();

    /// <summary>SIGSTOP.</summary>
    public void Pause(int i)
    {
        _nodes[i].Pause();
        _paused[i] = true;
    }

    /// <summary>SIGCONT.</summary>
    public void Resume(int i)
    {
        _nodes[i].Resume();
        _paused[i] = false;
    }

    /// <summary>Blackholes every internode connection between a node of <paramref name="left"/> and one of <paramref name="right"/>, both ways.</summary>
    public void Cut(IReadOnlyList<int> left, IReadOnlyList<int> right)
    {
        foreach (var x in left)
        {
            foreach (var y in right)
            {
                _proxies[x].Cut(PeerIp(y));
                _proxies[y].Cut(PeerIp(x));
            }
        }
    }

    /// <summary>Lets every internode connection through again.</summary>
    public void HealAll()
    {
        for (var x = 0; x < _proxies.Count; x++)
        {
            for (var y = 0; y < _proxies.Count; y++)
            {
                if (x != y)
                {
                    _proxies[x].Heal(PeerIp(y));
                }
            }
        }
    }

    /// <summary>Whether every node runs, none is paused, and every node sees all of them NORMAL, UP and unsuspected.</summary>
    /// <remarks>
    /// Unsuspected too: right after a heal every node may still show all UP while suspicions raised during the cut
    /// reach two observers and declare a node DOWN a moment later; the next fault must not start before that settles.
    /// </remarks>
    public bool IsHealthy()
    {
        for (var i = 0; i < _nodes.Count; i++)
        {
            if (_paused[i] || !_nodes[i].IsRunning)
            {
                return false;
            }

            try
            {
                var ring = RingView.Ring(_nodes[i]);
                if (ring.Count != _nodes.Count || !ring.Values.All(f => f["state"] == "NORMAL" && f["status"] == "UP" && f["suspected"] == "0"))
                {
                    return false;
                }
            }
            catch (Exception e) when (e is global::System.IO.IOException or global::System.Net.Sockets.SocketException)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>How long <see cref="IsHealthy"/> must hold, poll after poll, before the cluster counts as recovered.</summary>
    /// <remarks>
    /// NOTE: a heal is not the end of a cut. The chaos run saw nodes on both sides declared DOWN (by two observers, the
    /// minority nodes even seeing themselves DOWN) about 0.7 s after a 3.3 s cut was healed, when every node had already
    /// shown every node UP and unsuspected; the DOWN lasted about half a second.
    /// </remarks>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    /// <summary>Waits until <see cref="IsHealthy"/> has held for <see cref="Settle"/>; fails the test past <paramref name="deadline"/>.</summary>
    public void WaitHealthy(TimeSpan deadline, string what)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan? healthySince = null;
        while (true)
        {
            if (IsHealthy())
            {
                healthySince ??= clock.Elapsed;
                if (clock.Elapsed - healthySince >= Settle)
                {
                    return;
                }
            }
            else
            {
                healthySince = null;
            }

            if (clock.Elapsed > deadline)
            {
                throw new TimeoutException($"not within {deadline}: {what}; {Views()}");
            }

            Thread.Sleep(100);
        }
    }

    /// <summary>Each running node's view of the ring's statuses, for failure messages.</summary>
    public string Views()
    {
        var views = new List<string>();
        for (var i = 0; i < _nodes.Count; i++)
        {
            if (_paused[i] || !_nodes[i].IsRunning)
            {
                views.Add($"node{i}: {(_paused[i] ? "paused" : "not running")}");
                continue;
            }

            try
            {
                var ring = RingView.Ring(_nodes[i]);
                views.Add($"node{i} sees " + string.Join(' ', ring.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value["state"]}/{e.Value["status"]}{(e.Value["suspected"] == "0" ? "" : "/suspected")}")));
            }
            catch (Exception e) when (e is global::System.IO.IOException or global::System.Net.Sockets.SocketException)
            {
                views.Add($"node{i}: no answer ({e.Message})");
            }
        }

        return string.Join("; ", views);
    }

    /// <summary>Every node's log, for failure messages.</summary>
    public string Logs(int lastChars = 4000) =>
        string.Join("\n", _nodes.Select((n, i) => $"--- node{i}\n{Tail(n.Log, lastChars)}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            node.Dispose(); // SIGKILL reaches a stopped process too
        }

        foreach (var proxy in _proxies)
        {
            await proxy.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string Tail(string text, int chars) => text.Length <= chars ? text : "..." + text[^chars..];
}
