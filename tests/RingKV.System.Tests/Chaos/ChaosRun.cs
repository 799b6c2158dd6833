using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Testing.Processes;
using StackExchange.Redis;

namespace RingKV.System.Tests.Chaos;

/// <summary>
/// One chaos run: a cluster of real nodes under the write-once workload while a seeded schedule kills, pauses and cuts
/// nodes; then heal, one repair pass on every node, QUORUM reads of every key written, the checker, and a second pass
/// that must repair nothing.
/// </summary>
/// <remarks>
/// Bounded: the faults stop at <see cref="ChaosOptions.Duration"/>; every wait has a deadline; the cluster is disposed
/// (every process killed) however the run ends. <paramref name="log"/> gets each step and the figures as they come.
/// </remarks>
public sealed class ChaosRun(ChaosOptions options, Action<string> log)
{
    private static readonly TimeSpan RecoverDeadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(2);
    private const int FinalReadTries = 5;
    private const int FinalReadBatch = 200;

    private readonly Stopwatch _clock = new();
    private readonly List<Fault> _injected = [];
    private readonly List<string> _errors = [];

    public async Task<ChaosReport> RunAsync()
    {
        var strict = options.Sloppy ? ([], "no (RINGKV_CHAOS_QUORUM=sloppy): stale reads are counted, not failed") : StrictQuorumFlag();
        log($"chaos: RINGKV_SEED={options.Seed} nodes={options.Nodes} duration={options.Duration.TotalSeconds:0} s clients={options.Clients} strict quorum: {strict.Describe}");
        var total = Stopwatch.StartNew();
        await using var cluster = await ChaosCluster.StartAsync(options.Nodes, options.Duration + TimeSpan.FromMinutes(30), strict.Flags).ConfigureAwait(false);
        log($"cluster formed in {total.Elapsed.TotalSeconds:0.0} s: {options.Nodes} nodes NORMAL and UP everywhere; times below are from the start of the load");

        var history = new History();
        var endpoints = Enumerable.Range(0, cluster.Count).Select(cluster.ClientEndPoint).ToArray();
        await using var workload = new Workload(endpoints, options.Seed, history, _clock, options.Pipeline);
        await workload.ConnectAsync(options.Clients).ConfigureAwait(false);

        _clock.Start();
        using var stop = new CancellationTokenSource();
        var load = workload.RunAsync(stop.Token);
        try
        {
            await InjectAsync(cluster).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _errors.Add($"fault schedule stopped at {_clock.Elapsed.TotalSeconds:0.0} s: {e.Message}");
        }

        // Heal whatever the schedule left (a failure midway), then stop the load: nothing is impaired from here on.
        await HealEverythingAsync(cluster).ConfigureAwait(false);
        var healed = Stopwatch.StartNew();
        await stop.CancelAsync().ConfigureAwait(false);
        await load.ConfigureAwait(false);
        log($"t={_clock.Elapsed.TotalSeconds:0.0} s: healed, load stopped after {history.Count} operations");

        var first = options.SkipRepair ? [] : RepairEverywhere(cluster, "first");
        var operations = history.Snapshot();
        var finals = await ReadFinalAsync(endpoints, operations).ConfigureAwait(false);
        var check = HistoryChecker.Check(operations, finals);
        var second = options.SkipRepair || first.Count < cluster.Count ? [] : RepairEverywhere(cluster, "second");
        var converge = healed.Elapsed;
        if (!check.Passed || _errors.Count > 0)
        {
            log(cluster.Logs());
        }

        if (options.OutputDirectory is { } directory)
        {
            Keep(directory, cluster, operations, finals);
        }

        return new ChaosReport
        {
            Options = options,
            StrictQuorum = strict.Describe,
            Check = check,
            Faults = _injected,
            DroppedBytes = cluster.DroppedBytes,
            FirstPass = first,
            SecondPass = second,
            Converge = converge,
            Elapsed = total.Elapsed,
            Errors = _errors,
        };
    }

    /// <summary>
    /// <c>--strict-quorum</c> when this build's <c>ringkv serve</c> has it (the cluster-wide switch of issue 12). A build
    /// without it has no sloppy quorum either: only the preference list's replicas count, which is strict quorum already.
    /// Rejected alternative: <c>KV.CONSISTENCY ... STRICT</c> per connection, which a client's reconnect after a kill
    /// would silently drop.
    /// </summary>
    private static (string[] Flags, string Describe) StrictQuorumFlag()
    {
        var help = RingKvRun.Start("serve", "--help");
        return help.Output.Contains("--strict-quorum", StringComparison.Ordinal)
            ? (["--strict-quorum"], "--strict-quorum on every node")
            : ([], "this build has no --strict-quorum flag and no sloppy quorum: only preference-list replicas count (strict)");
    }

    private async Task InjectAsync(ChaosCluster cluster)
    {
        await Task.Delay(Warmup).ConfigureAwait(false);
        var schedule = FaultSchedule.Create(options.Seed, cluster.Count, (int)(options.Duration.TotalSeconds / 2) + 3);
        foreach (var fault in schedule)
        {
            // The first round (one fault of each kind) always runs, however slow the machine; after it a fault starts
            // only when its hold and the restart after it fit in the run.
            if (_injected.Count >= FaultSchedule.KindsPerRound && _clock.Elapsed + fault.Hold + TimeSpan.FromSeconds(2) > options.Duration)
            {
                break;
            }

            log($"t={_clock.Elapsed.TotalSeconds:0.0} s: {fault}");
            _injected.Add(fault);
            await ApplyAsync(cluster, fault).ConfigureAwait(false);
            await Task.Delay(fault.Hold).ConfigureAwait(false);
            await RecoverAsync(cluster, fault).ConfigureAwait(false);
            var recovering = Stopwatch.StartNew();
            await Task.Run(() => cluster.WaitHealthy(RecoverDeadline, $"every node UP everywhere after '{fault}'")).ConfigureAwait(false);
            log($"t={_clock.Elapsed.TotalSeconds:0.0} s: recovered ({(recovering.Elapsed - ChaosCluster.Settle).TotalSeconds:0.0} s after the {fault.Kind.ToString().ToLowerInvariant()} ended, then healthy for {ChaosCluster.Settle.TotalSeconds:0} s)");
            await Task.Delay(fault.Gap).ConfigureAwait(false);
        }
    }

    private static Task ApplyAsync(ChaosCluster cluster, Fault fault)
    {
        switch (fault.Kind)
        {
            case FaultKind.Kill:
                cluster.Kill(fault.Nodes[0]);
                break;
            case FaultKind.Pause:
                cluster.Pause(fault.Nodes[0]);
                break;
            default:
                cluster.Cut(fault.Nodes, [.. Enumerable.Range(0, cluster.Count).Except(fault.Nodes)]);
                break;
        }

        return Task.CompletedTask;
    }

    private static Task RecoverAsync(ChaosCluster cluster, Fault fault) => fault.Kind switch
    {
        FaultKind.Kill => Task.Run(() => cluster.Restart(fault.Nodes[0])),
        FaultKind.Pause => Task.Run(() => cluster.Resume(fault.Nodes[0])),
        _ => Task.Run(cluster.HealAll),
    };

    private async Task HealEverythingAsync(ChaosCluster cluster)
    {
        try
        {
            await Task.Run(() =>
            {
                cluster.HealAll();
                for (var i = 0; i < cluster.Count; i++)
                {
                    if (!cluster.Nodes[i].IsRunning)
                    {
                        cluster.Restart(i);
                    }
                }

                cluster.WaitHealthy(RecoverDeadline, "every node UP everywhere after the final heal");
            }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _errors.Add($"the cluster did not recover after the final heal: {e.Message}");
        }
    }

    private List<RepairResult> RepairEverywhere(ChaosCluster cluster, string which)
    {
        var results = new List<RepairResult>();
        for (var i = 0; i < cluster.Count; i++)
        {
            try
            {
                var result = RepairPass.Run(i, cluster.ClientEndPoint(i));
                results.Add(result);
                log($"{which} repair pass on node{i}: {result.KeysRepaired} keys repaired in {result.Differed} of {result.Ranges} ranges, {result.BytesSent} bytes, {result.Elapsed.TotalSeconds:0.0} s");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _errors.Add($"{which} repair pass on node{i}: {e.Message}");
                break;
            }
        }

        return results;
    }

    /// <summary>Writes the history (CSV, one operation a line, in completion order), the final reads and every node's whole log to <paramref name="directory"/>.</summary>
    private void Keep(string directory, ChaosCluster cluster, List<Operation> operations, Dictionary<string, FinalRead> finals)
    {
        Directory.CreateDirectory(directory);
        using (var csv = new StreamWriter(Path.Combine(directory, "history.csv")))
        {
            csv.WriteLine("client,node,kind,key,value,invoked_s,completed_s,outcome,final,error");
            foreach (var op in operations)
            {
                var final = op.Kind == OperationKind.Write && finals.TryGetValue(op.Key, out var f) ? f.Value ?? (f.Answered ? "nil" : "unanswered") : "";
                csv.WriteLine(string.Join(',', op.Client, op.Node, op.Kind, op.Key, op.Value ?? "nil", Seconds(op.Invoked), Seconds(op.Completed), op.Outcome, final, Quote(op.Error)));
            }
        }

        for (var i = 0; i < cluster.Count; i++)
        {
            File.WriteAllText(Path.Combine(directory, $"node{i}.log"), cluster.Nodes[i].Log);
        }

        log($"history, final reads and node logs in {directory}");
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);

    private static string Quote(string? text) => text is null ? "" : $"\"{text.Replace("\"", "'", StringComparison.Ordinal).Replace('\n', ' ')}\"";

    /// <summary>Every key written, read at QUORUM (the nodes' default) through a node chosen by key, retried on errors.</summary>
    private static async Task<Dictionary<string, FinalRead>> ReadFinalAsync(IReadOnlyList<global::System.Net.IPEndPoint> endpoints, List<Operation> operations)
    {
        var connections = new List<ConnectionMultiplexer>();
        try
        {
            foreach (var endpoint in endpoints)
            {
                connections.Add(await ConnectionMultiplexer.ConnectAsync(Workload.Options(endpoint)).ConfigureAwait(false));
            }

            var keys = operations.Where(o => o.Kind == OperationKind.Write).Select(o => o.Key).ToArray();
            var finals = new Dictionary<string, FinalRead>(StringComparer.Ordinal);
            for (var at = 0; at < keys.Length; at += FinalReadBatch)
            {
                var batch = keys.Skip(at).Take(FinalReadBatch).Select((key, i) => ReadOneAsync(connections[(at + i) % connections.Count].GetDatabase(), key));
                foreach (var (key, read) in await Task.WhenAll(batch).ConfigureAwait(false))
                {
                    finals[key] = read;
                }
            }

            return finals;
        }
        finally
        {
            foreach (var connection in connections)
            {
                connection.Dispose();
            }
        }
    }

    private static async Task<(string Key, FinalRead Read)> ReadOneAsync(IDatabase db, string key)
    {
        string? error = null;
        for (var attempt = 0; attempt < FinalReadTries; attempt++)
        {
            try
            {
                return (key, new FinalRead((string?)await db.StringGetAsync(key).ConfigureAwait(false)));
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                error = $"{e.GetType().Name}: {e.Message.Split('\n')[0]}";
                await Task.Delay(200).ConfigureAwait(false);
            }
        }

        return (key, new FinalRead(null, $"{FinalReadTries} tries: {error}"));
    }
}
