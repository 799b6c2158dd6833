using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using RingKV.Cluster.Ring;
using RingKV.Core.Hashing;

namespace RingKV.Cluster.Tests.Ring;

/// <summary>Builders and the balance measures the allocator is held to.</summary>
internal static class RingMeasures
{
    public static RingMember Member(string name, string dataCenter = "dc1", string rack = "r1", int capacity = 1) =>
        new(new NodeId(name), dataCenter, rack, capacity);

    public static string Name(int i) => "node-" + i.ToString("D3", CultureInfo.InvariantCulture);

    public static TokenRing Join(
        TokenRing ring, RingMember member, int vnodesPerCapacity = TokenAllocator.DefaultVnodesPerCapacity, ulong seed = 0, ReplicationSettings? replication = null) =>
        ring.With(member, TokenAllocator.Allocate(ring, member, replication ?? ReplicationSettings.Default, vnodesPerCapacity, seed));

    /// <summary>Per member (by ring index), the share of the token space it stores under <paramref name="placement"/>: 1 is a replica of every token.</summary>
    public static double[] StoredShares(Placement placement)
    {
        var stored = StoredTokens(placement);
        var shares = new double[stored.Length];
        for (var m = 0; m < shares.Length; m++)
        {
            shares[m] = TokenRing.Fraction(stored[m]);
        }

        return shares;
    }

    /// <summary>Per member (by ring index), how many tokens it stores a replica of under <paramref name="placement"/>.</summary>
    public static UInt128[] StoredTokens(Placement placement)
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

        return stored;
    }

    /// <summary>
    /// Per member (by ring index), the share it would store if replicas were spread in proportion to capacity as far as the
    /// placement rules allow: a node holds at most one replica of a token, and within a data center a rack holds at most one
    /// (racks at least the replica count) or at least one and at most 1 + count - racks (fewer racks). Racks first, then
    /// nodes within a rack, each filled in proportion to capacity up to its bound (a model of the allocator's targets, in doubles).
    /// </summary>
    public static double[] IdealShares(TokenRing ring, ReplicationSettings replication)
    {
        var ideal = new double[ring.MemberCount];
        for (var d = 0; d < ring.DataCenters.Count; d++)
        {
            var kept = Math.Min(replication.ReplicasIn(ring.DataCenters[d], ring), ring.NodesIn(d));
            var racks = new Dictionary<int, List<int>>();
            for (var m = 0; m < ring.MemberCount; m++)
            {
                if (ring.DataCenterIndexOf(m) == d)
                {
                    if (!racks.TryGetValue(ring.RackIndexOf(m), out var list))
                    {
                        racks[ring.RackIndexOf(m)] = list = [];
                    }

                    list.Add(m);
                }
            }

            var rackMembers = racks.Values.ToList();
            var weights = rackMembers.Select(r => (double)r.Sum(m => ring.MemberAt(m).Capacity)).ToArray();
            var few = rackMembers.Count < kept;
            var lo = rackMembers.Select(_ => few ? 1.0 : 0.0).ToArray();
            var hi = rackMembers.Select(r => (double)Math.Min(r.Count, few ? kept - rackMembers.Count + 1 : 1)).ToArray();
            var rackShares = Fill(weights, lo, hi, kept);
            for (var r = 0; r < rackMembers.Count; r++)
            {
                var members = rackMembers[r];
                var shares = Fill(
                    members.Select(m => (double)ring.MemberAt(m).Capacity).ToArray(), new double[members.Count], members.Select(_ => 1.0).ToArray(), rackShares[r]);
                for (var i = 0; i < members.Count; i++)
                {
                    ideal[members[i]] = shares[i];
                }
            }
        }

        return ideal;
    }

    /// <summary>The largest and smallest stored share over its ideal (<see cref="IdealShares"/>), among members with an ideal above 0.</summary>
    public static (double Max, double Min) StoredOverIdeal(Placement placement)
    {
        var stored = StoredShares(placement);
        var ideal = IdealShares(placement.Ring, placement.Replication);
        var (max, min) = (double.MinValue, double.MaxValue);
        for (var m = 0; m < stored.Length; m++)
        {
            if (ideal[m] > 0)
            {
                max = Math.Max(max, stored[m] / ideal[m]);
                min = Math.Min(min, stored[m] / ideal[m]);
            }
        }

        return (max, min);
    }

    /// <summary>Shares in proportion to <paramref name="weights"/>, each clamped to its bounds, summing to <paramref name="total"/> (bisection on the level).</summary>
    private static double[] Fill(double[] weights, double[] lo, double[] hi, double total)
    {
        double low = 0, high = total / weights.Min() + 1;
        for (var i = 0; i < 200; i++)
        {
            var level = (low + high) / 2;
            var sum = 0.0;
            for (var j = 0; j < weights.Length; j++)
            {
                sum += Math.Clamp(level * weights[j], lo[j], hi[j]);
            }

            (low, high) = sum < total ? (level, high) : (low, level);
        }

        return weights.Select((w, j) => Math.Clamp(low * w, lo[j], hi[j])).ToArray();
    }

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
