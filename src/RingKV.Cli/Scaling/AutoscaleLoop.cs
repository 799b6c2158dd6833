using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Cli.Admin;
using RingKV.Cluster.Membership;
using RingKV.Cluster.Scaling;

namespace RingKV.Cli.Scaling;

/// <summary>
/// The autoscaler's control loop: every interval it reads the load, asks the policy, logs the decision with its reason
/// as one line, writes it to autoscale.json, and applies it through the provider (unless a dry run).
/// </summary>
/// <remarks>
/// Not thread-safe: one <see cref="RunAsync"/> (or a test's <see cref="StepAsync"/> calls) at a time. A change is applied
/// within the step that decided it, so the loop reads nothing while a node joins or leaves; the provider returns when
/// the change is done, and the policy's cooldown starts then. A failed read or change is logged and the loop goes on:
/// a control loop that stops on the first unreachable node would stop scaling exactly when it matters.
/// </remarks>
internal sealed class AutoscaleLoop
{
    private readonly AutoscalePolicy _policy;
    private readonly ILoadSource _source;
    private readonly INodeProvider? _provider;
    private readonly TimeProvider _time;
    private readonly TextWriter _log;
    private readonly string? _statusFile;
    private readonly bool _dryRun;

    /// <param name="policy">The policy, owned by this loop from now on.</param>
    /// <param name="source">Where the load is read.</param>
    /// <param name="provider">Where nodes come from; null only for a dry run (every node then counts as removable).</param>
    /// <param name="time">The clock.</param>
    /// <param name="log">Where decisions go, one line each.</param>
    /// <param name="statusFile">autoscale.json's path, or null to write none.</param>
    /// <param name="dryRun">Decide and log, change nothing.</param>
    public AutoscaleLoop(AutoscalePolicy policy, ILoadSource source, INodeProvider? provider, TimeProvider time, TextWriter log, string? statusFile, bool dryRun)
    {
        if (provider is null && !dryRun)
        {
            throw new ArgumentNullException(nameof(provider), "only a dry run needs no provider");
        }

        _policy = policy;
        _source = source;
        _provider = provider;
        _time = time;
        _log = log;
        _statusFile = statusFile;
        _dryRun = dryRun;
    }

    /// <summary>Decisions made so far that change the cluster (applied or, in a dry run, only logged).</summary>
    public int Changes { get; private set; }

    /// <summary>Steps taken so far.</summary>
    public int Steps { get; private set; }

    /// <summary>Steps every <paramref name="interval"/> until <paramref name="maxRuntime"/> passes (if given) or <paramref name="cancel"/> fires.</summary>
    public async Task RunAsync(TimeSpan interval, TimeSpan? maxRuntime, CancellationToken cancel)
    {
        using var runtime = maxRuntime is { } limit ? new CancellationTokenSource(limit, _time) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancel, runtime.Token);
        var started = _time.GetUtcNow();
        _log.WriteLine($"{Stamp(started)} autoscale: every {Seconds(interval)}, provider {_provider?.Name ?? "none"}{(_dryRun ? ", dry run: decisions are logged, not applied" : "")}"
            + (maxRuntime is { } m ? $", stopping after {Seconds(m)}" : ""));
        try
        {
            while (!linked.IsCancellationRequested)
            {
                await StepAsync(linked.Token).ConfigureAwait(false);
                await Task.Delay(interval, _time, linked.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
        }

        var why = runtime.IsCancellationRequested ? "--max-runtime reached" : "stopped";
        _log.WriteLine($"{Stamp(_time.GetUtcNow())} autoscale: {why} after {Seconds(_time.GetUtcNow() - started)}: {Steps} decision(s), {Changes} change(s)");
    }

    /// <summary>One round: read, decide, log, record, apply. Returns the decision, or null when the load could not be read.</summary>
    public async Task<ScaleDecision?> StepAsync(CancellationToken cancel)
    {
        Steps++;
        var now = _time.GetUtcNow();
        ClusterLoad load;
        IReadOnlyList<ManagedNode> managed;
        try
        {
            load = await _source.ReadAsync(cancel).ConfigureAwait(false);
            managed = _provider is null ? [] : await _provider.ListAsync(cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _log.WriteLine($"{Stamp(now)} autoscale: Error: {e.Message}");
            Record(now, "Error", e.Message, 0, null);
            return null;
        }

        var sample = Sample(now, load, managed, _provider is null);
        var decision = _policy.Decide(sample);
        _log.WriteLine($"{Stamp(now)} autoscale: {decision.Summary}: {decision.Reason}");
        Record(now, decision.Summary, decision.Reason, decision.Nodes, InFlight(load.Members));
        if (!decision.IsChange)
        {
            return decision;
        }

        Changes++;
        if (_dryRun)
        {
            _log.WriteLine($"{Stamp(now)} autoscale: dry run: {decision.Summary} not applied");
            _policy.Completed(now);
            return decision;
        }

        Record(now, decision.Summary, decision.Reason, decision.Nodes, $"applying {decision.Summary}");
        try
        {
            if (decision.Action == ScaleAction.ScaleOut)
            {
                var added = await _provider!.AddNodesAsync(decision.Add, cancel).ConfigureAwait(false);
                _log.WriteLine($"{Stamp(_time.GetUtcNow())} autoscale: {decision.Summary} done: added {Names(added)}");
            }
            else
            {
                foreach (var id in decision.Remove)
                {
                    await _provider!.RemoveNodeAsync(id, cancel).ConfigureAwait(false);
                }

                _log.WriteLine($"{Stamp(_time.GetUtcNow())} autoscale: {decision.Summary} done: removed {string.Join(", ", decision.Remove)}");
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _log.WriteLine($"{Stamp(_time.GetUtcNow())} autoscale: {decision.Summary} failed: {e.Message}");
            Record(_time.GetUtcNow(), $"{decision.Summary} failed", e.Message, decision.Nodes, null);
        }
        finally
        {
            _policy.Completed(_time.GetUtcNow());
        }

        return decision;
    }

    /// <summary>The policy's view of a KV.RING read: states parsed, figures as reported, removable when the provider manages the node (or there is no provider).</summary>
    public static LoadSample Sample(DateTimeOffset now, ClusterLoad load, IReadOnlyList<ManagedNode> managed, bool allRemovable)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in managed)
        {
            ids.Add(node.Id);
        }

        var nodes = new List<NodeLoad>(load.Members.Count);
        foreach (var member in load.Members)
        {
            var state = member.State switch
            {
                "JOINING" => NodeState.Joining,
                "NORMAL" => NodeState.Normal,
                "LEAVING" => NodeState.Leaving,
                _ => NodeState.Left,
            };
            nodes.Add(new NodeLoad(member.Id, state, member.Status == "UP", member.OpsPerSecond, member.LoadBytes, member.P99Micros, member.CpuPercent, allRemovable || ids.Contains(member.Id)));
        }

        return new LoadSample(now, nodes, load.ReplicationFactor);
    }

    /// <summary>A UTC timestamp at the start of each log line: <c>2030-01-01T00:00:05Z</c>.</summary>
    public static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private void Record(DateTimeOffset now, string decision, string reason, int nodes, string? inFlight)
    {
        if (_statusFile is null)
        {
            return;
        }

        try
        {
            new AutoscaleStatus(now, decision, reason, nodes, inFlight, _dryRun, Environment.ProcessId).Write(_statusFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.WriteLine($"{Stamp(now)} autoscale: cannot write {_statusFile}: {e.Message}");
        }
    }

    private static string? InFlight(IReadOnlyList<RingMember> members)
    {
        var parts = new List<string>();
        foreach (var member in members)
        {
            if (member.State is "JOINING" or "LEAVING")
            {
                parts.Add($"{member.Id} {member.State}");
            }
        }

        return parts.Count == 0 ? null : string.Join(", ", parts);
    }

    private static string Names(IReadOnlyList<ManagedNode> nodes)
    {
        var parts = new List<string>();
        foreach (var node in nodes)
        {
            parts.Add($"{node.Id} ({node.Address}, {node.Detail})");
        }

        return string.Join(", ", parts);
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";
}
