using System;
using System.Threading;

namespace RingKV.Testing.Support;

/// <summary>A wall clock that moves only when a test calls <see cref="Advance"/>.</summary>
/// <remarks>Thread-safe. Timers and timestamps stay on the system clock; only <see cref="GetUtcNow"/> is manual.</remarks>
public sealed class ManualTimeProvider : TimeProvider
{
    private long _utcTicks;

    /// <summary>Starts at <paramref name="start"/>, by default 2030-01-01T00:00:00Z (a whole second, so whole-second steps never split a millisecond).</summary>
    public ManualTimeProvider(DateTimeOffset? start = null)
    {
        _utcTicks = (start ?? new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero)).UtcTicks;
    }

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _utcTicks), TimeSpan.Zero);

    /// <summary>Moves the clock forward. Requires: <paramref name="delta"/> is not negative.</summary>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        Interlocked.Add(ref _utcTicks, delta.Ticks);
    }
}
