using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Cli.Admin;

namespace RingKV.Cli.Scaling;

/// <summary>
/// The local provider: the nodes of a <c>ringkv cluster up</c> directory, grown and shrunk by the code of
/// <c>ringkv cluster add</c> and <c>cluster remove</c> (<see cref="ClusterCommand.AddOne"/>, <see cref="ClusterCommand.RemoveOne"/>).
/// </summary>
/// <remarks>
/// So a node the autoscaler adds is planned, started, recorded in DIR/cluster.json and followed exactly as one
/// <c>cluster add</c> starts (the same serve flags, the next unused number, NORMAL and UP in every node's view before it
/// counts as added), and one it removes leaves as by <c>cluster remove</c> (KV.DECOMMISSION, LEFT, its process exited, its
/// pid file gone, listed as removed). Rejected alternative: a second start/decommission path here, which drifted from
/// the commands' (it waited only for the joiner's own view and did not update cluster.json). A change blocks the loop
/// until it ends or <c>--change-timeout</c> passes: the loop has nothing else to do meanwhile, and a cancelled wait
/// would leave the change running anyway. Progress goes to the log as plain lines.
/// </remarks>
internal sealed class LocalProcessProvider : INodeProvider
{
    private const string Command = "local provider";

    private readonly string _root;
    private readonly TimeSpan _changeTimeout;
    private readonly TextWriter _log;

    /// <exception cref="FormatException">The directory has no readable cluster.json (it was not started by <c>ringkv cluster up</c>).</exception>
    public LocalProcessProvider(string root, TimeSpan changeTimeout, TextWriter log)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new FormatException("the local provider needs a POSIX system (signals, /bin/sh)");
        }

        _root = Path.GetFullPath(root);
        try
        {
            Password = LocalCluster.Password(ClusterManifest.Read(_root).ServeOptions);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FormatException($"{ClusterManifest.PathIn(_root)} does not exist: it is written by ringkv cluster up; start the cluster with ringkv cluster up --data-dir {_root}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{ClusterManifest.PathIn(_root)} cannot be read: {e.Message}");
        }

        _changeTimeout = changeTimeout;
        _log = log;
    }

    public string Name => "local";

    /// <summary>The password the nodes want (their <c>--password</c> in cluster.json), if any.</summary>
    public string? Password { get; }

    /// <summary>The RESP addresses of the directory's running nodes, where the load is read; none when none runs.</summary>
    public IReadOnlyList<string> Addresses()
    {
        var addresses = new List<string>();
        if (ClusterCommand.TryOpen(Command, _root, TextWriter.Null, out _, out var running))
        {
            foreach (var node in running)
            {
                addresses.Add(node.Address);
            }
        }

        return addresses;
    }

    public Task<IReadOnlyList<ManagedNode>> ListAsync(CancellationToken cancel)
    {
        var errors = new StringWriter();
        if (!ClusterCommand.TryOpen(Command, _root, errors, out _, out var running))
        {
            throw new ProviderException(errors.ToString().Trim());
        }

        var nodes = new List<ManagedNode>(running.Count);
        foreach (var node in running)
        {
            nodes.Add(new ManagedNode(node.Name, node.Address, NodeProcesses.ReadPid(node.PidFile) is { } pid ? $"pid {pid}" : "pid ?"));
        }

        return Task.FromResult<IReadOnlyList<ManagedNode>>(nodes);
    }

    public Task<IReadOnlyList<ManagedNode>> AddNodesAsync(int count, CancellationToken cancel)
    {
        var added = new List<ManagedNode>(count);
        for (var i = 0; i < count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var errors = new StringWriter();
            if (ClusterCommand.AddOne(Command, _root, _changeTimeout, live: false, _log, errors) is not { } node)
            {
                throw new ProviderException(errors.ToString().Trim());
            }

            added.Add(new ManagedNode(node.Node.Name, node.Node.Address, $"pid {node.Pid}"));
        }

        return Task.FromResult<IReadOnlyList<ManagedNode>>(added);
    }

    public Task RemoveNodeAsync(string nodeId, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        var errors = new StringWriter();
        if (!ClusterCommand.RemoveOne(Command, _root, nodeId, _changeTimeout, live: false, _log, errors))
        {
            throw new ProviderException(errors.ToString().Trim());
        }

        return Task.CompletedTask;
    }
}
