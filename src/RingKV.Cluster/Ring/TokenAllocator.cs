using System;
using System.Collections.Generic;
using RingKV.Core.Errors;
using RingKV.Core.Hashing;

namespace RingKV.Cluster.Ring;

/// <summary>Chooses vnode tokens so that every node's ownership is proportional to its capacity.</summary>
/// <remarks>
/// <para>
/// Pure and deterministic: the same ring, member, vnode count and seed give the same tokens on any runtime (integer
/// arithmetic throughout; the seed only breaks ties between equally loaded nodes and sets the phase of evenly spread tokens).
/// </para>
/// <para>
/// Balance is kept within each data center, because replication walks a data center's own vnodes: what a member of a data
/// center stores depends on the gaps between that data center's vnodes (<see cref="TokenRing.DataCenterOwnershipOf"/>). With
/// one data center that is the plain ownership. A join in one data center therefore moves no data of another.
/// </para>
/// <para>
/// <see cref="Initial"/> spreads each data center's vnodes evenly (all ranges the same size, so ownership is exactly
/// proportional to capacity) and interleaves the members, each member's vnodes one per stripe of the ring at a seeded offset
/// inside the stripe, so no member's successors repeat stripe after stripe.
/// </para>
/// <para>
/// <see cref="Allocate"/> places a joining node's vnodes one at a time. Its target is its capacity's share of the data
/// center; each vnode takes the front of a range (a new token inside range (a, b] takes (a, token]) from the most loaded
/// member relative to capacity. How much it takes is water-filling: with r vnodes left to place, the r most loaded members
/// are lowered toward a common load per capacity that pays exactly what the joining node still needs, so with fewer vnodes
/// than members the most loaded give, and the rest wait for the next join. A piece is at most 90 % of the range it comes
/// from, so the donor's vnode keeps a share and is not reduced to a sliver; vnodes left over once the target is reached
/// halve the node's own largest ranges, which changes no ownership and gives later joins more ranges to take from.
/// </para>
/// <para>
/// Rejected: random tokens (Dynamo, early Cassandra), which need hundreds of vnodes per node for 10 % balance; and
/// splitting the most loaded ranges at their midpoints, which takes a fixed half per vnode, so a join overshoots or falls
/// short of its share by whole half-ranges.
/// </para>
/// </remarks>
internal static class TokenAllocator
{
    /// <summary>Vnodes per unit of capacity unless configured; docs/benchmarks.md (ring balance) has the figures behind the choice.</summary>
    public const int DefaultVnodesPerCapacity = 16;

    /// <summary>The most vnodes per unit of capacity.</summary>
    public const int MaxVnodesPerCapacity = 256;

    /// <summary>The share of a range a new vnode may take, in tenths.</summary>
    private const int MaxPieceTenths = 9;

    /// <summary>Tokens for a ring of members starting together (seed nodes), evenly spread per data center.</summary>
    /// <remarks>Throws <see cref="RingKVException"/> (InvalidArgument) when a member appears twice or the vnode count is out of range.</remarks>
    public static TokenRing Initial(IReadOnlyList<RingMember> members, int vnodesPerCapacity = DefaultVnodesPerCapacity, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(members);
        CheckVnodes(vnodesPerCapacity);
        var sorted = new RingMember[members.Count];
        for (var i = 0; i < sorted.Length; i++)
        {
            sorted[i] = members[i] ?? throw new ArgumentException("a member is null", nameof(members));
        }

        // By data center, then id: the order every decision below follows.
        Array.Sort(sorted, static (a, b) =>
        {
            var c = string.CompareOrdinal(a.DataCenter, b.DataCenter);
            return c != 0 ? c : a.Id.CompareTo(b.Id);
        });

        var taken = new HashSet<ulong>();
        var assigned = new List<(RingMember Member, IReadOnlyList<Token> Tokens)>(sorted.Length);
        var dataCenterIndex = 0;
        for (var start = 0; start < sorted.Length; dataCenterIndex++)
        {
            var end = start + 1;
            while (end < sorted.Length && string.Equals(sorted[end].DataCenter, sorted[start].DataCenter, StringComparison.Ordinal))
            {
                end++;
            }

            SpreadDataCenter(sorted.AsSpan(start, end - start), vnodesPerCapacity, Mix(seed ^ Mix((ulong)dataCenterIndex)), taken, assigned);
            start = end;
        }

        // Create refuses a member listed twice.
        return TokenRing.Create(assigned);
    }

    /// <summary>Tokens for <paramref name="member"/> joining <paramref name="ring"/>: its capacity times <paramref name="vnodesPerCapacity"/>, ascending.</summary>
    /// <remarks>
    /// Throws <see cref="RingKVException"/> (InvalidArgument) when the member is already in the ring or the vnode count is out
    /// of range. Cost: per vnode, one pass over the data center's vnodes and a sort of its members.
    /// </remarks>
    public static Token[] Allocate(TokenRing ring, RingMember member, int vnodesPerCapacity = DefaultVnodesPerCapacity, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(ring);
        ArgumentNullException.ThrowIfNull(member);
        CheckVnodes(vnodesPerCapacity);
        if (ring.Contains(member.Id))
        {
            ThrowHelper.InvalidArgument($"node {member.Id} is already in the ring; tokens are allocated once, when a node joins");
        }

        var count = member.Capacity * vnodesPerCapacity;
        var state = new JoinState(ring, member, seed);
        if (state.Vnodes.Count == 0)
        {
            // First node of its data center: spread evenly at a seeded phase.
            var tokens = new List<(RingMember Member, IReadOnlyList<Token> Tokens)>(1);
            var taken = new HashSet<ulong>();
            for (var vnode = 0; vnode < ring.VnodeCount; vnode++)
            {
                taken.Add(ring.TokenAt(vnode).Value);
            }

            SpreadDataCenter([member], vnodesPerCapacity, Mix(seed ^ member.Id.Actor), taken, tokens);
            var spread = (Token[])tokens[0].Tokens;
            Array.Sort(spread);
            return spread;
        }

        var chosen = new Token[count];
        for (var piece = 0; piece < count; piece++)
        {
            chosen[piece] = state.PlaceVnode(count - piece);
        }

        Array.Sort(chosen);
        return chosen;
    }

    private static void CheckVnodes(int vnodesPerCapacity)
    {
        if (vnodesPerCapacity is < 1 or > MaxVnodesPerCapacity)
        {
            ThrowHelper.InvalidArgument($"vnodes per capacity unit is {vnodesPerCapacity}; expected 1 to {MaxVnodesPerCapacity}");
        }
    }

    /// <summary>Spreads the vnodes of one data center's members evenly over the ring, interleaved, and adds them to <paramref name="assigned"/>.</summary>
    private static void SpreadDataCenter(
        ReadOnlySpan<RingMember> members, int vnodesPerCapacity, ulong phase, HashSet<ulong> taken, List<(RingMember Member, IReadOnlyList<Token> Tokens)> assigned)
    {
        // Member i's m-th vnode sits at position (m + u) / k_i of the ring, u a seeded fraction in [0, 1) (32 bits):
        // one vnode per stripe of width 1/k_i. Slots are handed out in position order; positions compare exactly as
        // (m * 2^32 + u) * k_j against (m' * 2^32 + u') * k_i.
        var order = new List<(ulong Numerator, int Vnodes, int Member, int Index)>();
        for (var i = 0; i < members.Length; i++)
        {
            var vnodes = members[i].Capacity * vnodesPerCapacity;
            for (var m = 0; m < vnodes; m++)
            {
                var jitter = Mix(phase ^ Mix(members[i].Id.Actor ^ Mix((ulong)m))) >> 32;
                order.Add((((ulong)m << 32) | jitter, vnodes, i, m));
            }
        }

        order.Sort(static (a, b) =>
        {
            var c = ((UInt128)a.Numerator * (uint)b.Vnodes).CompareTo((UInt128)b.Numerator * (uint)a.Vnodes);
            if (c != 0)
            {
                return c;
            }

            c = a.Member.CompareTo(b.Member);
            return c != 0 ? c : a.Index.CompareTo(b.Index);
        });

        var tokens = new List<Token>[members.Length];
        for (var i = 0; i < tokens.Length; i++)
        {
            tokens[i] = new List<Token>(members[i].Capacity * vnodesPerCapacity);
        }

        var slots = (ulong)order.Count;
        for (var slot = 0; slot < order.Count; slot++)
        {
            var token = unchecked(phase + (ulong)(TokenRing.TokenSpace * (ulong)slot / slots));

            // Another data center's token may sit here already; the next free token is as good.
            while (!taken.Add(token))
            {
                token = unchecked(token + 1);
            }

            tokens[order[slot].Member].Add(new Token(token));
        }

        for (var i = 0; i < members.Length; i++)
        {
            assigned.Add((members[i], tokens[i].ToArray()));
        }
    }

    /// <summary>SplitMix64's finalizer: a fixed, seedable mix of 64 bits, the same on every runtime.</summary>
    private static ulong Mix(ulong z)
    {
        unchecked
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>The joining node's data center as a ring of its own, with loads, as vnodes are added.</summary>
    private sealed class JoinState
    {
        private readonly TokenRing _ring;
        private readonly int _joiner;
        private readonly int[] _capacities;
        private readonly UInt128[] _loads;
        private readonly ulong[] _tieKeys;
        private readonly NodeId[] _ids;
        private readonly int[] _order;
        private readonly int[] _largest;
        private readonly UInt128 _target;

        public JoinState(TokenRing ring, RingMember member, ulong seed)
        {
            _ring = ring;
            var local = new int[ring.MemberCount];
            var ids = new List<NodeId>();
            var capacities = new List<int>();
            for (var m = 0; m < ring.MemberCount; m++)
            {
                var other = ring.MemberAt(m);
                local[m] = -1;
                if (string.Equals(other.DataCenter, member.DataCenter, StringComparison.Ordinal))
                {
                    local[m] = ids.Count;
                    ids.Add(other.Id);
                    capacities.Add(other.Capacity);
                }
            }

            _joiner = ids.Count;
            ids.Add(member.Id);
            capacities.Add(member.Capacity);
            _ids = [.. ids];
            _capacities = [.. capacities];
            _tieKeys = new ulong[_ids.Length];
            for (var i = 0; i < _ids.Length; i++)
            {
                _tieKeys[i] = Mix(seed ^ _ids[i].Actor);
            }

            for (var vnode = 0; vnode < ring.VnodeCount; vnode++)
            {
                var owner = local[ring.OwnerIndexAt(vnode)];
                if (owner >= 0)
                {
                    Vnodes.Add((ring.TokenAt(vnode).Value, owner));
                }
            }

            _loads = new UInt128[_ids.Length];
            for (var i = 0; i < Vnodes.Count; i++)
            {
                _loads[Vnodes[i].Owner] += RangeSizeAt(i);
            }

            var totalCapacity = 0L;
            foreach (var capacity in _capacities)
            {
                totalCapacity += capacity;
            }

            _target = TokenRing.TokenSpace * (ulong)member.Capacity / (ulong)totalCapacity;
            _order = new int[_joiner];
            _largest = new int[_ids.Length];
        }

        /// <summary>The data center's vnodes in token order: token and local owner (the joiner is the last local index).</summary>
        public List<(ulong Token, int Owner)> Vnodes { get; } = [];

        /// <summary>Places one vnode of the joiner, <paramref name="remaining"/> counting this one, and returns its token.</summary>
        public Token PlaceVnode(int remaining)
        {
            var need = (Int128)_target - (Int128)_loads[_joiner];
            if (need > 0 && TryTakeFromDonor(remaining, (UInt128)need, out var end, out var amount))
            {
                return Insert(end, amount);
            }

            // Target reached (or nothing left to take): halve the joiner's own largest range, or failing that the largest range.
            var own = LargestRange(ownedBy: _joiner);
            var at = own >= 0 ? own : LargestRange(ownedBy: -1);
            return Insert(at, RangeSizeAt(at) / 2);
        }

        private bool TryTakeFromDonor(int remaining, UInt128 need, out int end, out UInt128 amount)
        {
            for (var i = 0; i < _order.Length; i++)
            {
                _order[i] = i;
            }

            // Most loaded per unit of capacity first; ties by the seeded key, then by id.
            Array.Sort(_order, (a, b) =>
            {
                var c = (_loads[b] * (uint)_capacities[a]).CompareTo(_loads[a] * (uint)_capacities[b]);
                if (c != 0)
                {
                    return c;
                }

                c = _tieKeys[a].CompareTo(_tieKeys[b]);
                return c != 0 ? c : _ids[a].CompareTo(_ids[b]);
            });

            // Water level over the `remaining` most loaded: sum S of loads, Sc of capacities, level (S - need) / Sc,
            // stopping early once the next member is already at or below the level.
            Int128 sum = 0;
            long capacitySum = 0;
            var top = Math.Min(remaining, _order.Length);
            for (var i = 0; i < top; i++)
            {
                var donor = _order[i];
                sum += (Int128)_loads[donor];
                capacitySum += _capacities[donor];
                if (i + 1 < top)
                {
                    var next = _order[i + 1];
                    if ((sum - (Int128)need) * _capacities[next] >= (Int128)_loads[next] * capacitySum)
                    {
                        break;
                    }
                }
            }

            LargestRangePerOwner();
            foreach (var donor in _order)
            {
                // What lowers the donor to the level: load - level * capacity, exactly.
                var allowance = (((Int128)_loads[donor] * capacitySum) - ((sum - (Int128)need) * _capacities[donor])) / capacitySum;
                if (allowance <= 0)
                {
                    break;
                }

                var range = _largest[donor];
                if (range < 0)
                {
                    continue;
                }

                var take = RangeSizeAt(range) * MaxPieceTenths / 10;
                take = UInt128.Min(take, UInt128.Min((UInt128)allowance, need));
                if (take == 0)
                {
                    continue;
                }

                end = range;
                amount = take;
                return true;
            }

            end = -1;
            amount = 0;
            return false;
        }

        /// <summary>Fills <see cref="_largest"/>: per local member, the position of the end of its largest range that the joiner may split, or -1.</summary>
        private void LargestRangePerOwner()
        {
            Array.Fill(_largest, -1);
            for (var i = 0; i < Vnodes.Count; i++)
            {
                var owner = Vnodes[i].Owner;

                // A piece right after one of the joiner's vnodes would only lengthen that vnode's range.
                if (owner == _joiner || Vnodes[i == 0 ? Vnodes.Count - 1 : i - 1].Owner == _joiner || RangeSizeAt(i) < 2)
                {
                    continue;
                }

                if (_largest[owner] < 0 || RangeSizeAt(i) > RangeSizeAt(_largest[owner]))
                {
                    _largest[owner] = i;
                }
            }
        }

        /// <summary>The position of the end of the largest range of <paramref name="ownedBy"/> (any owner when negative) with room for a token, or -1.</summary>
        private int LargestRange(int ownedBy)
        {
            var best = -1;
            for (var i = 0; i < Vnodes.Count; i++)
            {
                if ((ownedBy < 0 || Vnodes[i].Owner == ownedBy) && RangeSizeAt(i) >= 2 && (best < 0 || RangeSizeAt(i) > RangeSizeAt(best)))
                {
                    best = i;
                }
            }

            if (best < 0)
            {
                ThrowHelper.InvalidArgument("the data center has no range left to split: every range is a single token");
            }

            return best;
        }

        /// <summary>Inserts a joiner vnode <paramref name="amount"/> tokens into the range ending at position <paramref name="end"/>, moving that much load from its owner.</summary>
        private Token Insert(int end, UInt128 amount)
        {
            var start = Vnodes[end == 0 ? Vnodes.Count - 1 : end - 1].Token;
            var size = RangeSizeAt(end);
            var offset = (ulong)UInt128.Clamp(amount, 1, size - 1);

            // Another data center may own this exact token; the nearest free one inside the range serves as well:
            // upward to the range's end, then downward from the first choice.
            var first = offset;
            while (_ring.IsTokenTaken(new Token(unchecked(start + offset))))
            {
                offset = offset >= first ? offset + 1 : offset - 1;
                if (offset == size)
                {
                    offset = first - 1;
                }

                if (offset == 0)
                {
                    ThrowHelper.InvalidArgument($"no free token inside the range ending at {new Token(Vnodes[end].Token)}");
                }
            }

            var token = unchecked(start + offset);
            var donor = Vnodes[end].Owner;
            _loads[donor] -= offset;
            _loads[_joiner] += offset;
            var at = Vnodes.BinarySearch((token, -1), TokenOrder.Instance);
            Vnodes.Insert(~at, (token, _joiner));
            return new Token(token);
        }

        private UInt128 RangeSizeAt(int position) =>
            TokenRing.RangeSize(Vnodes[position == 0 ? Vnodes.Count - 1 : position - 1].Token, Vnodes[position].Token);
    }

    private sealed class TokenOrder : IComparer<(ulong Token, int Owner)>
    {
        public static readonly TokenOrder Instance = new();

        public int Compare((ulong Token, int Owner) x, (ulong Token, int Owner) y) => x.Token.CompareTo(y.Token);
    }
}
