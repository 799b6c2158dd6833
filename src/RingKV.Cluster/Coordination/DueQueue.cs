using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;

namespace RingKV.Cluster.Coordination;

/// <summary>
/// Items that fall due one fixed delay after they were added: first in, first due. Each is one queue operation, where a
/// priority queue paid a heap walk per request (deadlines of every request stay queued until they pass: half a million
/// at 100,000 requests a second and a 5 s timeout, 2% of the node loop in RemoveRootNode under GET load).
/// </summary>
/// <remarks>
/// Not thread-safe (the node's loop owns it). Dues must grow in the order they are added; a due below the last one (the
/// clock stepped back) is raised to it, so an item is never due before one added earlier: it falls due at most by the step late.
/// </remarks>
internal sealed class DueQueue<T>
{
    private readonly Queue<(T Item, long Due)> _queue = new();
    private long _last = long.MinValue;

    /// <summary>Items waiting.</summary>
    public int Count => _queue.Count;

    /// <summary>Adds <paramref name="item"/>, due at <paramref name="due"/> (or at the last due added, if later).</summary>
    public void Add(T item, long due)
    {
        _last = Math.Max(_last, due);
        _queue.Enqueue((item, _last));
    }

    /// <summary>Takes the first item when it is due at <paramref name="now"/>.</summary>
    public bool TryTakeDue(long now, [MaybeNullWhen(false)] out T item)
    {
        if (_queue.TryPeek(out var first) && first.Due <= now)
        {
            _queue.Dequeue();
            item = first.Item;
            return true;
        }

        item = default;
        return false;
    }
}
