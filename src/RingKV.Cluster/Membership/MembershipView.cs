using System;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;

namespace RingKV.Cluster.Membership;

/// <summary>An immutable snapshot of the membership as one node sees it: every known node's record and health.</summary>
/// <remarks>
/// Safe to share across threads. <see cref="Epoch"/> rises whenever something placement or routing depends on changes
/// (a node's description, its local suspicion, its DOWN verdict), not on every heartbeat: a consumer rebuilds its ring
/// or health map only when the epoch moved.
/// </remarks>
internal sealed class MembershipView
{
    internal MembershipView(NodeId local, DateTimeOffset takenAt, ulong epoch, ImmutableArray<MemberStatus> members, ImmutableArray<string> unresolvedSeeds)
    {
        Local = local;
        TakenAt = takenAt;
        Epoch = epoch;
        Members = members;
        UnresolvedSeeds = unresolvedSeeds;
    }

    /// <summary>The node whose view this is.</summary>
    public NodeId Local { get; }

    /// <summary>The time of the last event the gossiper handled before the snapshot.</summary>
    public DateTimeOffset TakenAt { get; }

    /// <summary>Rises when a description, a local suspicion or a DOWN verdict changes.</summary>
    public ulong Epoch { get; }

    /// <summary>Every known node, the local one included, ascending by node id.</summary>
    public ImmutableArray<MemberStatus> Members { get; }

    /// <summary>Seed addresses that have not answered yet (their node id is unknown).</summary>
    public ImmutableArray<string> UnresolvedSeeds { get; }

    /// <summary>The status of <paramref name="node"/>, if known.</summary>
    public bool TryGet(NodeId node, [MaybeNullWhen(false)] out MemberStatus status)
    {
        int lo = 0, hi = Members.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var c = Members[mid].Id.CompareTo(node);
            if (c == 0)
            {
                status = Members[mid];
                return true;
            }

            if (c < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        status = default;
        return false;
    }

    /// <summary>Whether <paramref name="node"/> is known and DOWN for the cluster.</summary>
    public bool IsDown(NodeId node) => TryGet(node, out var status) && status.Down;
}
