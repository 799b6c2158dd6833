using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Cli.Admin;

namespace RingKV.Cli.Scaling;

/// <summary>
/// The local provider: the nodes of a <c>ringkv cluster up</c> directory. It adds a node by starting <c>ringkv serve</c> on
/// loopback as <c>cluster up</c> does (node&lt;i&gt; on base port + i - 1, data, pid file and log under the directory, the same
/// serve flags from DIR/cluster.json), seeded with the running nodes' peer addresses; it removes one by sending it
/// KV.DECOMMISSION and waiting for its process to exit, which it does by itself after LEFT.
/// </summary>
/// <remarks>
/// A new node's number is one past every number used in the directory so far (pid files, data directories): an id
/// that has LEFT is never reused, since the cluster still remembers it for a while. <c>ringkv cluster down</c> stops
/// the nodes added here too (they have pid files like the rest).
/// </remarks>
internal sealed class LocalProcessProvider : INodeProvider
{
    /// <summary>How often a wait for a join or an exit looks again.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    private readonly string _root;
    private readonly LocalClusterLayout _layout;
    private readonly TimeSpan _changeTimeout;
    private readonly TextWriter _log;

    /// <exception cref="FormatException">The directory has no cluster.json (not started by <c>ringkv cluster up</c>).</exception>
    public LocalProcessProvider(string root, TimeSpan changeTimeout, TextWriter log)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new FormatException("the local provider needs a POSIX system (signals, /bin/sh)");
        }

        _root = Path.GetFullPath(root);
        _layout = LocalClusterLayout.Read(_root);
        _changeTimeout = changeTimeout;
        _log = log;
    }

    public string Name => "local";

    /// <summary>The password the nodes want, if any.</summary>
    public string? Password => _layout.Password;

    /// <summary>The RESP addresses of the directory's running nodes: where the load is read.</summary>
    public IReadOnlyList<string> Addresses()
    {
        var addresses = new List<string>();
        foreach (var node in Running())
        {
            addresses.Add(node.Node.Address);
        }

        return addresses;
    }

    public Task<IReadOnlyList<ManagedNode>> ListAsync(CancellationToken cancel)
    {
        var nodes = new List<ManagedNode>();
        foreach (var (node, pid) in Running())
        {
            nodes.Add(new ManagedNode(node.Name, node.Address, $"pid {pid}"));
        }

        return Task.FromResult<IReadOnlyList<ManagedNode>>(nodes);
    }

    public async Task<IReadOnlyList<ManagedNode>> AddNodesAsync(int count, CancellationToken cancel)
    {
        var added = new List<ManagedNode>();
        for (var i = 0; i < count; i++)
        {
            added.Add(await AddOneAsync(cancel).ConfigureAwait(false));
        }

        return added;
    }

    public async Task RemoveNodeAsync(string nodeId, CancellationToken cancel)
    {
        var target = Running().Find(n => n.Node.Name == nodeId);
        if (target.Node is null)
        {
            throw new ProviderException($"{nodeId} is not a running node of {_root}");
        }

        var (node, pid) = target;
        using (var client = RespClient.Connect(node.Address, StatusCommand.Timeout))
        {
            Authenticate(client);
            var reply = client.Call("KV.DECOMMISSION");
            if (reply.Kind == RespReplyKind.Error)
            {
                throw new ProviderException($"{nodeId} refused KV.DECOMMISSION: {reply.Text}");
            }
        }

        _log.WriteLine($"{Stamp()} autoscale: {nodeId} ({node.Address}, pid {pid}) is decommissioning; waiting for it to leave and exit");
        var clock = Stopwatch.StartNew();
        while (NodeProcesses.IsNode(pid, node.DataDirectory))
        {
            if (clock.Elapsed >= _changeTimeout)
            {
                throw new ProviderException($"{nodeId} (pid {pid}) did not leave and exit within {_changeTimeout.TotalSeconds:0.#} s of KV.DECOMMISSION (--change-timeout); it keeps going, see {node.LogFile}");
            }

            await Task.Delay(Poll, cancel).ConfigureAwait(false);
        }

        File.Delete(node.PidFile);
        _log.WriteLine($"{Stamp()} autoscale: {nodeId} left and exited after {clock.Elapsed.TotalSeconds:0.#} s");
    }

    private async Task<ManagedNode> AddOneAsync(CancellationToken cancel)
    {
        var running = Running();
        var seeds = new List<string>();
        foreach (var (peer, _) in running)
        {
            seeds.Add(peer.PeerAddress);
        }

        var node = LocalCluster.Node(NextIndex(), _layout.BasePort, _root, _layout.ServeOptions, seeds);
        if (node.PeerPort > 65535)
        {
            throw new ProviderException($"{node.Name} would need port {node.PeerPort}: past 65535");
        }

        var process = NodeLauncher.Start(node);
        _log.WriteLine($"{Stamp()} autoscale: started {node.Name} (pid {process.Id}, {node.Address}, log {node.LogFile}), seeds {string.Join(",", seeds)}");
        var clock = Stopwatch.StartNew();
        if (NodeLauncher.WaitForPing(node, process, Password, _changeTimeout, () => process.WaitForExit(Poll)) is { } failure)
        {
            Abandon(node, process);
            throw new ProviderException(failure);
        }

        var last = "";
        while (true)
        {
            if (process.HasExited)
            {
                Abandon(node, process);
                throw new ProviderException($"{node.Name} ({node.Address}) exited with code {process.ExitCode} while joining\n{NodeProcesses.LastLines(node.LogFile, NodeLauncher.LogLinesShown)}");
            }

            try
            {
                var members = StatusCommand.AskRing(node.Address, Password, NodeLauncher.ProbeTimeout);
                var self = members is null ? null : FindMember(members, node.Name);
                if (self is { IsNormalAndUp: true } && !AnyJoining(members!))
                {
                    _log.WriteLine($"{Stamp()} autoscale: {node.Name} is NORMAL after {clock.Elapsed.TotalSeconds:0.#} s");
                    return new ManagedNode(node.Name, node.Address, $"pid {process.Id}");
                }

                last = self is null ? "not in its own ring yet" : $"{self.State} {self.Status}";
            }
            catch (Exception e) when (e is RespClientException or FormatException)
            {
                last = e.Message;
            }

            if (clock.Elapsed >= _changeTimeout)
            {
                throw new ProviderException($"{node.Name} did not become NORMAL within {_changeTimeout.TotalSeconds:0.#} s (--change-timeout; last: {last}); it keeps running, see {node.LogFile}");
            }

            await Task.Delay(Poll, cancel).ConfigureAwait(false);
        }
    }

    /// <summary>A node that failed to start: its pid file goes (its data and log stay, for a look).</summary>
    private static void Abandon(LocalNode node, Process process)
    {
        if (!process.HasExited)
        {
            NodeProcesses.Terminate(process.Id);
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        File.Delete(node.PidFile);
    }

    private void Authenticate(RespClient client)
    {
        if (Password is { } password && client.Call("AUTH", password) is { Kind: RespReplyKind.Error } refused)
        {
            throw new ProviderException($"{client.Address} refused AUTH: {refused.Text}");
        }
    }

    /// <summary>The directory's nodes whose pid file names a live node process.</summary>
    private List<(LocalNode Node, int Pid)> Running()
    {
        var running = new List<(LocalNode, int)>();
        foreach (var (name, pidFile) in LocalCluster.PidFiles(_root))
        {
            if (LocalCluster.NodeIndex(name) is { } index
                && NodeProcesses.ReadPid(pidFile) is { } pid
                && LocalCluster.Node(index, _layout.BasePort, _root, _layout.ServeOptions, []) is var node
                && NodeProcesses.IsNode(pid, node.DataDirectory))
            {
                running.Add((node, pid));
            }
        }

        return running;
    }

    /// <summary>One past the highest node number the directory has used: pid files and data directories.</summary>
    private int NextIndex()
    {
        var highest = 0;
        foreach (var (name, _) in LocalCluster.PidFiles(_root))
        {
            highest = Math.Max(highest, LocalCluster.NodeIndex(name) ?? 0);
        }

        foreach (var directory in Directory.EnumerateDirectories(_root, "node*"))
        {
            highest = Math.Max(highest, LocalCluster.NodeIndex(Path.GetFileName(directory)) ?? 0);
        }

        return highest + 1;
    }

    private static RingMember? FindMember(IReadOnlyList<RingMember> members, string id)
    {
        foreach (var member in members)
        {
            if (member.Id == id)
            {
                return member;
            }
        }

        return null;
    }

    private static bool AnyJoining(IReadOnlyList<RingMember> members)
    {
        foreach (var member in members)
        {
            if (member.State == "JOINING")
            {
                return true;
            }
        }

        return false;
    }

    private static string Stamp() => AutoscaleLoop.Stamp(DateTimeOffset.UtcNow);
}
