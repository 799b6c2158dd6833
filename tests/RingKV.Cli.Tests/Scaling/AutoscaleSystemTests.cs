using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using RingKV.Testing.Processes;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Cli.Tests.Scaling;

/// <summary>
/// Issue 13's real-process proof: <c>ringkv cluster up --nodes 3</c>, a write-once QUORUM workload, <c>ringkv autoscale</c>
/// grows the cluster to 5 under the load and shrinks it back to 3 once the load is throttled; no client operation fails,
/// every acknowledged write reads back at QUORUM. Prints nodes over time, time per change, failures, and bytes streamed
/// per change against the ideal. bench/autoscale.sh runs it with a larger data set (RINGKV_AUTOSCALE_*).
/// </summary>
[Trait("Category", "System")]
public sealed partial class AutoscaleSystemTests
{
    private const int Replication = 3;

    /// <summary>How long each phase (grow, shrink) may take: two changes, each a window, a join or leave, a cooldown.</summary>
    private static readonly TimeSpan PhaseDeadline = TimeSpan.FromSeconds(Setting("RINGKV_AUTOSCALE_PHASE_SECONDS", 110));

    [Fact]
    public void Autoscale_LoadAboveThenBelowTheMarks_GrowsToFiveShrinksToThreeAndEveryAcknowledgedWriteReads()
    {
        var preload = Setting("RINGKV_AUTOSCALE_PRELOAD", 20000);
        var valueBytes = Setting("RINGKV_AUTOSCALE_VALUE_BYTES", 200);
        using var directory = new TempDirectory("ringkv-cli-autoscale");
        var basePort = FreePorts.BasePort(6);
        int[] ports = [basePort, basePort + 1, basePort + 2]; // node1-3: the autoscaler removes the highest ids, never these
        var seeds = Array.ConvertAll(ports, p => $"127.0.0.1:{p}");
        var clock = Stopwatch.StartNew();
        var report = new StringBuilder();
        void Log(string line)
        {
            var text = $"[{clock.Elapsed.TotalSeconds,6:0.0}s] {line}";
            report.Append(text).Append('\n');
            TestContext.Current.TestOutputHelper?.WriteLine(text);
        }

        Process? autoscale = null;
        var autoscaleLines = new List<(TimeSpan At, string Line)>();
        try
        {
            var up = RingKvRun.Start("cluster", "up", "--nodes", "3", "--base-port", $"{basePort}", "--data-dir", directory.Path, "--timeout", "60",
                "--", "--memory-mb", "64", "--read", "QUORUM", "--write", "QUORUM");
            Assert.True(up.ExitCode == 0, $"cluster up exited with {up.ExitCode}; stdout: {up.Output}; stderr: {up.Errors}");
            Log("cluster up: 3 nodes NORMAL and UP");

            var workload = new WriteOnceWorkload(clock, valueBytes);
            workload.Preload(ports, preload);
            Log($"preloaded {workload.Acknowledged} keys of {valueBytes} B values");
            using var monitor = new ClusterMonitor(clock, seeds, () => workload.Acknowledged);
            var idle = MeanOps(seeds, TimeSpan.FromSeconds(6), Log, "idle (the monitor's probes; the preload's figures fade first)");
            workload.Start([.. ports, .. ports]); // two clients per node1-3
            var perNode = MeanOps(seeds, TimeSpan.FromSeconds(6), Log, "under the workload");
            var high = Math.Max(20, (int)(perNode * 0.3)); // the mean per node is perNode at 3 nodes, 0.75 of it at 4: above, even if joins cost a third of the rate
            var low = Math.Max(15, Math.Max((int)(idle * 2) + 5, (int)(perNode * 0.08))); // above the throttled load (~2 ops/s per node), below the full load at 5 nodes (0.6 of perNode)
            Assert.True(low < high, $"the workload is too slow for a band: {perNode:0} ops/s per node (idle {idle:0}); low {low} must be below high {high}");
            Log($"workload at {perNode:0} ops/s per node of node1-3; marks: --high-ops {high} --low-ops {low}");

            autoscale = StartAutoscale(directory.Path, high, low, autoscaleLines, clock, Log);

            Log("phase 1: full load, waiting for 5 NORMAL nodes");
            WaitFor(() => monitor.Last() is { Normal: 5, InFlight: false } && Done(autoscaleLines, "ScaleOut") == 2, PhaseDeadline, "5 NORMAL nodes", monitor, autoscaleLines);

            workload.PauseBetweenWrites = TimeSpan.FromMilliseconds(1000); // about 6 writes a second in all: below the low mark
            Log("phase 2: load throttled to ~1 write/s per client, waiting for 3 NORMAL nodes");
            WaitFor(() => monitor.Last() is { Normal: 3, InFlight: false } && Done(autoscaleLines, "ScaleIn") == 2, PhaseDeadline, "3 NORMAL nodes", monitor, autoscaleLines);

            var acknowledged = workload.Stop();
            Log($"workload stopped: {acknowledged.Count} writes acknowledged, {workload.Failures().Count} failed");
            autoscale.Kill(entireProcessTree: true);
            autoscale.WaitForExit();

            var wrong = ReadBack(ports, acknowledged);
            Log($"read back at QUORUM: {acknowledged.Count - wrong.Count} of {acknowledged.Count} acknowledged writes match");

            var changes = Changes(autoscaleLines);
            var failures = workload.Failures();
            Report(Log, monitor, changes, failures, acknowledged.Count, preload, workload, valueBytes);
            if (Environment.GetEnvironmentVariable("RINGKV_AUTOSCALE_REPORT") is { Length: > 0 } reportFile)
            {
                File.WriteAllText(reportFile, report.ToString()); // bench/autoscale.sh prints it
            }

            Assert.True(changes.Count == 4 && changes.TrueForAll(c => c.Ok), $"expected 2 scale outs and 2 scale ins, all done; got:\n{string.Join("\n", changes)}\n{report}");
            Assert.True(failures.Count == 0, $"{failures.Count} client operations failed at QUORUM:\n{string.Join("\n", failures.ConvertAll(f => $"{f.At.TotalSeconds:0.0}s port {f.Port} {f.Key}: {f.Error}"))}\n{report}");
            Assert.True(wrong.Count == 0, $"{wrong.Count} acknowledged writes do not read back at QUORUM, e.g. {string.Join("; ", wrong.GetRange(0, Math.Min(10, wrong.Count)))}\n{report}");
        }
        finally
        {
            if (autoscale is { HasExited: false })
            {
                autoscale.Kill(entireProcessTree: true);
            }

            RingKvRun.Start("cluster", "down", "--data-dir", directory.Path, "--timeout", "10");
        }
    }

    /// <summary>
    /// The median of the mean ops/s node1-3 report (KV.RING <c>ops</c>), sampled twice a second for
    /// <paramref name="duration"/>, of the samples after its first half: the figures are gossiped a second or two late.
    /// </summary>
    private static double MeanOps(string[] seeds, TimeSpan duration, Action<string> log, string what)
    {
        var samples = new List<double>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            double sum = 0;
            var count = 0;
            foreach (var member in StatusCommand.AskRing(seeds[0], null, TimeSpan.FromSeconds(5)))
            {
                if (Array.IndexOf(seeds, member.Address) >= 0)
                {
                    sum += member.OpsPerSecond ?? 0;
                    count++;
                }
            }

            samples.Add(sum / Math.Max(1, count));
            Thread.Sleep(500); // the sampling period
        }

        log($"ops/s per node of node1-3, {what}: {string.Join(" ", samples.ConvertAll(s => s.ToString("0", CultureInfo.InvariantCulture)))}");
        var settled = samples.GetRange(samples.Count / 2, samples.Count - samples.Count / 2);
        settled.Sort();
        return settled[settled.Count / 2];
    }

    private static Process StartAutoscale(string directory, int high, int low, List<(TimeSpan At, string Line)> lines, Stopwatch clock, Action<string> log)
    {
        var start = new ProcessStartInfo(DotnetHost.Path())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] arguments = ["autoscale", "--data-dir", directory, "--min", "3", "--max", "5", "--high-ops", $"{high}", "--low-ops", $"{low}",
            "--interval", "1s", "--window", "5s", "--cooldown", "5s", "--change-timeout", "90s", "--max-runtime", $"{(int)(PhaseDeadline.TotalSeconds * 2) + 30}s"];
        start.ArgumentList.Add(ServerProcess.ServerPath());
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        ServerProcess.RemoveRingKvEnvironment(start);
        var process = new Process { StartInfo = start };
        void Received(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is { } line)
            {
                lock (lines)
                {
                    lines.Add((clock.Elapsed, line));
                }

                if (!line.Contains("autoscale: Hold", StringComparison.Ordinal))
                {
                    log("autoscale| " + line);
                }
            }
        }

        process.OutputDataReceived += Received;
        process.ErrorDataReceived += Received;
        Assert.True(process.Start(), "could not start ringkv autoscale");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        log($"started ringkv {string.Join(' ', arguments)}");
        return process;
    }

    private static void WaitFor(Func<bool> condition, TimeSpan deadline, string what, ClusterMonitor monitor, List<(TimeSpan At, string Line)> lines)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > deadline)
            {
                string log;
                lock (lines)
                {
                    log = string.Join("\n", lines.ConvertAll(l => $"{l.At.TotalSeconds:0.0}s {l.Line}"));
                }

                Assert.Fail($"no {what} within {deadline.TotalSeconds:0} s; ring: {monitor.Last()?.View}\nautoscale log:\n{log}");
            }

            Thread.Sleep(250); // polling a condition with a deadline
        }
    }

    /// <summary>How many changes of <paramref name="kind"/> (ScaleOut, ScaleIn) the autoscaler has logged done.</summary>
    private static int Done(List<(TimeSpan At, string Line)> lines, string kind)
    {
        var count = 0;
        foreach (var change in Changes(lines))
        {
            count += change.Summary.StartsWith(kind, StringComparison.Ordinal) && change.Ok ? 1 : 0;
        }

        return count;
    }

    /// <summary>A change the autoscaler applied: its decision line's time to its done (or failed) line's time.</summary>
    private sealed record Change(string Summary, TimeSpan Start, TimeSpan End, bool Ok, string Outcome);

    private static List<Change> Changes(List<(TimeSpan At, string Line)> lines)
    {
        var changes = new List<Change>();
        (string Summary, TimeSpan At)? open = null;
        lock (lines)
        {
            foreach (var (at, line) in lines)
            {
                var match = DecisionLine().Match(line);
                if (!match.Success)
                {
                    continue;
                }

                var summary = match.Groups["summary"].Value;
                switch (match.Groups["what"].Value)
                {
                    case ":" when !line.Contains("dry run", StringComparison.Ordinal):
                        open = (summary, at);
                        break;
                    case " done:" or " failed:" when open is { } o && o.Summary == summary:
                        changes.Add(new Change(summary, o.At, at, match.Groups["what"].Value == " done:", line));
                        open = null;
                        break;
                }
            }
        }

        return changes;
    }

    /// <summary>The acknowledged writes whose GET at QUORUM (the nodes' default) does not return their value, read pipelined through node1-3.</summary>
    private static List<string> ReadBack(int[] ports, List<(string Key, string Value)> acknowledged)
    {
        var wrong = new List<string>();
        const int Batch = 256;
        for (var start = 0; start < acknowledged.Count; start += Batch)
        {
            using var client = new RawClient(new IPEndPoint(IPAddress.Loopback, ports[start / Batch % ports.Length]));
            var end = Math.Min(acknowledged.Count, start + Batch);
            for (var i = start; i < end; i++)
            {
                client.Send(RawClient.Encode("GET", acknowledged[i].Key));
            }

            for (var i = start; i < end; i++)
            {
                var reply = RawClient.Describe(client.Read());
                if (reply != acknowledged[i].Value)
                {
                    wrong.Add($"{acknowledged[i].Key}: {(reply.Length > 60 ? reply[..60] + "..." : reply)}");
                }
            }
        }

        return wrong;
    }

    private static void Report(Action<string> log, ClusterMonitor monitor, List<Change> changes, List<(TimeSpan At, int Port, string Key, string Error)> failures,
        int acknowledged, int preload, WriteOnceWorkload workload, int valueBytes)
    {
        log("nodes over time (the ring as node1-3 see it; LEFT nodes left out):");
        foreach (var (at, view) in monitor.Changes())
        {
            log($"  {at.TotalSeconds,6:0.0}s  {view}");
        }

        var recordBytes = workload.Record("c0", 100000).Key.Length + valueBytes; // key + value of one write
        log("change          start     time  failed ops  streamed (received)   data set   ideal     ratio");
        var nodes = 3;
        foreach (var change in changes)
        {
            var joining = change.Summary.StartsWith("ScaleOut", StringComparison.Ordinal);
            var before = monitor.Before(change.Start);
            var after = monitor.After(change.End);
            var streamed = (after?.Received ?? 0) - (before?.Received ?? 0);
            var failed = failures.FindAll(f => f.At >= change.Start && f.At <= change.End).Count;
            var keys = before?.Keys ?? preload;
            var data = (double)keys * recordBytes;
            var ideal = joining ? data * Replication / (nodes + 1) : data * Replication / nodes; // a joiner's share of the replicas, or the leaver's
            log($"{change.Summary,-14}  {change.Start.TotalSeconds,6:0.0}s  {(change.End - change.Start).TotalSeconds,5:0.0}s  {failed,10}  {StatusReportBytes(streamed),20}  {StatusReportBytes((long)data),9}  {StatusReportBytes((long)ideal),8}  {(ideal > 0 ? streamed / ideal : 0),5:0.00}{(change.Ok ? "" : "  FAILED: " + change.Outcome)}");
            nodes += joining ? 1 : -1;
        }

        log($"client operations: {acknowledged} acknowledged, {failures.Count} failed ({failures.FindAll(f => changes.Exists(c => f.At >= c.Start && f.At <= c.End)).Count} during changes)");
        foreach (var failure in failures.GetRange(0, Math.Min(20, failures.Count)))
        {
            log($"  failed at {failure.At.TotalSeconds:0.0}s through port {failure.Port}, {failure.Key}: {failure.Error}");
        }
    }

    private static string StatusReportBytes(long bytes) => RingKV.Cli.Admin.StatusReport.HumanBytes(bytes);

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;

    [GeneratedRegex(@"autoscale: (?<summary>Scale(Out|In) [^:]+?)(?<what>:| done:| failed:)")]
    private static partial Regex DecisionLine();
}
