using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using RingKV.Testing.Support;

namespace RingKV.Server.Tests.Cluster;

/// <summary>A temp directory for <c>ringkv cluster up</c>; dispose kills whatever node its pid files still name, then deletes it.</summary>
/// <remarks>
/// The safety net for a failing test: the nodes are background processes that outlive <c>cluster up</c>, so
/// without it a failed assertion would leave them running. A pid is killed only when its command line names this
/// directory, so a pid the system reused for another process is left alone.
/// </remarks>
public sealed class ClusterDirectory : IDisposable
{
    private readonly TempDirectory _directory = new("ringkv-cluster-tests");

    public string Path => _directory.Path;

    /// <summary>The pids in the pid files, by file name.</summary>
    public Dictionary<string, int> Pids()
    {
        var pids = new Dictionary<string, int>();
        foreach (var file in Directory.EnumerateFiles(Path, "*.pid"))
        {
            if (int.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                pids[System.IO.Path.GetFileName(file)] = pid;
            }
        }

        return pids;
    }

    /// <summary>Whether <paramref name="pid"/> is alive (not a zombie) and its command line names this directory.</summary>
    public bool IsOurs(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            if (stat[stat.LastIndexOf(')') + 2] is 'Z' or 'X')
            {
                return false;
            }

            return File.ReadAllText($"/proc/{pid}/cmdline").Contains(Path, StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        foreach (var pid in Pids().Values)
        {
            if (IsOurs(pid))
            {
                try
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill();
                    process.WaitForExit(TimeSpan.FromSeconds(30));
                }
                catch (ArgumentException)
                {
                    // Exited meanwhile.
                }
            }
        }

        _directory.Dispose();
    }
}
