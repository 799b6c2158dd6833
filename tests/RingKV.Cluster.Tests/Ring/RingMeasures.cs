using System;
using System.Collections.Generic;
using System.Globalization;
using RingKV.Cluster.Ring;
using RingKV.Core.Hashing;

namespace RingKV.Cluster.Tests.Ring;

/// <summary>Builders and the balance measures the allocator is held to.</summary>
internal static class RingMeasures
{
    public static RingMember Member(string name, string dataCenter = "dc1", string rack = "r1", int capacity = 1) =>
        new(new NodeId(name), dataCenter, rack, capacity);

    public static string Name(int i) => "node-" + i.ToString("D3", CultureInfo.InvariantCulture);

    public static TokenRing Join(TokenRing ring, RingMember member, int vnodesPerCapacity = TokenAllocator.DefaultVnodesPerCapacity, ulong seed = 0) =>
        ring.With(member, TokenAllocator.Allocate(ring, member, vnodesPerCapacity, seed));

    /// <summary>The largest and smallest ownership per unit of capacity among <paramref name="members"/>, over their mean.</summary>
    public static (double Max, double Min) Spread(TokenRing ring, IEnumerable<RingMember> members, bool withinDataCenter = false)
    {
        var shares = new List<double>();
        var total = 0.0;
        var capacity = 0;
        foreach (var member in members)
        {
            var share = withinDataCenter ? ring.DataCenterOwnershipOf(member.Id) : ring.OwnershipOf(member.Id);
            shares.Add(share / member.Capacity);
            total += share;
            capacity += member.Capacity;
        }

        var mean = total / capacity;
        var (max, min) = (double.MinValue, double.MaxValue);
        foreach (var share in shares)
        {
            max = Math.Max(max, share / mean);
            min = Math.Min(min, share / mean);
        }

        return (max, min);
    }

    /// <summary>Per member, the share of the replica data it stores under <paramref name="placement"/> (sums to 1), max and min over the mean.</summary>
    public static (double Max, double Min) ReplicatedSpread(Placement placement)
    {
        var ring = placement.Ring;
        var stored = new UInt128[ring.MemberCount];
        for (var vnode = 0; vnode < ring.VnodeCount; vnode++)
        {
            var size = TokenRing.RangeSize(ring.PreviousToken(vnode).Value, ring.TokenAt(vnode).Value);
            foreach (var member in placement.MemberIndexesForVnode(vnode))
            {
                stored[member] += size;
            }
        }

        var total = 0.0;
        var capacity = 0;
        for (var m = 0; m < stored.Length; m++)
        {
            total += TokenRing.Fraction(stored[m]);
            capacity += ring.MemberAt(m).Capacity;
        }

        var mean = total / capacity;
        var (max, min) = (double.MinValue, double.MaxValue);
        for (var m = 0; m < stored.Length; m++)
        {
            var ratio = TokenRing.Fraction(stored[m]) / ring.MemberAt(m).Capacity / mean;
            max = Math.Max(max, ratio);
            min = Math.Min(min, ratio);
        }

        return (max, min);
    }

    /// <summary>
    /// The share of all replica data (every token times its replicas after the change) that lands on a node which did not
    /// hold it before: what a change streams. Compared segment by segment over both rings' tokens.
    /// </summary>
    public static double MovedFraction(Placement before, Placement after)
    {
        var boundaries = new SortedSet<ulong>();
        for (var vnode = 0; vnode < before.Ring.VnodeCount; vnode++)
        {
            boundaries.Add(before.Ring.TokenAt(vnode).Value);
        }

        for (var vnode = 0; vnode < after.Ring.VnodeCount; vnode++)
        {
            boundaries.Add(after.Ring.TokenAt(vnode).Value);
        }

        var points = new List<ulong>(boundaries);
        UInt128 moved = 0, total = 0;
        for (var i = 0; i < points.Count; i++)
        {
            var size = TokenRing.RangeSize(points[i == 0 ? points.Count - 1 : i - 1], points[i]);
            var old = before.For(new Token(points[i]));
            var now = after.For(new Token(points[i]));
            foreach (var node in now)
            {
                if (!old.Contains(node))
                {
                    moved += size;
                }
            }

            total += size * (uint)now.Length;
        }

        return (double)moved / (double)total;
    }
}
