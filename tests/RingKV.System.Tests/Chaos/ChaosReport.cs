using System;
using System.Collections.Generic;
using System.Linq;

namespace RingKV.System.Tests.Chaos;

/// <summary>The figures of one chaos run, and whether it passed.</summary>
public sealed class ChaosReport
{
    public required ChaosOptions Options { get; init; }

    /// <summary>How the run asked for strict quorum (the node flag, or why not).</summary>
    public required string StrictQuorum { get; init; }

    public required CheckResult Check { get; init; }

    public required IReadOnlyList<Fault> Faults { get; init; }

    public required long DroppedBytes { get; init; }

    /// <summary>The first repair pass on every node (empty when skipped or failed).</summary>
    public required IReadOnlyList<RepairResult> FirstPass { get; init; }

    /// <summary>The second pass on every node: replicas agree when it repairs nothing.</summary>
    public required IReadOnlyList<RepairResult> SecondPass { get; init; }

    /// <summary>From the last heal to the repair passes done and every check evaluated.</summary>
    public required TimeSpan Converge { get; init; }

    public required TimeSpan Elapsed { get; init; }

    /// <summary>What went wrong outside the checker: a repair command failing, the cluster not recovering.</summary>
    public required IReadOnlyList<string> Errors { get; init; }

    /// <summary>Keys the second repair pass repaired, over every node.</summary>
    public long SecondPassKeys => SecondPass.Sum(r => r.KeysRepaired);

    /// <summary>Every check passed: no acknowledged write lost, no stale or wrong read, repair ran twice and the second pass repaired nothing.</summary>
    public bool Passed => Check.LostWrites.Count == 0 && Check.WrongValues.Count == 0 && Check.RefusedWritesPresent.Count == 0 && (Options.Sloppy || Check.StaleReads.Count == 0) && Errors.Count == 0 && !Options.SkipRepair && SecondPass.Count == Options.Nodes && SecondPassKeys == 0;

    public IEnumerable<string> Lines()
    {
        var c = Check;
        var writes = c.WritesOk + c.WritesFailed + c.WritesUnknown;
        var reads = c.ReadsOk + c.ReadsFailed + c.ReadsUnknown;
        yield return $"chaos: RINGKV_SEED={Options.Seed} nodes={Options.Nodes} faults for {Options.Duration.TotalSeconds:0} s, {Options.Clients} clients x {Options.Nodes} connections, {Options.Pipeline} operation(s) at a time; strict quorum: {StrictQuorum}";
        yield return $"operations: {writes + reads} (ok {c.WritesOk + c.ReadsOk} / fail {c.WritesFailed + c.ReadsFailed} / unknown {c.WritesUnknown + c.ReadsUnknown}); writes {writes} (ok {c.WritesOk} / fail {c.WritesFailed} / unknown {c.WritesUnknown}), reads {reads} (ok {c.ReadsOk} / fail {c.ReadsFailed} / unknown {c.ReadsUnknown})";
        var kinds = Enum.GetValues<FaultKind>().Select(k => $"{k.ToString().ToLowerInvariant()} {Faults.Count(f => f.Kind == k)}");
        yield return $"faults injected: {Faults.Count} ({string.Join(", ", kinds)}); the proxies dropped {DroppedBytes} bytes while cut";
        yield return $"acknowledged writes lost: {c.LostWrites.Count}";
        yield return $"stale reads: {c.StaleReads.Count}{(Options.Sloppy ? " (sloppy quorum: allowed)" : "")}";
        yield return $"reads of a value never written: {c.WrongValues.Count}";
        yield return $"writes refused (UNAVAILABLE: nothing sent) but present at the end: {c.RefusedWritesPresent.Count}";
        yield return $"unknown-outcome writes present at the end: {c.UnknownWritesPresent} of {c.WritesUnknown}; failed writes present: {c.FailedWritesPresent.Count} of {c.WritesFailed}; final reads unanswered (unacknowledged keys): {c.FinalReadsUnanswered}";
        yield return Options.SkipRepair
            ? "repair: SKIPPED (RINGKV_CHAOS_SKIP_REPAIR): replica agreement not checked"
            : $"repair: first pass repaired {FirstPass.Sum(r => r.KeysRepaired)} keys on {FirstPass.Count} nodes ({FirstPass.Sum(r => r.BytesSent)} bytes); second pass repaired {SecondPassKeys} keys on {SecondPass.Count} nodes (must be 0)";
        yield return Passed
            ? $"time to converge (heal -> repair done and all checks pass): {Converge.TotalSeconds:0.0} s; whole run {Elapsed.TotalSeconds:0.0} s"
            : $"time to converge: not converged (checks ended {Converge.TotalSeconds:0.0} s after the heal); whole run {Elapsed.TotalSeconds:0.0} s";
        foreach (var error in Errors)
        {
            yield return $"error: {error}";
        }

        foreach (var (what, list) in new[] { ("lost", c.LostWrites), ("stale", c.StaleReads), ("wrong", c.WrongValues), ("refused but present", c.RefusedWritesPresent), ("failed but present", c.FailedWritesPresent) })
        {
            foreach (var v in list.Take(10))
            {
                yield return $"  {what}: {v}";
            }

            if (list.Count > 10)
            {
                yield return $"  {what}: ... {list.Count - 10} more";
            }
        }

        foreach (var r in SecondPass.Where(r => r.KeysRepaired > 0))
        {
            yield return $"  second pass on node{r.Node} repaired {r.KeysRepaired} keys in {r.Differed} of {r.Ranges} ranges";
        }

        yield return Passed ? "chaos: PASSED" : "chaos: FAILED";
    }
}
