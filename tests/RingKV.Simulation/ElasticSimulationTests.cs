using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Xunit;

namespace RingKV.Simulation;

/// <summary>The elasticity seed sweep: each seed is one <see cref="ElasticRun"/> (a membership change under traffic and a fault, heal, cleanup, check).</summary>
/// <remarks>
/// 100 seeds from a fixed base by default; <see cref="SeedSweep"/> gives the variables that replay one seed, move the base or
/// draw a random one.
/// </remarks>
public sealed class ElasticSimulationTests(ITestOutputHelper output)
{
    [Fact]
    public void Elastic_MembershipChangesUnderTrafficAndFaults_KeepEveryInvariant()
    {
        // A fixed range by default, so CI is reproducible; RINGKV_SIM_BASE=random (or a number) explores others.
        var sweep = new SeedSweep(defaultCount: 100, defaultBase: 13_000_000);
        output.WriteLine(sweep.Range);
        var watch = Stopwatch.StartNew();
        long requests = 0, messages = 0, checkpoints = 0, cleaned = 0, repaired = 0, exempt = 0, goneHints = 0;
        var changes = new SortedDictionary<string, (int Runs, TimeSpan Longest)>(StringComparer.Ordinal);
        sweep.Run(seed =>
        {
            var run = new ElasticRun(seed);
            try
            {
                run.Run();
                var name = $"{run.Change}/{run.Fault}";
                changes[name] = changes.TryGetValue(name, out var seen) ? (seen.Runs + 1, seen.Longest > run.ChangeTook ? seen.Longest : run.ChangeTook) : (1, run.ChangeTook);
            }
            finally
            {
                requests += run.Submitted;
                messages += run.Messages;
                checkpoints += run.Checkpoints;
                cleaned += run.CleanupKeysRemoved;
                repaired += run.KeysRepairedAfterHeal;
                exempt += run.WritesLostWithDeadNode;
                goneHints += run.HintsForGoneNodes;
            }
        });

        output.WriteLine($"{sweep.Ran} seeds in {watch.Elapsed.TotalSeconds:F1} s, {sweep.Failures.Count} failed: {requests} requests, {messages} messages delivered, "
            + $"{checkpoints} checkpoints during changes, {cleaned} records removed by cleanup, {repaired} keys repaired by anti-entropy after the change, "
            + $"{exempt} acknowledged writes whose only copies died with a removed node, {goneHints} hints left for removed nodes");
        output.WriteLine("passed (change/fault: runs, longest change): " + string.Join("; ", changes.Select(p => $"{p.Key}: {p.Value.Runs}, {p.Value.Longest.TotalSeconds:F1} s")));
        Assert.True(sweep.Failures.Count == 0, sweep.FailureReport);
    }
}
