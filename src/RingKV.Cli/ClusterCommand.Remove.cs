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
    /// Decommissions the <paramref name="count"/> highest-numbered running nodes, the highest first, each followed until
    /// it is LEFT and its process exited; then its pid file goes and the manifest lists it as removed. 0 when all left;
    /// 1 (the reason written) at the first that did not; 2 when that many would leave no node.
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

        var password = LocalCluster.Password(manifest.ServeOptions);
        for (var k = 0; k < count; k++)
        {
            var node = running[^1];
            var clock = Stopwatch.StartNew();
            if (DecommissionCommand.Run(Command, node.Address, password, timeout, live, output, errors) != 0)
            {
                return 1;
            }

            if (NodeProcesses.ReadPid(node.PidFile) is { } pid && !NodeProcesses.WaitForExit(pid, node.DataDirectory, clock, timeout))
            {
                errors.WriteLine($"{Command}: {node.Name} is LEFT but its process (pid {pid}) did not exit within {timeout.TotalSeconds:0.#} s; stop it with ringkv cluster down{DataDirectoryFlag(root)}\n"
                    + NodeProcesses.LastLines(node.LogFile, LogLinesShown));
                return 1;
            }

            File.Delete(node.PidFile);
            manifest = manifest.WithRemoved(node.Name);
            manifest.Write(root);
            output.WriteLine($"{node.Name} exited; its data stays in {node.DataDirectory}");
            running.RemoveAt(running.Count - 1);
        }

        PrintStatus(running[0].Address, password, output);
        return 0;
    }
}
