using System.Diagnostics;
using Xunit;

namespace RingKV.Simulation;

/// <summary>WAIT's truth under faults, over many seeds: see <see cref="WaitRun"/> for the invariants.</summary>
public sealed class WaitSimulationTests(ITestOutputHelper output)
{
    [Fact]
    public void Wait_RandomWritesWithFaults_CountsOnlyReplicasThatHoldTheWrite()
    {
        var sweep = new SeedSweep(defaultCount: 200);
        output.WriteLine(sweep.Range);
        var watch = Stopwatch.StartNew();
        long writes = 0, waits = 0, waited = 0;
        sweep.Run(seed =>
        {
            var run = new WaitRun(seed);
            try
            {
                run.Run();
            }
            finally
            {
                writes += run.WritesAcknowledged;
                waits += run.WaitsAnswered;
                waited += run.WaitsThatWaited;
            }
        });

        output.WriteLine($"{sweep.Ran} seeds in {watch.Elapsed.TotalSeconds:F1} s: {writes} writes acknowledged, {waits} WaitAcks answered, {waited} of them waited for late acknowledgements");
        Assert.True(sweep.Failures.Count == 0, sweep.FailureReport);
        Assert.True(waited > 0, "no WaitAcks ever waited: the workload does not exercise late acknowledgements");
    }
}
