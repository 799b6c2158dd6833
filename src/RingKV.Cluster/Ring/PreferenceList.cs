using System;
using System.Buffers;
using System.Diagnostics;
using RingKV.Core.Hashing;

namespace RingKV.Cluster.Ring;

/// <summary>The replicas of a token: the natural preference list, and the sloppy one that replaces down replicas with stand-ins.</summary>
/// <remarks>
/// <para>
/// Placement follows Cassandra's NetworkTopologyStrategy. Walk the ring clockwise from the token's vnode, taking each node
/// once; a node is taken when its data center still needs replicas and either its rack is new in that data center or the data
/// center wants more replicas than it has racks and still has rack repeats to spend (count minus racks). So a data center
/// with at least as many racks as replicas gets them all on distinct racks, one with fewer racks gets every rack and then the
/// first repeats the walk meets. Each data center keeps min(its count, its nodes). The list is in walk order, so its first
/// entry is the token's owner whenever the owner's data center keeps replicas.
/// </para>
/// <para>
/// The rejected alternative, the older Cassandra walk that set rack repeats aside and appended them once every rack was seen,
/// places the same racks but reaches further round the ring for the repeats; taking them as met, as current Cassandra does,
/// keeps every replica as near the token clockwise as the rack rule allows.
/// </para>
/// <para>Per request, use <see cref="For(Placement, Token)"/>: the lists are cached per vnode and the lookup allocates nothing.</para>
/// </remarks>
internal static class PreferenceList
{
    /// <summary>Stack-allocate walk scratch up to this many members; rent beyond.</summary>
    private const int StackMembers = 512;

    /// <summary>The natural preference list of <paramref name="token"/>, from <paramref name="placement"/>'s cache; allocates nothing.</summary>
    public static ReadOnlySpan<NodeId> For(Placement placement, Token token)
    {
        ArgumentNullException.ThrowIfNull(placement);
        return placement.For(token);
    }

    /// <summary>The natural preference list of <paramref name="token"/>, computed afresh (allocates; <see cref="Placement"/> caches these).</summary>
    public static NodeId[] For(TokenRing ring, Token token, ReplicationSettings replication)
    {
        ArgumentNullException.ThrowIfNull(ring);
        ArgumentNullException.ThrowIfNull(replication);
        if (ring.IsEmpty)
        {
            return [];
        }

        var scratch = new Scratch(ring, replication);
        var members = new int[scratch.ReplicaCount];
        var count = Select(ring, scratch, ring.VnodeIndexOf(token), members);
        var nodes = new NodeId[count];
        for (var i = 0; i < count; i++)
        {
            nodes[i] = ring.MemberAt(members[i]).Id;
        }

        return nodes;
    }

    /// <summary>
    /// Fills <paramref name="destination"/> with the sloppy preference list of <paramref name="token"/> and returns its length:
    /// the natural replicas in order, each one that is not usable replaced by a stand-in, the next usable node clockwise in the
    /// same data center that is neither a natural replica nor already standing in. A down replica with no stand-in is left out.
    /// </summary>
    /// <remarks>
    /// Requires: <paramref name="usable"/> has one flag per member of <paramref name="placement"/>'s ring (by member index);
    /// <paramref name="destination"/> has room for <see cref="Placement.ReplicaCount"/> entries. Allocates nothing for rings
    /// up to 512 members (scratch on the stack), and skips the walk when every natural replica is usable.
    /// Stand-ins stay in the down replica's data center so per-data-center quorums keep their meaning.
    /// </remarks>
    public static int Sloppy(Placement placement, Token token, ReadOnlySpan<bool> usable, Span<SloppyReplica> destination)
    {
        ArgumentNullException.ThrowIfNull(placement);
        var ring = placement.Ring;
        if (usable.Length < ring.MemberCount)
        {
            throw new ArgumentException($"usable needs one flag per ring member ({ring.MemberCount}), got {usable.Length}", nameof(usable));
        }

        if (destination.Length < placement.ReplicaCount)
        {
            throw new ArgumentException($"destination needs room for {placement.ReplicaCount} replicas, got {destination.Length}", nameof(destination));
        }

        if (ring.IsEmpty)
        {
            return 0;
        }

        var vnode = ring.VnodeIndexOf(token);
        var natural = placement.MemberIndexesForVnode(vnode);
        var down = 0;
        foreach (var member in natural)
        {
            down += usable[member] ? 0 : 1;
        }

        if (down == 0)
        {
            for (var i = 0; i < natural.Length; i++)
            {
                var id = ring.MemberAt(natural[i]).Id;
                destination[i] = new SloppyReplica(id, id);
            }

            return natural.Length;
        }

        Span<int> standIn = natural.Length <= 64 ? stackalloc int[natural.Length] : new int[natural.Length];
        standIn.Fill(-1);
        bool[]? rented = null;
        Span<bool> visited = ring.MemberCount <= StackMembers
            ? stackalloc bool[ring.MemberCount]
            : (rented = ArrayPool<bool>.Shared.Rent(ring.MemberCount)).AsSpan(0, ring.MemberCount);
        try
        {
            var walk = new RingWalk(ring, vnode, visited);
            while (down > 0 && walk.MoveNext())
            {
                var candidate = walk.Current;
                if (!usable[candidate] || natural.Contains(candidate))
                {
                    continue;
                }

                // The first down replica of the candidate's data center, in preference order, takes it.
                var dataCenter = ring.DataCenterIndexOf(candidate);
                for (var i = 0; i < natural.Length; i++)
                {
                    if (!usable[natural[i]] && standIn[i] < 0 && ring.DataCenterIndexOf(natural[i]) == dataCenter)
                    {
                        standIn[i] = candidate;
                        down--;
                        break;
                    }
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<bool>.Shared.Return(rented);
            }
        }

        var count = 0;
        for (var i = 0; i < natural.Length; i++)
        {
            var intended = ring.MemberAt(natural[i]).Id;
            if (usable[natural[i]])
            {
                destination[count++] = new SloppyReplica(intended, intended);
            }
            else if (standIn[i] >= 0)
            {
                destination[count++] = new SloppyReplica(ring.MemberAt(standIn[i]).Id, intended);
            }
        }

        return count;
    }

    /// <summary>
    /// Writes the member indexes of the natural preference list starting at <paramref name="startVnode"/> to
    /// <paramref name="destination"/> and returns how many (always <see cref="Scratch.ReplicaCount"/>).
    /// </summary>
    internal static int Select(TokenRing ring, Scratch scratch, int startVnode, Span<int> destination)
    {
        var dataCenters = ring.DataCenters.Count;
        var left = scratch.Left;
        var repeats = scratch.Repeats;
        var open = 0;
        for (var d = 0; d < dataCenters; d++)
        {
            left[d] = scratch.Kept[d];
            repeats[d] = Math.Max(0, left[d] - ring.RacksIn(d));
            open += left[d] > 0 ? 1 : 0;
        }

        var rackSeen = scratch.RackSeen;
        Array.Clear(rackSeen);
        var count = 0;
        var walk = new RingWalk(ring, startVnode, scratch.Visited);
        while (open > 0 && walk.MoveNext())
        {
            var member = walk.Current;
            var dataCenter = ring.DataCenterIndexOf(member);
            if (left[dataCenter] == 0)
            {
                continue;
            }

            var rack = ring.RackIndexOf(member);
            if (rackSeen[rack])
            {
                if (repeats[dataCenter] == 0)
                {
                    continue;
                }

                repeats[dataCenter]--;
            }
            else
            {
                rackSeen[rack] = true;
            }

            destination[count++] = member;
            if (--left[dataCenter] == 0)
            {
                open--;
            }
        }

        // Each data center keeps at most its nodes, and the walk sees every node, so it always fills.
        Debug.Assert(open == 0 && count == scratch.ReplicaCount, "the walk filled every data center");
        return count;
    }

    /// <summary>Resolved counts and reusable scratch for <see cref="Select"/> on one ring.</summary>
    internal sealed class Scratch
    {
        public Scratch(TokenRing ring, ReplicationSettings replication)
        {
            var dataCenters = ring.DataCenters.Count;
            Kept = new int[dataCenters];
            for (var d = 0; d < dataCenters; d++)
            {
                Kept[d] = Math.Min(replication.ReplicasIn(ring.DataCenters[d], ring), ring.NodesIn(d));
                ReplicaCount += Kept[d];
            }

            Left = new int[dataCenters];
            Repeats = new int[dataCenters];
            RackSeen = new bool[ring.RackCount];
            Visited = new bool[ring.MemberCount];
        }

        /// <summary>Replicas each data center keeps: its count, at most its nodes.</summary>
        public int[] Kept { get; }

        /// <summary>Replicas per token, the sum of <see cref="Kept"/>.</summary>
        public int ReplicaCount { get; }

        public int[] Left { get; }

        public int[] Repeats { get; }

        public bool[] RackSeen { get; }

        public bool[] Visited { get; }
    }
}
