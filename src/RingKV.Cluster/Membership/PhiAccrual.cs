using System;
using System.Diagnostics;

namespace RingKV.Cluster.Membership;

/// <summary>The phi-accrual failure detector (Hayashibara et al., 2004) for one peer: heartbeat arrival times in, suspicion level phi out.</summary>
/// <remarks>
/// Not thread-safe; pure (time comes in as arguments). Phi is -log10 of the probability that a heartbeat comes later
/// than the silence seen so far, modelling inter-arrival intervals as normal with the window's mean (plus
/// <see cref="PhiAccrualSettings.AcceptablePause"/>) and standard deviation (at least
/// <see cref="PhiAccrualSettings.MinStdDeviation"/>): phi 1 is a 10% chance that a live peer would be this late, phi 8 is
/// one in 10^8. The normal tail uses the logistic approximation of Bowling et al. (2009), as Akka's detector does;
/// rejected: Cassandra's exponential model (phi = elapsed / mean / ln 10), which ignores the deviation, so a steady
/// network and a jittery one convict after the same silence (8 ln 10, about 18 mean intervals). Phi is computed in log
/// space, so it stays finite after any silence (no infinity, no NaN).
/// The window holds the last <see cref="PhiAccrualSettings.WindowSize"/> intervals, summed exactly (ticks in
/// <see cref="Int128"/>), so the mean and deviation never drift. The detector starts at the moment the peer became known, as
/// if a heartbeat had come then: a peer that is dead when we learn of it still becomes suspect. The first real
/// arrival is not sampled (its distance from that start is not an interval), and until an interval is measured
/// <see cref="PhiAccrualSettings.FirstIntervalEstimate"/> stands in for the mean. Intervals longer than
/// <see cref="PhiAccrualSettings.MaxSampledInterval"/> are outages and are not sampled, as in Cassandra: otherwise each
/// outage would slow the detection of the next.
/// </remarks>
internal sealed class PhiAccrual
{
    private static readonly double Ln10 = Math.Log(10);

    private readonly PhiAccrualSettings _settings;
    private readonly long[] _intervalTicks;
    private int _count;
    private int _next;
    private Int128 _sumTicks;
    private Int128 _sumOfSquaresTicks;
    private DateTimeOffset _last;

    /// <summary>A detector for a peer that became known at <paramref name="start"/>.</summary>
    public PhiAccrual(PhiAccrualSettings settings, DateTimeOffset start)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _settings = settings;
        _intervalTicks = new long[settings.WindowSize];
        _last = start;
    }

    /// <summary>Whether a heartbeat has arrived since the start (or the last <see cref="Reset"/>).</summary>
    public bool HasHeard { get; private set; }

    /// <summary>The last arrival, or the start when none came yet.</summary>
    public DateTimeOffset LastArrival => _last;

    /// <summary>Intervals in the window.</summary>
    public int SampleCount => _count;

    /// <summary>The mean interval of the window (the first-interval estimate while it is empty).</summary>
    public TimeSpan MeanInterval => TimeSpan.FromTicks((long)MeanTicks());

    /// <summary>The standard deviation of the window's intervals, before the floor is applied (a quarter of the estimate while empty).</summary>
    public TimeSpan StdDeviation => TimeSpan.FromTicks((long)StdDeviationTicks());

    /// <summary>Forgets every interval: the peer is a new incarnation, known from <paramref name="start"/>.</summary>
    public void Reset(DateTimeOffset start)
    {
        _count = 0;
        _next = 0;
        _sumTicks = 0;
        _sumOfSquaresTicks = 0;
        _last = start;
        HasHeard = false;
    }

    /// <summary>Records a heartbeat that arrived at <paramref name="arrival"/>; one not later than the last arrival is ignored.</summary>
    public void Heartbeat(DateTimeOffset arrival)
    {
        if (!HasHeard)
        {
            HasHeard = true;
            if (arrival > _last)
            {
                _last = arrival;
            }

            return;
        }

        var interval = (arrival - _last).Ticks;
        if (interval <= 0)
        {
            return;
        }

        _last = arrival;
        if (interval > _settings.MaxSampledInterval.Ticks)
        {
            return;
        }

        if (_count == _intervalTicks.Length)
        {
            var oldest = _intervalTicks[_next];
            _sumTicks -= oldest;
            _sumOfSquaresTicks -= (Int128)oldest * oldest;
        }
        else
        {
            _count++;
        }

        _intervalTicks[_next] = interval;
        _next = (_next + 1) % _intervalTicks.Length;
        _sumTicks += interval;
        _sumOfSquaresTicks += (Int128)interval * interval;
    }

    /// <summary>The suspicion level at <paramref name="now"/>: 0 right after a heartbeat, rising with silence.</summary>
    public double Phi(DateTimeOffset now)
    {
        var elapsed = Math.Max(0, (now - _last).Ticks);
        var mean = MeanTicks() + _settings.AcceptablePause.Ticks;
        var deviation = Math.Max(StdDeviationTicks(), _settings.MinStdDeviation.Ticks);
        return PhiOf(elapsed, mean, deviation);
    }

    /// <summary>
    /// -log10 of P(interval &gt; <paramref name="elapsed"/>) for a normal distribution of <paramref name="mean"/> and
    /// <paramref name="stdDeviation"/> (any one unit), with the logistic approximation of the normal tail.
    /// Requires: <paramref name="stdDeviation"/> &gt; 0.
    /// </summary>
    internal static double PhiOf(double elapsed, double mean, double stdDeviation)
    {
        Debug.Assert(stdDeviation > 0, "the deviation has a floor");
        var y = (elapsed - mean) / stdDeviation;

        // P(later) = 1 / (1 + e^z), so phi = log10(1 + e^z): a softplus, computed so e^z never overflows.
        var z = y * (1.5976 + (0.070566 * y * y));
        var softplus = z > 0 ? z + Math.Log(1 + Math.Exp(-z)) : Math.Log(1 + Math.Exp(z));
        return softplus / Ln10;
    }

    private double MeanTicks() => _count == 0 ? _settings.FirstIntervalEstimate.Ticks : (double)_sumTicks / _count;

    private double StdDeviationTicks()
    {
        if (_count == 0)
        {
            return _settings.FirstIntervalEstimate.Ticks / 4.0;
        }

        // n * sum(x^2) - sum(x)^2 is exact in Int128 (and never negative); only the final division rounds.
        var scaled = (_count * _sumOfSquaresTicks) - (_sumTicks * _sumTicks);
        return Math.Sqrt((double)scaled) / _count;
    }
}
