using System;
using System.Collections.Generic;

namespace RingKV.Cluster.Coordination;

/// <summary>
/// Ids that fall due one fixed delay after they were added: first in, first due. Each is one queue operation, where a
/// priority queue paid a heap walk per request (deadlines of every request stay queued until they pass: half a million
/// at 100,000 requests a second and a 5 s timeout, 2% of the node loop in RemoveRootNode under GET load).
/// </summary>
/// <remarks>
/// Not thread-safe (the node's loop owns it). Dues must grow in the order they are added; a due below the last one (the
/// clock stepped back) is raised to it, so an id is never due before one added earlier: it falls due at most by the step late.
/// </remarks>
internal sealed class DueQueue
{
    private readonly Queue<(ulong Id, long Due)> _queue = new();
    private long _last = long.MinValue;

    /// <summary>Ids waiting.</summary>
    public int Count => _queue.Count;

    /// <summary>Adds <paramref name="id"/>, due at <paramref name="due"/> (or at the last due added, if later).</summary>
    public void Add(ulong id, long due)
    {
        _last = Math.Max(_last, due);
        _queue.Enqueue((id, _last));
    }

    /// <summary>Takes the first id when it is due at <paramref name="now"/>.</summary>
    public bool TryTakeDue(long now, out ulong id)
    {
        if (_queue.TryPeek(out var first) && first.Due <= now)
        {
            _queue.Dequeue();
            id = first.Id;
            return true;
        }

        id = 0;
        return false;
    }
}
