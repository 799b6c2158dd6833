using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using Xunit;

namespace RingKV.Simulation;

/// <summary>WAIT's truth under faults, over many seeds: see <see cref="WaitRun"/> for the invariants.</summary>
public sealed class WaitSimulationTests(ITestOutputHelper output)
{
    [Fact]
    public void Wait_RandomWritesWithFaults_CountsOnlyReplicasThatHoldTheWrite()
    {
        var replay = Environment.GetEnvironmentVariable("RINGKV_SEED") is { Length: > 0 } r ? r : null;
        var count = replay is not null ? 1
            : Environment.GetEnvironmentVariable("RINGKV_SIM_SEEDS") is { Length: > 0 } c ? int.Parse(c, CultureInfo.InvariantCulture) : 200;
        long first = replay is not null ? long.Parse(replay, CultureInfo.InvariantCulture) : Random.Shared.Next(1, int.MaxValue / 2);
        output.WriteLine($"seeds {first}..{first + count - 1} (RINGKV_SEED=<n> replays one)");
        var failures = new List<string>();
        var watch = Stopwatch.StartNew();
        long writes = 0, waits = 0, waited = 0;
        for (var seed = first; seed < first + count; seed++)
        {
            var run = new WaitRun(seed);
            try
            {
                run.Run();
            }
            catch (SimulationFailure e)
            {
                failures.Add(e.Message);
                if (failures.Count >= 3)
                {
                    break;
                }
            }

            writes += run.WritesAcknowledged;
            waits += run.WaitsAnswered;
            waited += run.WaitsThatWaited;
        }

        output.WriteLine($"{count} seeds in {watch.Elapsed.TotalSeconds:F1} s: {writes} writes acknowledged, {waits} WaitAcks answered, {waited} of them waited for late acknowledgements");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.True(waited > 0, "no WaitAcks ever waited: the workload does not exercise late acknowledgements");
    }
}
