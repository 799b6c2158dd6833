using System;
using System.Linq;
using System.Threading.Tasks;
using RingKV.System.Tests.Chaos;
using Xunit;

namespace RingKV.System.Tests;

/// <summary>
/// The chaos test of issue 12: five real nodes under a write-once workload while a seeded schedule kills -9, SIGSTOPs
/// and cuts nodes; after the heal and one repair pass every acknowledged write reads back, replicas agree (a second
/// pass repairs nothing) and no strict-quorum read returned nil for a write acknowledged before it began.
/// </summary>
/// <remarks>
/// CI runs it for 40 s of faults; <c>bench/chaos.sh --minutes M</c> runs the same test longer (RINGKV_CHAOS_MINUTES).
/// A failure prints RINGKV_SEED=...: the same seed gives the same faults and client choices (not the same timing).
/// </remarks>
[Collection("cluster processes")]
public sealed class ChaosTests
{
    [Fact]
    [Trait("Category", "System")]
    public async Task Chaos_KillPauseCut_NoAcknowledgedWriteLost_ReplicasAgree_NoStaleRead()
    {
        var options = ChaosOptions.FromEnvironment();
        Assert.False(
            options.SkipRepair && Environment.GetEnvironmentVariable("CI") == "true",
            "RINGKV_CHAOS_SKIP_REPAIR is for trying the harness by hand: CI must run the repair passes");

        var report = await new ChaosRun(options, Log).RunAsync();
        var lines = report.Lines().ToList();
        foreach (var line in lines)
        {
            Log(line);
        }

        var figures = string.Join('\n', lines);
        Assert.True(report.Check.LostWrites.Count == 0, $"acknowledged writes lost\n{figures}");
        Assert.True(options.Sloppy || report.Check.StaleReads.Count == 0, $"stale reads under strict quorum\n{figures}");
        Assert.True(report.Check.WrongValues.Count == 0, $"reads of values never written\n{figures}");
        Assert.True(report.Check.RefusedWritesPresent.Count == 0, $"writes refused as UNAVAILABLE (nothing sent) were applied\n{figures}");
        Assert.True(report.Errors.Count == 0, $"the run did not complete\n{figures}");
        Assert.True(report.Faults.Select(f => f.Kind).Distinct().Count() == 3, $"every kind of fault injected\n{figures}");
        Assert.True(report.Check.WritesOk > 0 && report.Check.ReadsOk > 0, $"the workload ran\n{figures}");
        Assert.False(options.SkipRepair, $"repair skipped (RINGKV_CHAOS_SKIP_REPAIR): replica agreement not checked\n{figures}");
        Assert.True(report.SecondPassKeys == 0, $"replicas disagree: the second repair pass repaired {report.SecondPassKeys} keys\n{figures}");
        Assert.True(report.Passed, figures);
    }

    private static void Log(string line)
    {
        Console.WriteLine(line);
        TestContext.Current.TestOutputHelper?.WriteLine(line);
    }
}
