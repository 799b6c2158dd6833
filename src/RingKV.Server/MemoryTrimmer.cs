using System;
using System.Threading;

namespace RingKV.Server;

/// <summary>Gives the memory of a burst back to the OS once the node is quiet again, by running a short series of full collections.</summary>
/// <remarks>
/// Thread-safe (its timer callbacks do not overlap: each runs to completion on one pool thread and the next tick
/// is armed by the period). The node's big per-request buffers are mapped pages freed at once
/// (<c>RingKV.Net.Resp.NativeBuffer</c>), but what a big write leaves on the managed heap (its write batch) is
/// only garbage, and an idle server allocates nothing, so no collection would ever come to free it. The regions
/// collector also keeps free regions up to its allocation budget and decommits the rest only a part per blocking
/// collection (about half of what is left each time, from the second on), so one collection is not enough: after
/// at least <see cref="ThresholdBytes"/> of such garbage and one quiet tick (no more released since the last), the
/// trimmer runs <see cref="SeriesLength"/> blocking, non-compacting gen2 collections, one per tick. What the
/// collector keeps as budget stays resident; the next big write reuses it.
/// Rejected alternatives: one <see cref="GCCollectionMode.Aggressive"/> collection decommits everything at once but
/// compacts the whole heap (the block cache's many small arrays included), a single pause of hundreds of
/// milliseconds; a background (concurrent) collection does not decommit at all; a collection per release would
/// pause a node that is busy with big writes, where the next allocation reuses the memory anyway.
/// </remarks>
internal sealed class MemoryTrimmer : IDisposable
{
    /// <summary>Garbage from big writes that makes a series worth its pauses.</summary>
    public const long ThresholdBytes = 32L << 20;

    /// <summary>Collections per series.</summary>
    public const int SeriesLength = 8;

    private readonly Func<long> _releasedBytes;
    private readonly ITimer _timer;
    private long _lastReleased;
    private long _pendingBytes;
    private int _collectionsLeft;
    private long _series;

    /// <summary>Starts ticking every <paramref name="period"/>; <paramref name="releasedBytes"/> is the cumulative count of big buffers dropped.</summary>
    public MemoryTrimmer(Func<long> releasedBytes, TimeProvider time, TimeSpan period)
    {
        _releasedBytes = releasedBytes;
        _lastReleased = releasedBytes();
        _timer = time.CreateTimer(_ => Tick(), null, period, period);
    }

    /// <summary>Series started so far.</summary>
    public long Series => Interlocked.Read(ref _series);

    /// <summary>One step: note new garbage, start a series once it has stopped coming, run one collection of a running series.</summary>
    internal void Tick()
    {
        var released = _releasedBytes();
        if (released != _lastReleased)
        {
            _pendingBytes += released - _lastReleased;
            _lastReleased = released;
            return; // still bursting: the next allocations may reuse it, wait for a quiet tick
        }

        if (_pendingBytes >= ThresholdBytes)
        {
            _pendingBytes = 0;
            _collectionsLeft = SeriesLength;
            Interlocked.Increment(ref _series);
        }

        if (_collectionsLeft > 0)
        {
            _collectionsLeft--;
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
        }
    }

    public void Dispose() => _timer.Dispose();
}
