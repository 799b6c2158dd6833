using System;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using RingKV.Cli.Admin;

namespace RingKV.Cli;

internal static partial class ClusterCommand
{
    private static Command CreateRemove()
    {
        var nodes = CountOption("decommission");
        var directory = DataDirectoryOption();
        var timeout = Membership.TimeoutOption("How long each node has to stream its ranges away, be LEFT and exit");
        var command = new Command("remove", "Shrink a cluster started by cluster up: decommission its highest-numbered running nodes one at a time "
            + "(each streams its ranges to the nodes that own them after it, with a progress bar), wait for each process to exit and remove its pid file; "
            + "the data directories stay. The nodes' own checks apply: no change in flight, at least the replication factor of NORMAL nodes left.")
        {
            nodes,
            directory,
            timeout,
        };
        command.SetAction(parse =>
        {
            if ((CountError(parse.GetValue(nodes)) ?? Membership.TimeoutError(parse.GetValue(timeout))) is { } usage)
            {
                Console.Error.WriteLine($"ringkv cluster remove: {usage}");
                return 2;
            }

            return Remove(parse.GetValue(nodes), Path.GetFullPath(parse.GetValue(directory)!), TimeSpan.FromSeconds(parse.GetValue(timeout)), ProgressView.IsLive, Console.Out, Console.Error);
        });
        return command;
    }

    /// <summary>
    /// Decommissions the <paramref name="count"/> highest-numbered running nodes, the highest first
    /// (<see cref="RemoveOne"/>), and prints the status table. 0 when all left; 1 (the reason written) at the first that
    /// did not; 2 when that many would leave no node.
    /// </summary>
    internal static int Remove(int count, string root, TimeSpan timeout, bool live, TextWriter output, TextWriter errors)
    {
        const string Command = "ringkv cluster remove";
        if (!TryOpen(Command, root, errors, out var manifest, out var running))
        {
            return 1;
        }

        if (count >= running.Count)
        {
            errors.WriteLine($"{Command}: {running.Count} node(s) run; removing {count} would leave none (stop the cluster with ringkv cluster down{DataDirectoryFlag(root)})");
            return 2;
        }

        for (var k = 0; k < count; k++)
        {
            if (!RemoveOne(Command, root, null, timeout, live, output, errors))
            {
                return 1;
            }
        }

        PrintStatus(running[0].Address, LocalCluster.Password(manifest.ServeOptions), output);
        return 0;
    }

    /// <summary>
    /// Decommissions the running node <paramref name="name"/> of the cluster under <paramref name="root"/> (null: the
    /// highest-numbered one), follows it until it is LEFT and its process exited, then deletes its pid file and lists it
    /// as removed in cluster.json; its data directory stays. What <c>cluster remove</c> does per node and what
    /// <c>ringkv autoscale</c>'s local provider calls. False (the reason written after <paramref name="command"/>) when
    /// it is not a running node, is the last one, refused, or did not leave and exit in time.
    /// </summary>
    internal static bool RemoveOne(string command, string root, string? name, TimeSpan timeout, bool live, TextWriter output, TextWriter errors)
    {
        if (!TryOpen(command, root, errors, out var manifest, out var running))
        {
            return false;
        }

        var node = name is null ? running[^1] : running.Find(n => n.Name == name);
        if (node is null)
        {
            errors.WriteLine($"{command}: {name} is not a running node of {root}");
            return false;
        }

        if (running.Count == 1)
        {
            errors.WriteLine($"{command}: {node.Name} is the only node that runs; stop the cluster with ringkv cluster down{DataDirectoryFlag(root)}");
            return false;
        }

        var clock = Stopwatch.StartNew();
        if (DecommissionCommand.Run(command, node.Address, LocalCluster.Password(manifest.ServeOptions), timeout, live, output, errors) != 0)
        {
            return false;
        }

        if (NodeProcesses.ReadPid(node.PidFile) is { } pid && !NodeProcesses.WaitForExit(pid, node.DataDirectory, clock, timeout))
        {
            errors.WriteLine($"{command}: {node.Name} is LEFT but its process (pid {pid}) did not exit within {timeout.TotalSeconds:0.#} s; stop it with ringkv cluster down{DataDirectoryFlag(root)}\n"
                + NodeProcesses.LastLines(node.LogFile, LogLinesShown));
            return false;
        }

        File.Delete(node.PidFile);
        manifest.WithRemoved(node.Name).Write(root);
        output.WriteLine($"{node.Name} exited after {clock.Elapsed.TotalSeconds:0.0} s; its data stays in {node.DataDirectory}");
        return true;
    }
}
