using System;
using System.Globalization;

namespace RingKV.Storage;

/// <summary>When the commit log is fsynced.</summary>
public enum SyncMode
{
    /// <summary>Acknowledge a write only after an fsync that covers it; concurrent writers share one fsync.</summary>
    Always = 0,

    /// <summary>Write to the OS at once, fsync every period in the background (survives a process crash, not a power loss of the last period).</summary>
    Periodic = 1,

    /// <summary>Write to the OS, never fsync (survives a process crash only).</summary>
    None = 2,
}

/// <summary>A sync mode with its period: <c>always</c>, <c>periodic:&lt;ms&gt;</c> or <c>none</c>.</summary>
public readonly record struct SyncPolicy(SyncMode Mode, TimeSpan Period)
{
    /// <summary>fsync before every acknowledgement.</summary>
    public static SyncPolicy Always => new(SyncMode.Always, TimeSpan.Zero);

    /// <summary>Never fsync the log.</summary>
    public static SyncPolicy None => new(SyncMode.None, TimeSpan.Zero);

    /// <summary>fsync every <paramref name="milliseconds"/>.</summary>
    public static SyncPolicy Periodic(int milliseconds) => new(SyncMode.Periodic, TimeSpan.FromMilliseconds(milliseconds));

    /// <summary>Parses <c>always</c>, <c>none</c> or <c>periodic:&lt;ms&gt;</c>; throws <see cref="FormatException"/> with the accepted forms.</summary>
    public static SyncPolicy Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim().ToLowerInvariant();
        if (t == "always")
        {
            return Always;
        }

        if (t == "none")
        {
            return None;
        }

        if (t.StartsWith("periodic:", StringComparison.Ordinal)
            && int.TryParse(t.AsSpan("periodic:".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            && ms > 0)
        {
            return Periodic(ms);
        }

        throw new FormatException($"invalid sync mode '{text}': expected always, none or periodic:<milliseconds> (e.g. periodic:1000)");
    }

    /// <inheritdoc/>
    public override string ToString() => Mode switch
    {
        SyncMode.Always => "always",
        SyncMode.None => "none",
        _ => string.Create(CultureInfo.InvariantCulture, $"periodic:{(long)Period.TotalMilliseconds}"),
    };
}
