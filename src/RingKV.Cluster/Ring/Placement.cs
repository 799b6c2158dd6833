using System;
using System.Collections.Generic;
using RingKV.Core.Hashing;

namespace RingKV.Cluster.Ring;

/// <summary>Where every token's replicas live on one ring under one replication setting: each vnode's preference list, computed once.</summary>
/// <remarks>
/// Immutable, so it may be shared between threads. Rings change rarely and requests are many, so the lists are computed
/// when the ring changes (riak_core and Cassandra cache them the same way) and a lookup is a binary search over the tokens
/// and a slice, allocating nothing. Every token in a vnode's range (previous token, token] has that vnode's list.
/// Cost: building walks the ring from each vnode until every data center is full; memory is
/// <see cref="ReplicaCount"/> node ids and member indexes per vnode.
/// </remarks>
internal sealed class Placement
{
    private readonly int[] _members;
    private readonly NodeId[] _nodes;
    private readonly int[] _kept;

    private Placement(TokenRing ring, ReplicationSettings replication)
    {
        Ring = ring;
        Replication = replication;
        var scratch = new PreferenceList.Scratch(ring, replication);
        ReplicaCount = scratch.ReplicaCount;
        _kept = scratch.Kept;
        _members = new int[ring.VnodeCount * ReplicaCount];
        _nodes = new NodeId[_members.Length];
        for (var vnode = 0; vnode < ring.VnodeCount; vnode++)
        {
            var slice = _members.AsSpan(vnode * ReplicaCount, ReplicaCount);
            PreferenceList.Select(ring, scratch, vnode, slice);
            for (var i = 0; i < slice.Length; i++)
            {
                _nodes[(vnode * ReplicaCount) + i] = ring.MemberAt(slice[i]).Id;
            }
        }
    }

    /// <summary>The ring placed.</summary>
    public TokenRing Ring { get; }

    /// <summary>The setting placed, as given (the default is resolved against <see cref="Ring"/>).</summary>
    public ReplicationSettings Replication { get; }

    /// <summary>Replicas of each token: the sum over data centers of min(their count, their nodes); 0 on an empty ring.</summary>
    public int ReplicaCount { get; }

    /// <summary>Computes every vnode's preference list.</summary>
    public static Placement Create(TokenRing ring, ReplicationSettings replication)
    {
        ArgumentNullException.ThrowIfNull(ring);
        ArgumentNullException.ThrowIfNull(replication);
        return new Placement(ring, replication);
    }

    /// <summary>Replicas data center <paramref name="dataCenter"/> (an index of <see cref="Ring"/>) keeps of each token: its count, at most its nodes.</summary>
    public int ReplicasIn(int dataCenter) => _kept[dataCenter];

    /// <summary>The natural preference list of <paramref name="token"/>; empty on an empty ring. Allocates nothing.</summary>
    public ReadOnlySpan<NodeId> For(Token token) => Ring.IsEmpty ? [] : ForVnode(Ring.VnodeIndexOf(token));

    /// <summary>The natural preference list of the tokens vnode <paramref name="vnode"/> owns.</summary>
    public ReadOnlySpan<NodeId> ForVnode(int vnode) => _nodes.AsSpan(vnode * ReplicaCount, ReplicaCount);

    /// <summary>The member indexes of <see cref="ForVnode"/>'s list, for flags kept per member (health, load).</summary>
    public ReadOnlySpan<int> MemberIndexesForVnode(int vnode) => _members.AsSpan(vnode * ReplicaCount, ReplicaCount);

    /// <summary>The token ranges whose preference list holds <paramref name="node"/> (what it stores), as closed ranges sorted by first token, adjacent ones merged.</summary>
    public IReadOnlyList<TokenRange> RangesOf(NodeId node)
    {
        var index = Ring.IndexOf(node);
        if (index < 0)
        {
            return [];
        }

        var ranges = new List<TokenRange>();
        for (var vnode = 0; vnode < Ring.VnodeCount; vnode++)
        {
            if (MemberIndexesForVnode(vnode).Contains(index))
            {
                TokenRing.AddRingRange(ranges, Ring.PreviousToken(vnode), Ring.TokenAt(vnode));
            }
        }

        return TokenRing.SortAndMerge(ranges);
    }
}
