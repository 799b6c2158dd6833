using System;
using System.Diagnostics;

namespace RingKV.Net.Peers;

/// <summary>The wait before a link's next connect attempt: exponential, capped, with jitter.</summary>
/// <remarks>
/// Attempt n (0 after a connection that worked) waits min(max, initial * 2^n) scaled into [1/2, 1) of itself by the
/// jitter ("equal jitter"): never less than half the exponential delay, so a restarted node is not hit by every peer
/// at once nor retried too eagerly. Rejected alternative: "full jitter" (anywhere in [0, delay)), which spreads
/// more but lets a failing peer be retried at once. Pure; the jitter comes from the caller.
/// </remarks>
internal static class ReconnectBackoff
{
    /// <summary>The delay before attempt <paramref name="attempt"/>. Requires: jitter in [0, 1), initial &lt;= max.</summary>
    public static TimeSpan Delay(int attempt, TimeSpan initial, TimeSpan max, double jitter)
    {
        Debug.Assert(jitter is >= 0 and < 1, "jitter in [0, 1)");
        Debug.Assert(initial <= max, "initial at most max");
        var exponential = initial.Ticks * Math.Pow(2, Math.Clamp(attempt, 0, 62));
        var capped = Math.Min(exponential, max.Ticks);
        return TimeSpan.FromTicks((long)(capped * (0.5 + (0.5 * jitter))));
    }
}
