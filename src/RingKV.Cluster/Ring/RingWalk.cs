using System;
using System.Diagnostics;

namespace RingKV.Cluster.Ring;

/// <summary>The distinct members of a ring in clockwise order from a vnode: each member once, at its first vnode reached.</summary>
/// <remarks>
/// The walk behind preference lists, and behind sloppy quorum's stand-ins (the next nodes after the natural replicas).
/// Allocates nothing: the caller lends the visited flags (one per member), which the walk clears and then owns until it ends.
/// Cost: at most one pass over the vnodes; it stops early once every member has been seen.
/// </remarks>
internal ref struct RingWalk
{
    private readonly TokenRing _ring;
    private readonly Span<bool> _visited;
    private int _vnode;
    private int _steps;
    private int _seen;

    /// <summary>Starts a walk at <paramref name="startVnode"/>. Requires: <paramref name="visited"/> has one entry per member.</summary>
    public RingWalk(TokenRing ring, int startVnode, Span<bool> visited)
    {
        ArgumentNullException.ThrowIfNull(ring);
        if (visited.Length < ring.MemberCount)
        {
            throw new ArgumentException($"the walk needs {ring.MemberCount} visited flags, got {visited.Length}", nameof(visited));
        }

        Debug.Assert(ring.IsEmpty || (uint)startVnode < (uint)ring.VnodeCount, "the start is a vnode of the ring");
        _ring = ring;
        _visited = visited[..ring.MemberCount];
        _visited.Clear();
        _vnode = startVnode;
        Current = -1;
    }

    /// <summary>The member index reached last.</summary>
    public int Current { get; private set; }

    /// <summary>The vnode at which <see cref="Current"/> was reached.</summary>
    public int CurrentVnode { get; private set; }

    /// <summary>Moves to the next member not yet seen; false when every member has been.</summary>
    public bool MoveNext()
    {
        var count = _ring.VnodeCount;
        while (_steps < count && _seen < _visited.Length)
        {
            var vnode = _vnode;
            var owner = _ring.OwnerIndexAt(vnode);
            _vnode = vnode + 1 == count ? 0 : vnode + 1;
            _steps++;
            if (!_visited[owner])
            {
                _visited[owner] = true;
                _seen++;
                Current = owner;
                CurrentVnode = vnode;
                return true;
            }
        }

        return false;
    }

    /// <summary>Lets <c>foreach</c> run the walk.</summary>
    public readonly RingWalk GetEnumerator() => this;
}
