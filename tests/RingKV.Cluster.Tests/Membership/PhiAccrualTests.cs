using System;
using RingKV.Cluster.Membership;
using Xunit;

namespace RingKV.Cluster.Tests.Membership;

public sealed class PhiAccrualTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly PhiAccrualSettings Defaults = new();

    [Fact]
    public void PhiOf_AtTheShiftedMean_IsLog10Of2()
    {
        // P(later) is one half at the mean: phi = -log10(1/2).
        Assert.Equal(Math.Log10(2), PhiAccrual.PhiOf(4.0, 4.0, 0.1), 12);
        Assert.True(PhiAccrual.PhiOf(0, 4.0, 0.1) < 1e-12);
    }

    [Fact]
    public void Phi_RegularArrivals_LowAfterHeartbeatRisesWithSilenceCrossesEightAfterMeanPlusPause()
    {
        var (detector, last) = Regular(Defaults, beats: 50, interval: TimeSpan.FromSeconds(1));

        Assert.Equal(TimeSpan.FromSeconds(1), detector.MeanInterval);
        Assert.Equal(TimeSpan.Zero, detector.StdDeviation);
        Assert.True(detector.Phi(last + TimeSpan.FromSeconds(1)) < 0.001);

        var previous = -1.0;
        for (var ms = 0; ms <= 20_000; ms += 50)
        {
            var phi = detector.Phi(last + TimeSpan.FromMilliseconds(ms));
            Assert.True(phi >= previous, $"phi fell from {previous} to {phi} at {ms} ms of silence");
            previous = phi;
        }

        // mean 1 s + pause 3 s, deviation floored at 100 ms: phi 8 is 5.5 deviations past 4 s.
        var crossing = Crossing(detector, last, threshold: 8);
        Console.WriteLine($"regular arrivals 1 s apart: phi crosses 8 after {crossing.TotalMilliseconds} ms of silence");
        Assert.InRange(crossing, TimeSpan.FromMilliseconds(4_450), TimeSpan.FromMilliseconds(4_650));

        // A lower threshold suspects sooner, a higher one later.
        Assert.True(Crossing(detector, last, threshold: 1) < crossing);
        Assert.True(Crossing(detector, last, threshold: 16) > crossing);
    }

    [Fact]
    public void Phi_FreshHeartbeatAfterSilence_FallsAndTheOutageIsNotSampled()
    {
        var (detector, last) = Regular(Defaults, beats: 20, interval: TimeSpan.FromSeconds(1));
        var samples = detector.SampleCount;
        var back = last + TimeSpan.FromSeconds(30);
        Assert.True(detector.Phi(back) > 1000);

        detector.Heartbeat(back);

        Assert.True(detector.Phi(back + TimeSpan.FromMilliseconds(500)) < 0.001);
        Assert.Equal(samples, detector.SampleCount);
        Assert.Equal(TimeSpan.FromSeconds(1), detector.MeanInterval);
    }

    [Fact]
    public void Phi_IrregularArrivals_SuspectLaterThanRegularOnes()
    {
        var regular = Regular(Defaults, beats: 60, interval: TimeSpan.FromSeconds(1));
        var irregular = new PhiAccrual(Defaults, T0);
        var at = T0;
        irregular.Heartbeat(at);
        for (var i = 0; i < 60; i++)
        {
            at += TimeSpan.FromMilliseconds(i % 2 == 0 ? 500 : 1500);
            irregular.Heartbeat(at);
        }

        Assert.Equal(TimeSpan.FromSeconds(1), irregular.MeanInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(500), irregular.StdDeviation);
        var regularCrossing = Crossing(regular.Detector, regular.Last, 8);
        var irregularCrossing = Crossing(irregular, at, 8);
        Console.WriteLine($"phi 8 after {regularCrossing.TotalMilliseconds} ms (regular) and {irregularCrossing.TotalMilliseconds} ms (0.5 s / 1.5 s alternating)");
        Assert.True(irregularCrossing > regularCrossing + TimeSpan.FromSeconds(1));

        // The same silence is less suspicious on the jittery link.
        var silence = TimeSpan.FromMilliseconds(5_000);
        Assert.True(irregular.Phi(at + silence) < regular.Detector.Phi(regular.Last + silence));
    }

    [Fact]
    public void Phi_NeverHeardFrom_RisesFromTheStartWithTheFirstIntervalEstimate()
    {
        var detector = new PhiAccrual(Defaults, T0);

        Assert.False(detector.HasHeard);
        Assert.Equal(TimeSpan.FromSeconds(1), detector.MeanInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(250), detector.StdDeviation);
        Assert.True(detector.Phi(T0 + TimeSpan.FromSeconds(4)) < 8);
        Assert.True(detector.Phi(T0 + TimeSpan.FromSeconds(6)) > 8);
    }

    [Fact]
    public void Heartbeat_FirstArrival_IsNotSampled()
    {
        var detector = new PhiAccrual(Defaults, T0);

        detector.Heartbeat(T0 + TimeSpan.FromMilliseconds(7));
        Assert.True(detector.HasHeard);
        Assert.Equal(0, detector.SampleCount);

        detector.Heartbeat(T0 + TimeSpan.FromMilliseconds(1007));
        Assert.Equal(1, detector.SampleCount);
        Assert.Equal(TimeSpan.FromSeconds(1), detector.MeanInterval);
    }

    [Fact]
    public void Phi_AfterAnyLongSilence_StaysFiniteAndRising()
    {
        var (detector, last) = Regular(Defaults, beats: 10, interval: TimeSpan.FromSeconds(1));

        var hour = detector.Phi(last + TimeSpan.FromHours(1));
        var year = detector.Phi(last + TimeSpan.FromDays(365));

        Assert.True(double.IsFinite(hour) && double.IsFinite(year), $"phi {hour}, {year}");
        Assert.True(year > hour && hour > 1e6);
    }

    [Fact]
    public void Heartbeat_BeyondTheWindow_KeepsOnlyTheLastIntervals()
    {
        var settings = Defaults with { WindowSize = 10 };
        var detector = new PhiAccrual(settings, T0);
        var at = T0;
        detector.Heartbeat(at);
        for (var i = 0; i < 20; i++)
        {
            at += TimeSpan.FromSeconds(2);
            detector.Heartbeat(at);
        }

        Assert.Equal(TimeSpan.FromSeconds(2), detector.MeanInterval);
        for (var i = 0; i < 10; i++)
        {
            at += TimeSpan.FromMilliseconds(900);
            detector.Heartbeat(at);
        }

        Assert.Equal(10, detector.SampleCount);
        Assert.Equal(TimeSpan.FromMilliseconds(900), detector.MeanInterval);
        Assert.Equal(TimeSpan.Zero, detector.StdDeviation);
    }

    [Fact]
    public void Heartbeat_NotLaterThanTheLast_IsIgnored()
    {
        var (detector, last) = Regular(Defaults, beats: 5, interval: TimeSpan.FromSeconds(1));
        var samples = detector.SampleCount;

        detector.Heartbeat(last - TimeSpan.FromMilliseconds(300));
        detector.Heartbeat(last);

        Assert.Equal(samples, detector.SampleCount);
        Assert.Equal(last, detector.LastArrival);
    }

    [Fact]
    public void Reset_NewIncarnation_ForgetsTheWindow()
    {
        var (detector, last) = Regular(Defaults with { FirstIntervalEstimate = TimeSpan.FromSeconds(2) }, beats: 5, interval: TimeSpan.FromSeconds(1));
        var restart = last + TimeSpan.FromSeconds(10);

        detector.Reset(restart);

        Assert.False(detector.HasHeard);
        Assert.Equal(0, detector.SampleCount);
        Assert.Equal(TimeSpan.FromSeconds(2), detector.MeanInterval);
        Assert.True(detector.Phi(restart) < 0.001);
    }

    private static (PhiAccrual Detector, DateTimeOffset Last) Regular(PhiAccrualSettings settings, int beats, TimeSpan interval)
    {
        var detector = new PhiAccrual(settings, T0);
        var at = T0;
        detector.Heartbeat(at);
        for (var i = 0; i < beats; i++)
        {
            at += interval;
            detector.Heartbeat(at);
        }

        return (detector, at);
    }

    /// <summary>The first silence (10 ms steps) at which phi is above <paramref name="threshold"/>.</summary>
    private static TimeSpan Crossing(PhiAccrual detector, DateTimeOffset last, double threshold)
    {
        for (var ms = 0; ms < 120_000; ms += 10)
        {
            if (detector.Phi(last + TimeSpan.FromMilliseconds(ms)) > threshold)
            {
                return TimeSpan.FromMilliseconds(ms);
            }
        }

        throw new InvalidOperationException($"phi never crossed {threshold}");
    }
}
