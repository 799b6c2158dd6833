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
/// <see cref="Allocate"/> balances what each member stores under the replication setting (its replica share: the ranges
/// whose preference list holds it), as Cassandra's replication-aware allocator does, and primary ownership beside it. It
/// places the joiner's vnodes one at a time, each at the range and offset that most lower a sum over the data center's
/// members of squared deviations from target, per unit of capacity: replica load against a capacity-proportional target
/// within what the rack rule allows, plus primary ownership weighted by the replica count squared. The joiner never takes
/// more primary ownership than its share, and a piece is at most 90 % of its range.
/// </para>
/// <para>
/// Rejected: balancing primary ownership alone (the earlier allocator). Its leftover vnodes split the joiner's own largest
/// ranges, and adjacent vnodes of one node add nothing to what it stores, so a fourth node joining three stored 62 % of its
/// ideal with N=3 (docs/benchmarks.md, ring balance).
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
    /// <paramref name="replication"/> is the cluster's setting: what each member stores follows from it, resolved for the
    /// ring with the joiner in. Throws <see cref="RingKVException"/> (InvalidArgument) when the member is already in the ring
    /// or the vnode count is out of range. Cost: per vnode, for every range of the data center a re-walk of the preference
    /// lists that reach it (about N vnodes each on a mixed ring).
    /// </remarks>
    public static Token[] Allocate(TokenRing ring, RingMember member, ReplicationSettings replication, int vnodesPerCapacity = DefaultVnodesPerCapacity, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(replication);
        ArgumentNullException.ThrowIfNull(ring);
        ArgumentNullException.ThrowIfNull(member);
        CheckVnodes(vnodesPerCapacity);
        if (ring.Contains(member.Id))
        {
            ThrowHelper.InvalidArgument($"node {member.Id} is already in the ring; tokens are allocated once, when a node joins");
        }

        var count = member.Capacity * vnodesPerCapacity;
        var state = new JoinState(ring, member, replication, seed);
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
            chosen[piece] = state.PlaceVnode(piece, count);
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

    /// <summary>The joining node's data center as a ring of its own, with each vnode's preference list, as vnodes are added.</summary>
    /// <remarks>
    /// Only the data center's own vnodes matter: its replicas of a token are the first members of the data center that the
    /// walk from the token meets, and the rack rule is per data center (<see cref="PreferenceList"/>). <see cref="Select"/>
    /// follows that rule over this local ring, with the joiner's next vnode inserted virtually, so a candidate is judged
    /// without building a ring. Loads are token counts: what each member stores (its replica load) and owns first (primary).
    /// </remarks>
    private sealed class JoinState
    {
        /// <summary>Deviations are squared in units of 2^28 tokens, so a sum over members fits Int128.</summary>
        private const int ScoreShift = 28;

        /// <summary>Per-member weights are this over the capacity: squared deviation per unit of capacity, times capacity.</summary>
        private const long WeightScale = 1 << 16;

        private readonly TokenRing _ring;
        private readonly int _joiner;
        private readonly int _kept;
        private readonly int _rackRepeats;
        private readonly int[] _capacities;
        private readonly int[] _racks;
        private readonly long[] _weights;
        private readonly UInt128[] _replicaTargets;
        private readonly UInt128[] _primaryTargets;
        private readonly ulong _seed;

        // Rebuilt after every placed vnode: per vnode its list (Kept entries, -1 padded) and how far its walk reached.
        private int[] _lists = [];
        private int[] _reach = [];
        private int _maxReach;
        private readonly UInt128[] _replicaLoads;
        private readonly UInt128[] _primaryLoads;

        // Scratch for one candidate: per member, the constant and per-token change of its replica load.
        private readonly Int128[] _constant;
        private readonly int[] _slope;
        private readonly List<int> _touched = [];
        private readonly HashSet<ulong> _full = [];
        private readonly bool[] _isTouched;
        private readonly int[] _visited;
        private readonly int[] _rackSeen;
        private readonly int[] _walked;
        private int _stamp;

        public JoinState(TokenRing ring, RingMember member, ReplicationSettings replication, ulong seed)
        {
            _ring = ring;
            _seed = seed;
            var local = new int[ring.MemberCount];
            var capacities = new List<int>();
            var rackNames = new List<string>();
            var racks = new List<int>();
            for (var m = 0; m < ring.MemberCount; m++)
            {
                var other = ring.MemberAt(m);
                local[m] = -1;
                if (string.Equals(other.DataCenter, member.DataCenter, StringComparison.Ordinal))
                {
                    local[m] = capacities.Count;
                    capacities.Add(other.Capacity);
                    racks.Add(RackIndex(rackNames, other.Rack));
                }
            }

            _joiner = capacities.Count;
            capacities.Add(member.Capacity);
            racks.Add(RackIndex(rackNames, member.Rack));
            _capacities = [.. capacities];
            _racks = [.. racks];
            var members = _capacities.Length;

            // What the data center keeps once the joiner is in; a data center keeping none is balanced as if it kept one.
            _kept = Math.Clamp(replication.ReplicasIn(member.DataCenter, ring.MemberCount + 1), 1, members);
            _rackRepeats = Math.Max(0, _kept - rackNames.Count);

            for (var vnode = 0; vnode < ring.VnodeCount; vnode++)
            {
                var owner = local[ring.OwnerIndexAt(vnode)];
                if (owner >= 0)
                {
                    Vnodes.Add((ring.TokenAt(vnode).Value, owner));
                }
            }

            _weights = new long[members];
            for (var m = 0; m < members; m++)
            {
                _weights[m] = WeightScale / _capacities[m];
            }

            _replicaTargets = ReplicaTargets(_capacities, _racks, rackNames.Count, _kept);
            var weights = new long[members];
            Array.Copy(_capacities, weights, members);
            var noFloor = new UInt128[members];
            var noCeiling = new UInt128[members];
            Array.Fill(noCeiling, TokenRing.TokenSpace);
            _primaryTargets = Fill(weights, noFloor, noCeiling, TokenRing.TokenSpace);
            _replicaLoads = new UInt128[members];
            _primaryLoads = new UInt128[members];
            _constant = new Int128[members];
            _slope = new int[members];
            _isTouched = new bool[members];
            _visited = new int[members];
            _rackSeen = new int[rackNames.Count];
            _walked = new int[_kept];
        }

        /// <summary>The data center's vnodes in token order: token and local owner (the joiner is the last local index).</summary>
        public List<(ulong Token, int Owner)> Vnodes { get; } = [];

        /// <summary>Places vnode <paramref name="placed"/> (0-based) of the joiner's <paramref name="count"/> and returns its token.</summary>
        /// <remarks>
        /// Every range is a candidate. Inserting the vnode x tokens into range (a, b] changes each member's replica load by a
        /// constant (the preference lists of earlier vnodes whose walks reach b now meet the joiner first) plus x times -1, 0
        /// or 1 (the piece (a, a + x] gets the joiner's list instead of b's), and moves x of primary ownership from b's owner
        /// to the joiner. The score, a sum over members of squared deviations from target per unit of capacity, is then a
        /// quadratic in x, minimised exactly; the candidate with the lowest minimum wins. The joiner's targets grow with the
        /// vnodes placed (its share times placed / count), so early vnodes do not grab what later ones should take.
        /// </remarks>
        public Token PlaceVnode(int placed, int count)
        {
            Rebuild();
            while (true)
            {
                var (end, offset) = BestCandidate(placed, count);
                if (TryInsert(end, offset, out var token))
                {
                    return token;
                }

                // Every token inside is another data center's: never a candidate again.
                _full.Add(Vnodes[end].Token);
            }
        }

        private (int End, UInt128 Offset) BestCandidate(int placed, int count)
        {
            var replicaTargetNow = _replicaTargets[_joiner] * (uint)(placed + 1) / (uint)count;
            var primaryTargetNow = _primaryTargets[_joiner] * (uint)(placed + 1) / (uint)count;
            var primaryWeight = (long)_kept * _kept;

            var bestEnd = -1;
            UInt128 bestOffset = 0;
            Int128 bestScore = 0;
            ulong bestTie = 0;
            for (var end = 0; end < Vnodes.Count; end++)
            {
                var size = RangeSizeAt(end);
                if (size < 2 || _full.Contains(Vnodes[end].Token))
                {
                    continue;
                }

                Collect(end);

                // f(x) = sum of w (A + c x)^2 over the replica terms and w k^2 (B + p x)^2 over the two primary terms;
                // f'(x) = 0 at x = -sum(w A c) / sum(w c^2).
                Int128 numerator = 0, denominator = 0;
                foreach (var m in _touched)
                {
                    var deviation = ReplicaDeviation(m, replicaTargetNow) + _constant[m];
                    numerator += _weights[m] * deviation * _slope[m];
                    denominator += _weights[m] * _slope[m] * _slope[m];
                }

                var donor = Vnodes[end].Owner;
                var donorDeviation = (Int128)_primaryLoads[donor] - (Int128)_primaryTargets[donor];
                var joinerDeviation = (Int128)_primaryLoads[_joiner] - (Int128)primaryTargetNow;
                if (donor != _joiner)
                {
                    numerator += primaryWeight * ((_weights[_joiner] * joinerDeviation) - (_weights[donor] * donorDeviation));
                    denominator += primaryWeight * (_weights[_joiner] + _weights[donor]);
                }

                // A piece is 1 token to 90 % of the range, so the donor's vnode keeps a share, and never takes the joiner's
                // primary ownership past its share: replica balance is not bought with primary imbalance.
                var most = Int128.Max(1, Int128.Min((Int128)(size * MaxPieceTenths / 10), (Int128)_primaryTargets[_joiner] - (Int128)_primaryLoads[_joiner]));
                var x = denominator == 0 ? (Int128)(size / 2) : -numerator / denominator;
                x = Int128.Clamp(x, 1, most);

                Int128 score = 0;
                foreach (var m in _touched)
                {
                    var deviation = ReplicaDeviation(m, replicaTargetNow);
                    score += _weights[m] * (Square(deviation + _constant[m] + (_slope[m] * x)) - Square(deviation));
                }

                if (donor != _joiner)
                {
                    score += primaryWeight * _weights[_joiner] * (Square(joinerDeviation + x) - Square(joinerDeviation));
                    score += primaryWeight * _weights[donor] * (Square(donorDeviation - x) - Square(donorDeviation));
                }

                Clear();
                var tie = Mix(_seed ^ Vnodes[end].Token);
                if (bestEnd < 0 || score < bestScore || (score == bestScore && tie < bestTie))
                {
                    (bestEnd, bestOffset, bestScore, bestTie) = (end, (UInt128)x, score, tie);
                }
            }

            if (bestEnd < 0)
            {
                ThrowHelper.InvalidArgument("the data center has no range left to split: every range is a single token");
            }

            return (bestEnd, bestOffset);

            Int128 ReplicaDeviation(int m, UInt128 joinerTarget) =>
                (Int128)_replicaLoads[m] - (Int128)(m == _joiner ? joinerTarget : _replicaTargets[m]);
        }

        private static Int128 Square(Int128 deviation)
        {
            var scaled = deviation >> ScoreShift;
            return scaled * scaled;
        }

        private static int RackIndex(List<string> names, string rack)
        {
            var index = names.IndexOf(rack);
            if (index < 0)
            {
                names.Add(rack);
                index = names.Count - 1;
            }

            return index;
        }

        /// <summary>
        /// Replica load targets: racks first, in proportion to their capacity within what the rack rule allows (a rack holds
        /// at most one replica of a token when there are at least as many racks as replicas; otherwise at least one and at most
        /// one plus the repeats), then the members of each rack in proportion to capacity, at most one replica of every token.
        /// </summary>
        private static UInt128[] ReplicaTargets(int[] capacities, int[] racks, int rackCount, int kept)
        {
            var space = TokenRing.TokenSpace;
            var rackWeights = new long[rackCount];
            var rackMembers = new int[rackCount];
            for (var m = 0; m < capacities.Length; m++)
            {
                rackWeights[racks[m]] += capacities[m];
                rackMembers[racks[m]]++;
            }

            var few = rackCount < kept;
            var floors = new UInt128[rackCount];
            var ceilings = new UInt128[rackCount];
            for (var r = 0; r < rackCount; r++)
            {
                floors[r] = few ? space : 0;
                ceilings[r] = space * (uint)Math.Min(rackMembers[r], few ? kept - rackCount + 1 : 1);
            }

            var rackTargets = Fill(rackWeights, floors, ceilings, space * (uint)kept);
            var targets = new UInt128[capacities.Length];
            for (var r = 0; r < rackCount; r++)
            {
                var members = new List<int>();
                for (var m = 0; m < capacities.Length; m++)
                {
                    if (racks[m] == r)
                    {
                        members.Add(m);
                    }
                }

                var weights = new long[members.Count];
                var memberFloors = new UInt128[members.Count];
                var memberCeilings = new UInt128[members.Count];
                for (var i = 0; i < members.Count; i++)
                {
                    weights[i] = capacities[members[i]];
                    memberCeilings[i] = space;
                }

                var shares = Fill(weights, memberFloors, memberCeilings, rackTargets[r]);
                for (var i = 0; i < members.Count; i++)
                {
                    targets[members[i]] = shares[i];
                }
            }

            return targets;
        }

        /// <summary>Shares clamp(level * weight, floor, ceiling) at the highest level whose sum is at most <paramref name="total"/> (bisection, integers).</summary>
        private static UInt128[] Fill(long[] weights, UInt128[] floors, UInt128[] ceilings, UInt128 total)
        {
            UInt128 low = 0, high = total + 1;
            while (high - low > 1)
            {
                var level = low + ((high - low) / 2);
                UInt128 sum = 0;
                for (var i = 0; i < weights.Length; i++)
                {
                    sum += UInt128.Clamp(level * (ulong)weights[i], floors[i], ceilings[i]);
                }

                (low, high) = sum <= total ? (level, high) : (low, level);
            }

            var shares = new UInt128[weights.Length];
            for (var i = 0; i < weights.Length; i++)
            {
                shares[i] = UInt128.Clamp(low * (ulong)weights[i], floors[i], ceilings[i]);
            }

            return shares;
        }

        /// <summary>Recomputes every vnode's list and reach and the members' loads from <see cref="Vnodes"/>.</summary>
        private void Rebuild()
        {
            var count = Vnodes.Count;
            _lists = new int[count * _kept];
            _reach = new int[count];
            _maxReach = 0;
            Array.Clear(_replicaLoads);
            Array.Clear(_primaryLoads);
            for (var v = 0; v < count; v++)
            {
                var list = _lists.AsSpan(v * _kept, _kept);
                _reach[v] = Select(v, insertBefore: -1, list);
                _maxReach = Math.Max(_maxReach, _reach[v]);
                var size = RangeSizeAt(v);
                _primaryLoads[Vnodes[v].Owner] += size;
                foreach (var m in list)
                {
                    if (m >= 0)
                    {
                        _replicaLoads[m] += size;
                    }
                }
            }
        }

        /// <summary>Fills <see cref="_constant"/>, <see cref="_slope"/> and <see cref="_touched"/> for a joiner vnode inside the range ending at <paramref name="end"/>.</summary>
        private void Collect(int end)
        {
            var count = Vnodes.Count;
            var walked = _walked.AsSpan();

            // Earlier vnodes whose walk reached `end` now meet the joiner just before it.
            for (var back = 1; back <= Math.Min(_maxReach, count - 1); back++)
            {
                var v = end - back < 0 ? end - back + count : end - back;
                if (_reach[v] < back)
                {
                    continue;
                }

                Select(v, end, walked);
                var size = RangeSizeAt(v);
                var old = _lists.AsSpan(v * _kept, _kept);
                foreach (var m in walked)
                {
                    if (m >= 0 && !old.Contains(m))
                    {
                        Touch(m);
                        _constant[m] += (Int128)size;
                    }
                }

                foreach (var m in old)
                {
                    if (m >= 0 && !walked.Contains(m))
                    {
                        Touch(m);
                        _constant[m] -= (Int128)size;
                    }
                }
            }

            // The new piece: the joiner's list instead of the range's.
            Select(end, end, walked);
            var current = _lists.AsSpan(end * _kept, _kept);
            foreach (var m in walked)
            {
                if (m >= 0)
                {
                    Touch(m);
                    _slope[m]++;
                }
            }

            foreach (var m in current)
            {
                if (m >= 0)
                {
                    Touch(m);
                    _slope[m]--;
                }
            }
        }

        private void Touch(int member)
        {
            if (!_isTouched[member])
            {
                _isTouched[member] = true;
                _touched.Add(member);
            }
        }

        private void Clear()
        {
            foreach (var m in _touched)
            {
                _isTouched[m] = false;
                _constant[m] = 0;
                _slope[m] = 0;
            }

            _touched.Clear();
        }

        /// <summary>
        /// The preference list (local member indexes, -1 where the data center has too few members so far) of the walk from
        /// vnode <paramref name="start"/>, with a joiner vnode just before vnode <paramref name="insertBefore"/> (none when -1);
        /// returns how many vnodes past the start the walk went (the count of vnodes when it did not fill).
        /// </summary>
        /// <remarks>The rule of <see cref="PreferenceList"/> for one data center: a new rack is taken, a seen one while repeats are left.</remarks>
        private int Select(int start, int insertBefore, Span<int> destination)
        {
            destination.Fill(-1);
            var stamp = ++_stamp;
            var repeats = _rackRepeats;
            var taken = 0;
            var count = Vnodes.Count;
            var inserted = insertBefore < 0;
            for (var step = 0; step < count; step++)
            {
                var v = start + step >= count ? start + step - count : start + step;
                if (!inserted && v == insertBefore)
                {
                    inserted = true;
                    if (Visit(_joiner, stamp, ref repeats, ref taken, destination))
                    {
                        return step;
                    }
                }

                if (Visit(Vnodes[v].Owner, stamp, ref repeats, ref taken, destination))
                {
                    return step;
                }
            }

            return count;
        }

        /// <summary>One member met by <see cref="Select"/>'s walk; true when it filled the list.</summary>
        private bool Visit(int member, int stamp, ref int repeats, ref int taken, Span<int> destination)
        {
            if (_visited[member] == stamp)
            {
                return false;
            }

            _visited[member] = stamp;
            var rack = _racks[member];
            if (_rackSeen[rack] == stamp)
            {
                if (repeats == 0)
                {
                    return false;
                }

                repeats--;
            }
            else
            {
                _rackSeen[rack] = stamp;
            }

            destination[taken++] = member;
            return taken == _kept;
        }

        /// <summary>Inserts a joiner vnode about <paramref name="amount"/> tokens into the range ending at position <paramref name="end"/>; false when no token inside is free.</summary>
        private bool TryInsert(int end, UInt128 amount, out Token inserted)
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
                    inserted = default;
                    return false;
                }
            }

            var token = unchecked(start + offset);
            var at = Vnodes.BinarySearch((token, -1), TokenOrder.Instance);
            Vnodes.Insert(~at, (token, _joiner));
            inserted = new Token(token);
            return true;
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
