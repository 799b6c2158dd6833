using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
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
    private static int s_next;
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

    /// <summary>
    /// A base port P such that P..P+count-1 and P+10000..P+10000+count-1 are free now. Both runs stay below 32768,
    /// where Linux's ephemeral range starts, so the kernel does not hand them to outgoing connections (or to another
    /// test's port-0 listener) meanwhile; each call starts where the last one ended, so tests running in parallel
    /// in this process do not probe the same run and race to bind it.
    /// </summary>
    public static int FreeBasePort(int count)
    {
        const int First = 20000, Span = 32768 - 10000 - First; // peer ports P+10000 end below 32768
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var offset = Interlocked.Add(ref s_next, count + 1) - (count + 1);
            var candidate = First + (((Environment.ProcessId * 7) + offset) % (Span - count));
            if (AllFree(candidate, count))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("no free run of ports for a local cluster");
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

    private static bool AllFree(int basePort, int count)
    {
        for (var i = 0; i < count; i++)
        {
            foreach (var port in new[] { basePort + i, basePort + i + 10000 })
            {
                var probe = new TcpListener(IPAddress.Loopback, port);
                try
                {
                    probe.Start();
                }
                catch (SocketException)
                {
                    return false;
                }
                finally
                {
                    probe.Stop();
                }
            }
        }

        return true;
    }
}
