using System;

namespace RingKV.Core.Versioning;

/// <summary>A node's hybrid logical clock: issues write timestamps that increase strictly, follow physical time and never fall behind what the node observed.</summary>
/// <remarks>
/// Pure: physical time is an argument, nothing here reads a clock. Not thread-safe: one owner (the node's loop) calls it.
/// Invariants: (1) every value <see cref="Next"/> returns is above every value it returned before, every value passed
/// to <see cref="Observe(HybridTimestamp)"/> and the floor the clock was created with; (2) it is at least the physical time it was given,
/// so the clock never runs behind physical time, only ahead of it (by what it observed from faster clocks, or by a
/// physical clock stepping back).
/// <para>
/// Observe what the node reads and receives (a replica's stored set: <see cref="SiblingSet.MaxTimestamp"/>; an incoming
/// write's timestamps) so a write stamped after a read orders after everything read, whatever the skew between the
/// clocks that stamped it: that is what lets last-writer-wins put a plain SET after the value it replaced.
/// </para>
/// <para>
/// Restart: the values also mint dot counters (the writes of <see cref="SiblingSet"/> that take a timestamp take their counter from it), so a
/// restarted node must issue above every value it issued before, whatever its physical clock says. The host keeps a
/// durable floor ahead of <see cref="Last"/> and creates the clock from it: e.g. it persists <c>Last</c> plus a lease
/// of some seconds, renews it before <see cref="Last"/> reaches it, and holds back a write stamped above the persisted
/// floor until a higher one is durable. Rejected alternative: persisting every value, one fsync per write.
/// </para>
/// </remarks>
public sealed class HybridClock
{
    private HybridTimestamp _last;

    /// <summary>A clock whose first value is above <paramref name="floor"/> (<see cref="HybridTimestamp.MinValue"/> for a node that never ran).</summary>
    public HybridClock(HybridTimestamp floor)
    {
        _last = floor;
    }

    /// <summary>The highest value issued or observed; the next value is above it.</summary>
    public HybridTimestamp Last => _last;

    /// <summary>Stamps a write: physical time with logical counter 0 when that is above <see cref="Last"/>, else <see cref="Last"/> plus one tick.</summary>
    /// <param name="physicalUnixMs">The node's physical time, Unix ms; it may stand still or step back.</param>
    /// <remarks>Throws <see cref="Errors.RingKVException"/> (InvalidArgument) when the physical time is outside what a timestamp holds.</remarks>
    public HybridTimestamp Next(long physicalUnixMs)
    {
        var physical = HybridTimestamp.FromUnixMs(physicalUnixMs);
        _last = physical > _last ? physical : _last.Successor();
        return _last;
    }

    /// <summary>Takes in a timestamp the node has seen, so every later value is above it.</summary>
    public void Observe(HybridTimestamp seen) => _last = HybridTimestamp.Max(_last, seen);

    /// <summary>Takes in a sibling this node just wrote: its timestamp and its dot's counter, both of which a set may have raised above the value issued.</summary>
    /// <remarks>With it every counter the node mints later is above every counter it minted before, for any key (see <see cref="SiblingSet"/>).</remarks>
    public void Observe(Sibling written)
    {
        Observe(written.Timestamp);
        Observe(new HybridTimestamp((long)Math.Min(written.Dot.Counter, long.MaxValue)));
    }
}
