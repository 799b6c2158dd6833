using System;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using RingKV.Testing.Processes;

namespace RingKV.System.Tests.Chaos;

/// <summary>Runs one full anti-entropy pass on a node through the published command, <c>ringkv repair --host H:P</c>.</summary>
/// <remarks>
/// The command's contract: it runs one full pass on that node, exits 0 when done, and its last line of output is
/// <c>repaired N keys in R ranges (D differed), sent B bytes, T s</c>. Everything the chaos run knows about repair
/// is in this one method, so a change of the command changes only it. Rejected alternative: <c>KV.REPAIR</c> and
/// polling <c>KV.REPAIR STATUS</c> over RESP, which tests the command layer but not the CLI users run.
/// </remarks>
public static partial class RepairPass
{
    /// <summary>Runs the pass on node <paramref name="node"/> (RESP at <paramref name="client"/>); throws with the output when it fails or says something else.</summary>
    public static RepairResult Run(int node, IPEndPoint client)
    {
        var clock = Stopwatch.StartNew();
        var run = RingKvRun.Start("repair", "--host", $"{client.Address}:{client.Port}");
        clock.Stop();
        return Parse(node, $"ringkv repair --host {client}", run, clock.Elapsed);
    }

    /// <summary>The pass's figures from the command's exit code and last line of output (progress bars and colors stripped).</summary>
    public static RepairResult Parse(int node, string command, RingKvRun run, TimeSpan elapsed)
    {
        var lines = AnsiEscape().Replace(run.Output, "").Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var last = lines.Length > 0 ? lines[^1] : "";
        var match = Summary().Match(last);
        if (run.ExitCode != 0 || !match.Success)
        {
            throw new InvalidOperationException(
                $"{command} (node{node}) exited {run.ExitCode} with last line '{last}'; stdout: {Tail(run.Output)}; stderr: {Tail(run.Errors)}");
        }

        return new RepairResult(node, Number(match, "keys"), Number(match, "ranges"), Number(match, "differed"), Number(match, "bytes"), elapsed);
    }

    private static long Number(Match match, string group) => long.Parse(match.Groups[group].Value, NumberStyles.None, CultureInfo.InvariantCulture);

    private static string Tail(string text) => text.Length <= 2000 ? text : "..." + text[^2000..];

    [GeneratedRegex(@"^repaired (?<keys>[0-9]+) keys in (?<ranges>[0-9]+) ranges \((?<differed>[0-9]+) differed\), sent (?<bytes>[0-9]+) bytes, [0-9.]+ s$")]
    private static partial Regex Summary();

    [GeneratedRegex(@"\x1b\[[0-9;?]*[A-Za-z]")]
    private static partial Regex AnsiEscape();
}
