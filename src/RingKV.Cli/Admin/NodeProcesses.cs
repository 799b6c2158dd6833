using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;

namespace RingKV.Cli.Admin;

/// <summary>Starts, finds and signals the node processes of a local cluster (POSIX only: signals and <c>/bin/sh</c>).</summary>
internal static partial class NodeProcesses
{
    private const int SigTerm = 15;
    private const int SigKill = 9;
    private const int NoSuchProcess = 3; // ESRCH

    /// <summary>How often a wait for a process that is not our child looks again: there is no event for its exit short of pidfd.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Starts <c>ringkv</c> (this same executable) with <paramref name="arguments"/> in the background: stdin from /dev/null,
    /// stdout and stderr into <paramref name="logFile"/> (truncated), so it outlives this process and holds none of its pipes.
    /// </summary>
    /// <remarks>
    /// <c>/bin/sh</c> sets up the redirection and then <c>exec</c>s ringkv, so the pid returned is the node's own.
    /// Rejected alternative: <see cref="Process"/>'s redirection, whose pipes end with this process and would then
    /// fail the node's next log write. The node stays in this process's group, so a Ctrl-C during <c>cluster up</c>
    /// stops the nodes started so far too (they stop gracefully on SIGINT).
    /// </remarks>
    public static Process StartDetached(IReadOnlyList<string> arguments, string logFile)
    {
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("log=$1; shift; exec \"$@\" >\"$log\" 2>&1 </dev/null");
        start.ArgumentList.Add("ringkv-node");
        start.ArgumentList.Add(logFile);
        foreach (var part in Self())
        {
            start.ArgumentList.Add(part);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("could not start /bin/sh");
    }

    /// <summary>
    /// The command that runs this executable again: the apphost (<c>ringkv</c>), or the dotnet host and this assembly
    /// when started as <c>dotnet ringkv.dll</c>.
    /// </summary>
    public static List<string> Self()
    {
        var path = Environment.ProcessPath ?? throw new InvalidOperationException("the path of this executable is unknown");
        var command = new List<string> { path };
        if (Path.GetFileNameWithoutExtension(path) == "dotnet")
        {
            var assembly = Assembly.GetEntryAssembly()?.Location;
            if (string.IsNullOrEmpty(assembly))
            {
                throw new InvalidOperationException("running under the dotnet host, but the path of ringkv.dll is unknown");
            }

            command.Add(assembly);
        }

        return command;
    }

    /// <summary>
    /// Whether <paramref name="pid"/> is a live process running the node of <paramref name="dataDirectory"/>. On Linux
    /// its command line must hold that directory, so a stale pid file whose pid the system gave to another process
    /// never gets that process signalled; a zombie counts as exited. Elsewhere: whether the pid is alive.
    /// </summary>
    public static bool IsNode(int pid, string dataDirectory)
    {
        var proc = $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}";
        if (Directory.Exists("/proc/self"))
        {
            try
            {
                var stat = File.ReadAllText(proc + "/stat");
                var state = stat.LastIndexOf(')') is var end and > 0 && end + 2 < stat.Length ? stat[end + 2] : '?';
                if (state is 'Z' or 'X')
                {
                    return false;
                }

                var arguments = File.ReadAllText(proc + "/cmdline").Split('\0');
                return Array.IndexOf(arguments, dataDirectory) >= 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false; // gone, or not ours to read
            }
        }

        return Kill(pid, 0) == 0 || Marshal.GetLastPInvokeError() != NoSuchProcess;
    }

    /// <summary>Sends SIGTERM: the node stops gracefully.</summary>
    public static void Terminate(int pid) => Kill(pid, SigTerm);

    /// <summary>Sends SIGKILL.</summary>
    public static void ForceKill(int pid) => Kill(pid, SigKill);

    /// <summary>Waits until the node of <paramref name="dataDirectory"/> is no longer running as <paramref name="pid"/>, or the deadline passes.</summary>
    public static bool WaitForExit(int pid, string dataDirectory, Stopwatch clock, TimeSpan deadline)
    {
        while (IsNode(pid, dataDirectory))
        {
            if (clock.Elapsed >= deadline)
            {
                return false;
            }

            Thread.Sleep(PollInterval);
        }

        return true;
    }

    /// <summary>The pid a pid file holds, or null when it holds none.</summary>
    public static int? ReadPid(string pidFile)
    {
        try
        {
            return int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0 ? pid : null;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Writes a pid file whole: to a temp file, then renamed over, so a reader never sees half a pid.</summary>
    public static void WritePid(string pidFile, int pid)
    {
        var temp = pidFile + ".tmp";
        File.WriteAllText(temp, pid.ToString(CultureInfo.InvariantCulture) + "\n");
        File.Move(temp, pidFile, overwrite: true);
    }

    /// <summary>The last <paramref name="count"/> lines of a log, indented, for an error message; a note when there is none.</summary>
    public static string LastLines(string logFile, int count)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(logFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"  (no log at {logFile}: {e.Message})";
        }

        if (lines.Length == 0)
        {
            return $"  ({logFile} is empty)";
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"  last lines of {logFile}:\n");
        for (var i = Math.Max(0, lines.Length - count); i < lines.Length; i++)
        {
            text.Append("    ").Append(lines[i]).Append('\n');
        }

        return text.ToString().TrimEnd('\n');
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
