using System;
using System.Collections.Generic;
using System.Globalization;

namespace RingKV.Simulation;

/// <summary>The seeds one sweep runs, chosen from the environment, and the loop that runs them and gathers failures.</summary>
/// <remarks>
/// RINGKV_SEED=n replays seed n alone (a failure names its seed). Otherwise RINGKV_SIM_SEEDS seeds (the sweep's own default)
/// from RINGKV_SIM_BASE (a number, or "random") or, without it, from the sweep's default base: a fixed one keeps CI
/// reproducible, null draws a random one so every CI run covers new seeds. The range is printed either way, so a CI
/// sweep is replayed whole with RINGKV_SIM_BASE=first RINGKV_SIM_SEEDS=count. After three failures the sweep stops unless
/// RINGKV_SIM_ALL is set.
/// </remarks>
internal sealed class SeedSweep
{
    public long First { get; }

    public int Count { get; }

    public bool Replaying { get; }

    public List<string> Failures { get; } = [];

    /// <summary>Seeds run so far (fewer than <see cref="Count"/> when the sweep stopped at three failures).</summary>
    public int Ran { get; private set; }

    public SeedSweep(int defaultCount, long? defaultBase = null)
    {
        var replay = Environment.GetEnvironmentVariable("RINGKV_SEED") is { Length: > 0 } r ? r : null;
        Replaying = replay is not null;
        Count = Replaying ? 1
            : Environment.GetEnvironmentVariable("RINGKV_SIM_SEEDS") is { Length: > 0 } c ? int.Parse(c, CultureInfo.InvariantCulture) : defaultCount;
        var baseText = Environment.GetEnvironmentVariable("RINGKV_SIM_BASE") is { Length: > 0 } b ? b : null;
        First = replay is not null ? long.Parse(replay, CultureInfo.InvariantCulture)
            : baseText is not null && baseText != "random" ? long.Parse(baseText, CultureInfo.InvariantCulture)
            : baseText is null && defaultBase is { } fixedBase ? fixedBase
            : Random.Shared.Next(1, int.MaxValue / 2);
    }

    public string Range => $"seeds {First}..{First + Count - 1} (RINGKV_SEED=<n> replays one; RINGKV_SIM_BASE={First} RINGKV_SIM_SEEDS={Count} the sweep)";

    /// <summary>Runs <paramref name="run"/> per seed; a <see cref="SimulationFailure"/> is recorded, anything else propagates.</summary>
    public void Run(Action<long> run)
    {
        var all = Replaying || Environment.GetEnvironmentVariable("RINGKV_SIM_ALL") is { Length: > 0 };
        for (var seed = First; seed < First + Count; seed++)
        {
            Ran++;
            try
            {
                run(seed);
            }
            catch (SimulationFailure e)
            {
                Failures.Add(e.Message);
                if (Failures.Count >= 3 && !all)
                {
                    break;
                }
            }
        }
    }

    public string FailureReport => string.Join(Environment.NewLine, Failures);
}
