using System;
using System.Globalization;
using RingKV.Testing.Support;

namespace RingKV.System.Tests.Chaos;

/// <summary>How long, on how many nodes, and from which seed a chaos run goes.</summary>
/// <param name="Seed">Seeds the fault schedule and the clients' choices (the timing of real processes is not replayed).</param>
/// <param name="Nodes">Cluster size (N=3 replicas).</param>
/// <param name="Duration">How long faults are injected under load.</param>
/// <param name="Clients">Workload clients, each with a connection to every node.</param>
/// <param name="SkipRepair">Leaves out the repair passes (only to try the rest before <c>ringkv repair</c> exists; refused in CI).</param>
/// <param name="OutputDirectory">Where to keep the history (CSV), final reads and node logs after the run; null: nowhere.</param>
/// <param name="Sloppy">
/// Runs the cluster without <c>--strict-quorum</c> (sloppy quorum and hinted handoff at work): acknowledged writes and
/// replica agreement are still checked, stale reads are counted but allowed (a sloppy quorum need not overlap).
/// </param>
/// <param name="Pipeline">Operations each client sends at once on one connection (1: one at a time).</param>
public sealed record ChaosOptions(long Seed, int Nodes, TimeSpan Duration, int Clients, bool SkipRepair, string? OutputDirectory = null, bool Sloppy = false, int Pipeline = 1)
{
    /// <summary>The CI run's length unless RINGKV_CHAOS_SECONDS or RINGKV_CHAOS_MINUTES says otherwise.</summary>
    public static readonly TimeSpan CiDuration = TimeSpan.FromSeconds(40);

    /// <summary>
    /// From the environment: RINGKV_SEED (else drawn and printed), RINGKV_CHAOS_NODES (5), RINGKV_CHAOS_MINUTES or
    /// RINGKV_CHAOS_SECONDS (40 s), RINGKV_CHAOS_CLIENTS (4), RINGKV_CHAOS_SKIP_REPAIR=1, RINGKV_CHAOS_OUTPUT (a directory), RINGKV_CHAOS_QUORUM (strict, the default, or sloppy), RINGKV_CHAOS_PIPELINE (1).
    /// </summary>
    public static ChaosOptions FromEnvironment()
    {
        var seed = TestSeed.Get("chaos");
        var duration = Number("RINGKV_CHAOS_MINUTES") is { } minutes ? TimeSpan.FromMinutes(minutes)
            : Number("RINGKV_CHAOS_SECONDS") is { } seconds ? TimeSpan.FromSeconds(seconds)
            : CiDuration;
        return new ChaosOptions(
            seed,
            (int)(Number("RINGKV_CHAOS_NODES") ?? 5),
            duration,
            (int)(Number("RINGKV_CHAOS_CLIENTS") ?? 4),
            Environment.GetEnvironmentVariable("RINGKV_CHAOS_SKIP_REPAIR") is "1" or "true",
            Environment.GetEnvironmentVariable("RINGKV_CHAOS_OUTPUT") is { Length: > 0 } output ? output : null,
            Environment.GetEnvironmentVariable("RINGKV_CHAOS_QUORUM") switch
            {
                null or "" or "strict" => false,
                "sloppy" => true,
                var other => throw new ArgumentException($"RINGKV_CHAOS_QUORUM={other}: expected strict or sloppy"),
            },
            (int)(Number("RINGKV_CHAOS_PIPELINE") ?? 1));
    }

    private static double? Number(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } text ? double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture) : null;
}
