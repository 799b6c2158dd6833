using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using RingKV.Cli.Admin;

namespace RingKV.Cli;

internal static partial class ClusterCommand
{
    /// <summary>How long one KV.RING of a starting node may take before it is asked again.</summary>
    private static readonly TimeSpan ProbeTimeout = NodeLauncher.ProbeTimeout;

    /// <summary>How long to wait between two probes of a node that is not ready yet (less when a node exits meanwhile).</summary>
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(200);

    private static readonly string[] SummaryHeaders = ["Node", "Pid", "RESP", "Internode", "Log"];

    /// <summary>Lines of a failed node's log an error shows.</summary>
    private const int LogLinesShown = NodeLauncher.LogLinesShown;

    /// <summary>
    /// Starts the nodes one after another (the next once the previous answers PING), then waits until every node's
    /// KV.RING shows all of them NORMAL and UP. Refuses, starting nothing, when the directory has running nodes or a
    /// port is taken. On any failure it names the node, shows its log's last lines, stops the nodes it started and
    /// returns 1; a usage error returns 2.
    /// </summary>
    internal static int Up(int count, int basePort, string directory, IReadOnlyList<string> serveOptions, TimeSpan timeout, TextWriter output, TextWriter errors)
    {
        List<LocalNode> plan;
        try
        {
            plan = LocalCluster.Plan(count, basePort, directory, serveOptions);
        }
        catch (ArgumentException e)
        {
            errors.WriteLine($"ringkv cluster up: {e.Message}");
            return 2;
        }

        if (OperatingSystem.IsWindows())
        {
            errors.WriteLine("ringkv cluster up: local clusters need a POSIX system (signals, /bin/sh); start each node with ringkv serve");
            return 2;
        }

        var root = Path.GetFullPath(directory);
        Directory.CreateDirectory(root);
        if (RunningNodes(root) is { Count: > 0 } running)
        {
            errors.WriteLine($"ringkv cluster up: {root} already has running nodes: {string.Join(", ", running)}; stop them first with: ringkv cluster down{DataDirectoryFlag(root)}");
            return 1;
        }

        if (PortsInUse(plan) is { Count: > 0 } busy)
        {
            errors.WriteLine($"ringkv cluster up: {string.Join("; ", busy)}; choose other ports with --base-port");
            return 1;
        }

        var password = LocalCluster.Password(serveOptions);
        var manifest = new ClusterManifest(basePort, LocalCluster.SharedOptions(count, serveOptions), plan.ConvertAll(n => n.Name), []);
        var started = new List<(LocalNode Node, Process Process, Task Exited)>();
        try
        {
            manifest.Write(root);
            foreach (var node in plan)
            {
                var process = NodeLauncher.Start(node);
                started.Add((node, process, process.WaitForExitAsync()));
                if (NodeLauncher.WaitForPing(node, process, password, timeout, () => Pause(started)) is { } failure)
                {
                    errors.WriteLine($"ringkv cluster up: {failure}");
                    StopStarted(started, errors);
                    return 1;
                }
            }

            if (!WaitForRing(started, password, timeout, errors))
            {
                StopStarted(started, errors);
                return 1;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            errors.WriteLine($"ringkv cluster up: {e.Message}");
            StopStarted(started, errors);
            return 1;
        }

        PrintSummary(started, root, basePort, password, output);
        return 0;
    }

    /// <summary>Waits until every node's KV.RING lists all the nodes NORMAL and UP; false (naming the nodes that are not there yet) otherwise.</summary>
    private static bool WaitForRing(List<(LocalNode Node, Process Process, Task Exited)> started, string? password, TimeSpan timeout, TextWriter errors)
    {
        var clock = Stopwatch.StartNew();
        var views = new string[started.Count];
        var ready = new bool[started.Count];
        while (true)
        {
            var all = true;
            for (var i = 0; i < started.Count; i++)
            {
                var (node, process, _) = started[i];
                if (process.HasExited)
                {
                    errors.WriteLine($"ringkv cluster up: {node.Name} ({node.Address}) exited with code {process.ExitCode} while the cluster formed\n{NodeProcesses.LastLines(node.LogFile, LogLinesShown)}");
                    return false;
                }

                if (ready[i])
                {
                    continue;
                }

                try
                {
                    var members = StatusCommand.AskRing(node.Address, password, ProbeTimeout);
                    ready[i] = members.Count == started.Count && AllNormalAndUp(members);
                    views[i] = Describe(members);
                }
                catch (Exception e) when (e is RespClientException or FormatException)
                {
                    views[i] = e.Message;
                }

                all &= ready[i];
            }

            if (all)
            {
                return true;
            }

            if (clock.Elapsed >= timeout)
            {
                var text = new StringBuilder($"ringkv cluster up: the cluster did not form within {timeout.TotalSeconds:0.#} s: not every node sees all {started.Count} nodes NORMAL and UP\n");
                for (var i = 0; i < started.Count; i++)
                {
                    if (!ready[i])
                    {
                        var node = started[i].Node;
                        text.Append($"{node.Name} ({node.Address}) sees: {views[i]}\n{NodeProcesses.LastLines(node.LogFile, LogLinesShown)}\n");
                    }
                }

                errors.Write(text.ToString());
                return false;
            }

            Pause(started);
        }
    }

    private static bool AllNormalAndUp(IReadOnlyList<RingMember> members)
    {
        foreach (var member in members)
        {
            if (!member.IsNormalAndUp)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A ring view in one line, for an error: <c>node1 UN, node2 UJ</c>.</summary>
    private static string Describe(IReadOnlyList<RingMember> members)
    {
        var parts = new List<string>(members.Count);
        foreach (var member in StatusReport.Sorted(members))
        {
            parts.Add($"{member.Id} {StatusReport.StateCode(member)}");
        }

        return parts.Count == 0 ? "no nodes" : string.Join(", ", parts);
    }

    /// <summary>Waits <see cref="ProbeInterval"/>, or less when a started node exits meanwhile (the caller then reports it).</summary>
    private static void Pause(List<(LocalNode Node, Process Process, Task Exited)> started)
    {
        var exits = new Task[started.Count];
        for (var i = 0; i < exits.Length; i++)
        {
            exits[i] = started[i].Exited;
        }

        Task.WaitAny(exits, ProbeInterval);
    }

    /// <summary>Stops the nodes a failed <c>cluster up</c> started, so it leaves nothing running (the logs stay).</summary>
    private static void StopStarted(List<(LocalNode Node, Process Process, Task Exited)> started, TextWriter errors, string command = "ringkv cluster up")
    {
        if (started.Count == 0)
        {
            return;
        }

        var nodes = new List<(string Name, int Pid, string DataDirectory, string PidFile)>();
        foreach (var (node, process, _) in started)
        {
            nodes.Add((node.Name, process.Id, node.DataDirectory, node.PidFile));
        }

        errors.WriteLine($"{command}: stopping the {nodes.Count} node(s) started; their logs stay in {Path.GetDirectoryName(started[0].Node.LogFile)}");
        Stop(nodes, TimeSpan.FromSeconds(DefaultTimeoutSeconds), errors);
    }

    /// <summary>The nodes under <paramref name="root"/> whose pid file names a live node process, as "node1 (pid 123)"; stale pid files are removed.</summary>
    private static List<string> RunningNodes(string root)
    {
        var running = new List<string>();
        foreach (var (name, pidFile) in LocalCluster.PidFiles(root))
        {
            if (NodeProcesses.ReadPid(pidFile) is { } pid && NodeProcesses.IsNode(pid, Path.Combine(root, name)))
            {
                running.Add($"{name} (pid {pid})");
            }
            else
            {
                File.Delete(pidFile);
            }
        }

        return running;
    }

    /// <summary>Each RESP and internode port of the plan that something on this host listens on already.</summary>
    private static List<string> PortsInUse(List<LocalNode> plan)
    {
        var busy = new List<string>();
        foreach (var node in plan)
        {
            foreach (var (port, what) in new[] { (node.Port, "RESP"), (node.PeerPort, "internode") })
            {
                var probe = new TcpListener(IPAddress.Loopback, port);
                try
                {
                    probe.Start();
                }
                catch (SocketException)
                {
                    busy.Add($"port {port} ({node.Name}'s {what} port) is in use");
                }
                finally
                {
                    probe.Stop();
                }
            }
        }

        return busy;
    }

    private static void PrintSummary(List<(LocalNode Node, Process Process, Task Exited)> started, string root, int basePort, string? password, TextWriter output)
    {
        var text = new StringBuilder();
        text.Append($"RingKV cluster of {started.Count} node(s) in {root}: every node sees all of them NORMAL and UP.\n\n");
        var rows = new List<string[]> { SummaryHeaders };
        foreach (var (node, process, _) in started)
        {
            rows.Add([node.Name, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), node.Address, node.PeerAddress, node.LogFile]);
        }

        AppendColumns(text, rows);
        text.Append('\n');
        try
        {
            text.Append(StatusReport.Table(StatusCommand.AskRing(started[0].Node.Address, password, ProbeTimeout)));
        }
        catch (Exception e) when (e is RespClientException or FormatException)
        {
            text.Append($"(status: {e.Message})\n");
        }

        var host = basePort == LocalCluster.DefaultBasePort ? "" : $" --host 127.0.0.1:{basePort}";
        text.Append($"\nConnect:  redis-cli -p {basePort}\n");
        text.Append($"Status:   ringkv status{host}\n");
        text.Append($"Stop:     ringkv cluster down{DataDirectoryFlag(root)}\n");
        output.Write(text.ToString());
    }

    private static void AppendColumns(StringBuilder text, List<string[]> rows)
    {
        var widths = new int[rows[0].Length];
        foreach (var row in rows)
        {
            for (var column = 0; column < row.Length; column++)
            {
                widths[column] = Math.Max(widths[column], row[column].Length);
            }
        }

        foreach (var row in rows)
        {
            for (var column = 0; column < row.Length; column++)
            {
                text.Append(column == row.Length - 1 ? row[column] : row[column].PadRight(widths[column] + 2));
            }

            text.Append('\n');
        }
    }

    /// <summary>" --data-dir DIR", or nothing when DIR is the default ./cluster of the working directory.</summary>
    private static string DataDirectoryFlag(string root) =>
        root == Path.GetFullPath(LocalCluster.DefaultDirectory) ? "" : $" --data-dir {root}";
}
