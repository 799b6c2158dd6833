using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using System.Threading.Tasks;
using RingKV.Cli.Admin;

namespace RingKV.Cli;

internal static partial class ClusterCommand
{
    private static Option<int> CountOption(string what) => new("--nodes")
    {
        Description = $"How many nodes to {what} (1 to {LocalCluster.MaxNodes}), one at a time. Default 1.",
        HelpName = "count",
        DefaultValueFactory = _ => 1,
    };

    private static Command CreateAdd()
    {
        var nodes = CountOption("start");
        var directory = DataDirectoryOption();
        var timeout = Membership.TimeoutOption("How long each new node has to join (answer PING, stream its ranges, be NORMAL and UP in every node's view)");
        var command = new Command("add", "Grow a cluster started by cluster up: start more nodes with the flags up recorded in the directory's cluster.json, "
            + "one at a time, each joining through the running nodes; shows each one's streaming progress and returns once it is NORMAL and UP in every node's view.")
        {
            nodes,
            directory,
            timeout,
        };
        command.SetAction(parse =>
        {
            if ((CountError(parse.GetValue(nodes)) ?? Membership.TimeoutError(parse.GetValue(timeout))) is { } usage)
            {
                Console.Error.WriteLine($"ringkv cluster add: {usage}");
                return 2;
            }

            return Add(parse.GetValue(nodes), Path.GetFullPath(parse.GetValue(directory)!), TimeSpan.FromSeconds(parse.GetValue(timeout)), ProgressView.IsLive, Console.Out, Console.Error);
        });
        return command;
    }

    private static string? CountError(int count) => count is < 1 or > LocalCluster.MaxNodes ? $"--nodes must be from 1 to {LocalCluster.MaxNodes}, not {count}" : null;

    /// <summary>
    /// Starts <paramref name="count"/> nodes one after another (<see cref="AddOne"/>) and prints the status table. 0
    /// when all joined; 1 (the reason written) on the first that did not; 2 when that many would pass
    /// <see cref="LocalCluster.MaxNodes"/>.
    /// </summary>
    internal static int Add(int count, string root, TimeSpan timeout, bool live, TextWriter output, TextWriter errors)
    {
        const string Command = "ringkv cluster add";
        if (!TryOpen(Command, root, errors, out var manifest, out var running))
        {
            return 1;
        }

        if (running.Count + count > LocalCluster.MaxNodes)
        {
            errors.WriteLine($"{Command}: {running.Count} nodes run; {count} more would pass {LocalCluster.MaxNodes}");
            return 2;
        }

        for (var k = 0; k < count; k++)
        {
            if (AddOne(Command, root, timeout, live, output, errors) is null)
            {
                return 1;
            }
        }

        PrintStatus(running[0].Address, LocalCluster.Password(manifest.ServeOptions), output);
        return 0;
    }

    /// <summary>
    /// Starts one node in the cluster under <paramref name="root"/> with the flags of its cluster.json and
    /// <c>--seeds</c> of the running nodes, and follows its join until every node sees it NORMAL and UP: what
    /// <c>cluster add</c> does per node and what <c>ringkv autoscale</c>'s local provider calls. The node and its pid
    /// then; null (the reason written after <paramref name="command"/>) when it did not join: one that exits is named
    /// with its log's last lines and its pid file goes; one past the timeout is left running (it may still finish).
    /// </summary>
    internal static (LocalNode Node, int Pid)? AddOne(string command, string root, TimeSpan timeout, bool live, TextWriter output, TextWriter errors)
    {
        if (!TryOpen(command, root, errors, out var manifest, out var running))
        {
            return null;
        }

        var password = LocalCluster.Password(manifest.ServeOptions);
        var index = manifest.NextIndex();
        while (Directory.Exists(Path.Combine(root, LocalCluster.NodeName(index))) || File.Exists(Path.Combine(root, LocalCluster.NodeName(index) + ".pid")))
        {
            index++; // a node of an earlier cluster in this directory: its data stays, its number is not reused
        }

        var seeds = running.ConvertAll(n => n.PeerAddress);
        LocalNode node;
        try
        {
            node = LocalCluster.PlanNode(index, manifest.BasePort, root, seeds, manifest.ServeOptions);
        }
        catch (ArgumentException e)
        {
            errors.WriteLine($"{command}: {e.Message}");
            return null;
        }

        if (PortsInUse([node]) is { Count: > 0 } busy)
        {
            errors.WriteLine($"{command}: {string.Join("; ", busy)}");
            return null;
        }

        var started = new List<(LocalNode Node, Process Process, Task Exited)>();
        var clock = Stopwatch.StartNew();
        Process process;
        try
        {
            process = NodeLauncher.Start(node);
            manifest = manifest.WithNode(node.Name);
            manifest.Write(root);
            started.Add((node, process, process.WaitForExitAsync()));
            if (NodeLauncher.WaitForPing(node, process, password, timeout, () => Pause(started)) is { } failure)
            {
                errors.WriteLine($"{command}: {failure}");
                StopStarted(started, errors, command);
                manifest.WithRemoved(node.Name).Write(root);
                return null;
            }

            var observers = running.ConvertAll(n => n.Address);
            observers.Add(node.Address);
            var outcome = ProgressView.Follow($"join {node.Name}", FollowJoin(node, process, observers, password), timeout - clock.Elapsed, live, output);
            if (!outcome.Done)
            {
                if (outcome.TimedOut)
                {
                    errors.WriteLine($"{command}: {outcome.Failure}; {node.Name} (pid {process.Id}) stays running and may still join: follow it with ringkv status --host {node.Address}");
                }
                else
                {
                    errors.WriteLine($"{command}: {outcome.Failure}\n{NodeProcesses.LastLines(node.LogFile, LogLinesShown)}");
                    StopStarted(started, errors, command);
                    manifest.WithRemoved(node.Name).Write(root);
                }

                return null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            errors.WriteLine($"{command}: {e.Message}");
            StopStarted(started, errors, command);
            return null;
        }

        output.WriteLine($"{node.Name} ({node.Address}) joined: NORMAL and UP in all {running.Count + 1} nodes' views after {clock.Elapsed.TotalSeconds:0.0} s (log {node.LogFile})");
        return (node, process.Id);
    }

    /// <summary>
    /// The poll of a join: percent and bytes from the joiner's INFO (<c>streaming_percent</c>,
    /// <c>streaming_bytes_received</c>); done once each of <paramref name="observers"/> lists it NORMAL and UP (asked
    /// once a second; an observer that saw it so is not asked again); failed when its process exits.
    /// </summary>
    private static Func<ProgressStep> FollowJoin(LocalNode node, Process process, List<string> observers, string? password)
    {
        var ready = new bool[observers.Count];
        var clock = Stopwatch.StartNew();
        TimeSpan? ringCheckedAt = null;
        var percent = 0.0;
        var bytes = 0L;
        return () =>
        {
            if (process.HasExited)
            {
                return new ProgressStep(percent, bytes, Failure: $"{node.Name} ({node.Address}) exited with code {process.ExitCode} while it joined");
            }

            try
            {
                using var client = RespClient.Open(node.Address, password, Membership.ProbeTimeout);
                var info = StreamingInfo.Ask(client);
                percent = info.Percent;
                bytes = info.BytesReceived;
            }
            catch (Exception e) when (e is RespClientException or FormatException)
            {
                // Busy or between two states: the next poll asks again; the process exiting is what fails a join.
            }

            if (ringCheckedAt is not { } checkedAt || clock.Elapsed - checkedAt >= Membership.RingCheckInterval)
            {
                ringCheckedAt = clock.Elapsed;
                var all = true;
                for (var i = 0; i < observers.Count; i++)
                {
                    ready[i] = ready[i] || SeesNormalAndUp(observers[i], node.Name, password);
                    all &= ready[i];
                }

                if (all)
                {
                    return new ProgressStep(100, bytes, Done: true);
                }
            }

            return new ProgressStep(percent, bytes);
        };
    }

    private static bool SeesNormalAndUp(string observer, string id, string? password)
    {
        try
        {
            foreach (var member in StatusCommand.AskRing(observer, password, Membership.ProbeTimeout))
            {
                if (member.Id == id)
                {
                    return member.IsNormalAndUp;
                }
            }
        }
        catch (Exception e) when (e is RespClientException or FormatException)
        {
            // Not yet.
        }

        return false;
    }

    /// <summary>
    /// Reads the manifest of <paramref name="root"/> and the members it names that run (by pid file), in node order;
    /// false (the reason written) when there is no manifest or nothing runs.
    /// </summary>
    internal static bool TryOpen(string command, string root, TextWriter errors, out ClusterManifest manifest, out List<LocalNode> running)
    {
        manifest = null!;
        running = [];
        if (OperatingSystem.IsWindows())
        {
            errors.WriteLine($"{command}: local clusters need a POSIX system (signals, /bin/sh)");
            return false;
        }

        try
        {
            manifest = ClusterManifest.Read(root);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            errors.WriteLine($"{command}: {ClusterManifest.PathIn(root)} does not exist: cluster add and remove work on a cluster started by ringkv cluster up (of this version) in that directory");
            return false;
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            errors.WriteLine($"{command}: {e.Message}");
            return false;
        }

        foreach (var (name, pidFile) in LocalCluster.PidFiles(root))
        {
            if (LocalCluster.NodeIndex(name) is { } index && NodeProcesses.ReadPid(pidFile) is { } pid && NodeProcesses.IsNode(pid, Path.Combine(root, name)))
            {
                running.Add(LocalCluster.PlanNode(index, manifest.BasePort, root, [], manifest.ServeOptions));
            }
        }

        if (running.Count == 0)
        {
            errors.WriteLine($"{command}: no node of {root} runs; start them with ringkv cluster up{DataDirectoryFlag(root)}");
            return false;
        }

        return true;
    }

    /// <summary>The cluster's status table as <paramref name="address"/> sees it, or why it could not be read.</summary>
    private static void PrintStatus(string address, string? password, TextWriter output)
    {
        try
        {
            output.Write(StatusReport.Table(StatusCommand.AskRing(address, password, ProbeTimeout)));
        }
        catch (Exception e) when (e is RespClientException or FormatException)
        {
            output.WriteLine($"(status: {e.Message})");
        }
    }
}
