using System;

namespace RingKV.Cluster.Coordination;

/// <summary>
/// A token bucket of bytes: refills at a rate and holds at most a second's worth, so work that resumes after a long
/// pause gets the rate from its first second. Work starts while <see cref="Available"/> is above zero and spends what
/// it moved, so the overdraft is at most one unit of work. Pure: time comes in as ticks. Rate 0 or less: never empty.
/// </summary>
internal struct ByteBudget
{
    private long _refilledAtTicks;

    /// <summary>Bytes that may be spent now (negative after an overdraft).</summary>
    public double Available { get; private set; }

    /// <summary>Adds what <paramref name="rate"/> bytes per second paid since the last refill, up to one second's worth.</summary>
    public void Refill(long rate, long nowTicks)
    {
        if (rate <= 0)
        {
            return;
        }

        var elapsed = _refilledAtTicks == 0 ? 0 : Math.Max(0, nowTicks - _refilledAtTicks);
        Available = Math.Min(rate, Available + (rate * (double)elapsed / TimeSpan.TicksPerSecond));
        _refilledAtTicks = nowTicks;
    }

    /// <summary>Spends <paramref name="bytes"/>.</summary>
    public void Spend(long bytes) => Available -= bytes;
}
