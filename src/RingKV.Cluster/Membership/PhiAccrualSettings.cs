using System;

namespace RingKV.Cluster.Membership;

/// <summary>How a <see cref="PhiAccrual"/> detector reads heartbeat arrivals.</summary>
/// <remarks>
/// The defaults are Akka cluster's (minimum deviation 100 ms, acceptable pause 3 s) with a shorter window: with one
/// heartbeat a second, 100 intervals are the last hundred seconds, enough to learn the network's rhythm and quick to
/// forget an old one. With regular arrivals a second apart a silent peer crosses phi 8 about 4.5 s after its last
/// heartbeat (docs/membership.md works it out).
/// </remarks>
internal sealed record PhiAccrualSettings
{
    /// <summary>Most inter-arrival intervals kept; the oldest is dropped first.</summary>
    public int WindowSize { get; init; } = 100;

    /// <summary>Floor of the standard deviation: perfectly regular arrivals must not make a few milliseconds' delay suspicious.</summary>
    public TimeSpan MinStdDeviation { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Silence tolerated beyond the mean interval before phi rises (a GC pause, a lost heartbeat or two).</summary>
    public TimeSpan AcceptablePause { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Intervals longer than this are outages, not samples of the network's rhythm: they are not kept.</summary>
    public TimeSpan MaxSampledInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The interval assumed before the first one is measured (deviation: a quarter of it); the heartbeat interval.</summary>
    public TimeSpan FirstIntervalEstimate { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Throws unless every setting is in range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(WindowSize, 1, nameof(WindowSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(WindowSize, 100_000, nameof(WindowSize));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MinStdDeviation, TimeSpan.Zero, nameof(MinStdDeviation));
        ArgumentOutOfRangeException.ThrowIfLessThan(AcceptablePause, TimeSpan.Zero, nameof(AcceptablePause));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MaxSampledInterval, TimeSpan.Zero, nameof(MaxSampledInterval));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(FirstIntervalEstimate, TimeSpan.Zero, nameof(FirstIntervalEstimate));
    }
}
