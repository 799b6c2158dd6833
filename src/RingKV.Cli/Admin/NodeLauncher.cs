using System;
using System.Diagnostics;
using System.IO;

namespace RingKV.Cli.Admin;

/// <summary>Starts one local node in the background and waits for it to answer: what <c>cluster up</c> and <c>cluster add</c> (and through it the autoscaler's local provider) share.</summary>
internal static class NodeLauncher
{
    /// <summary>How long one PING of a starting node may take before it is asked again.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Lines of a failed node's log an error shows.</summary>
    public const int LogLinesShown = 20;

    /// <summary>Creates the node's data directory, starts it detached (stdout and stderr into its log) and writes its pid file.</summary>
    /// <exception cref="IOException">A directory or file could not be written.</exception>
    /// <exception cref="InvalidOperationException">The process could not be started.</exception>
    public static Process Start(LocalNode node)
    {
        Directory.CreateDirectory(node.DataDirectory);
        var process = NodeProcesses.StartDetached(node.ServeArguments, node.LogFile);
        NodeProcesses.WritePid(node.PidFile, process.Id);
        return process;
    }

    /// <summary>
    /// Waits until <paramref name="node"/> answers PING (after AUTH when a password is given), calling
    /// <paramref name="pause"/> between probes; null then, else why not (it exited, or the deadline passed) with its
    /// log's last lines.
    /// </summary>
    public static string? WaitForPing(LocalNode node, Process process, string? password, TimeSpan timeout, Action pause)
    {
        var clock = Stopwatch.StartNew();
        var last = "";
        while (true)
        {
            if (process.HasExited)
            {
                return $"{node.Name} ({node.Address}) exited with code {process.ExitCode} before answering PING\n{NodeProcesses.LastLines(node.LogFile, LogLinesShown)}";
            }

            try
            {
                using var client = RespClient.Connect(node.Address, ProbeTimeout);
                if (password is not null)
                {
                    client.Call("AUTH", password);
                }

                var reply = client.Call("PING");
                if (reply is { Kind: RespReplyKind.SimpleString, Text: "PONG" })
                {
                    return null;
                }

                last = $"PING got {reply}";
            }
            catch (RespClientException e)
            {
                last = e.Message;
            }

            if (clock.Elapsed >= timeout)
            {
                return $"{node.Name} ({node.Address}) did not answer PING within {timeout.TotalSeconds:0.#} s (last: {last})\n{NodeProcesses.LastLines(node.LogFile, LogLinesShown)}";
            }

            pause();
        }
    }
}
