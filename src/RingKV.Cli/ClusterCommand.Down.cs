using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using RingKV.Cli.Admin;

namespace RingKV.Cli;

internal static partial class ClusterCommand
{
    /// <summary>How long a node has to die after SIGKILL before <c>cluster down</c> gives up on it.</summary>
    private static readonly TimeSpan KillDeadline = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Stops every node with a pid file under <paramref name="root"/>: SIGTERM to all, a wait up to
    /// <paramref name="timeout"/>, SIGKILL (said) to those still running; pid files of stopped or already-dead nodes are
    /// removed. Nothing running: says so and returns 0. Returns 1 only when a node survives SIGKILL (its pid file stays).
    /// </summary>
    internal static int Down(string root, TimeSpan timeout, TextWriter output, TextWriter errors)
    {
        var running = new List<(string Name, int Pid, string DataDirectory, string PidFile)>();
        var stale = 0;
        foreach (var (name, pidFile) in LocalCluster.PidFiles(root))
        {
            var dataDirectory = Path.Combine(root, name);
            if (NodeProcesses.ReadPid(pidFile) is { } pid && NodeProcesses.IsNode(pid, dataDirectory))
            {
                running.Add((name, pid, dataDirectory, pidFile));
            }
            else
            {
                File.Delete(pidFile);
                stale++;
            }
        }

        if (running.Count == 0)
        {
            var removed = stale == 0 ? "" : $" (removed {stale} pid file(s) of nodes no longer running)";
            output.WriteLine($"no running nodes in {root}{removed}");
            return 0;
        }

        var survivors = Stop(running, timeout, output);
        if (survivors > 0)
        {
            errors.WriteLine($"ringkv cluster down: {survivors} node(s) still running after SIGKILL; their pid files stay");
            return 1;
        }

        output.WriteLine($"stopped {running.Count} node(s) in {root}");
        return 0;
    }

    /// <summary>SIGTERM to every node, a shared wait up to <paramref name="timeout"/>, SIGKILL to the rest; removes the pid files of those that exited and returns how many did not.</summary>
    private static int Stop(List<(string Name, int Pid, string DataDirectory, string PidFile)> nodes, TimeSpan timeout, TextWriter output)
    {
        foreach (var node in nodes)
        {
            NodeProcesses.Terminate(node.Pid);
        }

        var clock = Stopwatch.StartNew();
        var survivors = 0;
        foreach (var (name, pid, dataDirectory, pidFile) in nodes)
        {
            if (NodeProcesses.WaitForExit(pid, dataDirectory, clock, timeout))
            {
                output.WriteLine($"{name} (pid {pid}) stopped");
            }
            else
            {
                NodeProcesses.ForceKill(pid);
                if (!NodeProcesses.WaitForExit(pid, dataDirectory, Stopwatch.StartNew(), KillDeadline))
                {
                    output.WriteLine($"{name} (pid {pid}) did not exit within {timeout.TotalSeconds:0.#} s of SIGTERM, nor {KillDeadline.TotalSeconds:0.#} s of SIGKILL");
                    survivors++;
                    continue;
                }

                output.WriteLine($"{name} (pid {pid}) did not exit within {timeout.TotalSeconds:0.#} s of SIGTERM: killed with SIGKILL");
            }

            File.Delete(pidFile);
        }

        return survivors;
    }
}
