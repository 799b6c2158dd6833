using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using RingKV.Core.Errors;
using RingKV.Core.Hashing;

namespace RingKV.Cluster.Ring;

/// <summary>The ring: every vnode's token and owner, sorted by token, with each member's placement facts.</summary>
/// <remarks>
/// <para>
/// Immutable, so it may be shared between threads; <see cref="With"/> and <see cref="Without"/> return new rings. A vnode at
/// token t owns the ring range (previous token, t]: a token belongs to the first vnode clockwise at or after it, wrapping past
/// the top of the 64-bit space. The ring holds only members that own vnodes; a joining node enters with its tokens.
/// </para>
/// <para>
/// Invariants: (1) tokens strictly increase; (2) every member owns at least one vnode; (3) members are sorted by
/// <see cref="NodeId"/>, and a member index (owner arrays, preference list scratch, health flags) is a position in that order,
/// valid for this ring only; (4) data centers are sorted ordinally and indexed the same way.
/// </para>
/// <para>
/// Named TokenRing rather than Ring: a type named like its namespace would make <c>Ring</c> bind to the namespace in every
/// other RingKV.Cluster namespace.
/// </para>
/// </remarks>
internal sealed class TokenRing
{
    /// <summary>The size of the token space, 2^64, as a UInt128.</summary>
    public static readonly UInt128 TokenSpace = (UInt128)1 << 64;

    private readonly RingMember[] _members;
    private readonly Token[][] _memberTokens;
    private readonly ulong[] _tokens;
    private readonly int[] _owners;
    private readonly UInt128[] _owned;
    private readonly UInt128[] _ownedInDataCenter;
    private readonly string[] _dataCenters;
    private readonly int[] _memberDataCenter;
    private readonly int[] _memberRack;
    private readonly int[] _dataCenterNodes;
    private readonly int[] _dataCenterRacks;

    private TokenRing(RingMember[] members, Token[][] memberTokens)
    {
        _members = members;
        _memberTokens = memberTokens;

        var count = 0;
        foreach (var tokens in memberTokens)
        {
            count += tokens.Length;
        }

        _tokens = new ulong[count];
        _owners = new int[count];
        var at = 0;
        for (var m = 0; m < memberTokens.Length; m++)
        {
            foreach (var token in memberTokens[m])
            {
                _tokens[at] = token.Value;
                _owners[at] = m;
                at++;
            }
        }

        Array.Sort(_tokens, _owners);
        for (var i = 1; i < _tokens.Length; i++)
        {
            if (_tokens[i] == _tokens[i - 1])
            {
                var (a, b) = (_members[_owners[i - 1]].Id, _members[_owners[i]].Id);
                ThrowHelper.InvalidArgument(a == b
                    ? $"node {a} lists token {new Token(_tokens[i])} twice"
                    : $"token {new Token(_tokens[i])} is claimed by both {(a < b ? a : b)} and {(a < b ? b : a)}");
            }
        }

        (_dataCenters, _memberDataCenter, _memberRack, _dataCenterNodes, _dataCenterRacks) = IndexPlacement(members);
        RackCount = 0;
        foreach (var racks in _dataCenterRacks)
        {
            RackCount += racks;
        }

        _owned = new UInt128[members.Length];
        for (var i = 0; i < _tokens.Length; i++)
        {
            _owned[_owners[i]] += RangeSize(_tokens[i == 0 ? _tokens.Length - 1 : i - 1], _tokens[i]);
        }

        _ownedInDataCenter = OwnershipWithinDataCenters();
    }

    /// <summary>The ring with no members.</summary>
    public static TokenRing Empty { get; } = new([], []);

    /// <summary>True when no member owns a vnode.</summary>
    public bool IsEmpty => _tokens.Length == 0;

    /// <summary>The members, sorted by id; a position here is the member's index.</summary>
    public IReadOnlyList<RingMember> Members => _members;

    /// <summary>The number of members.</summary>
    public int MemberCount => _members.Length;

    /// <summary>The number of vnodes.</summary>
    public int VnodeCount => _tokens.Length;

    /// <summary>The data centers of the members, sorted ordinally; a position here is the data center's index.</summary>
    public IReadOnlyList<string> DataCenters => _dataCenters;

    /// <summary>The number of distinct (data center, rack) pairs; rack indexes run below it.</summary>
    public int RackCount { get; }

    /// <summary>Builds a ring from each member's tokens; throws <see cref="RingKVException"/> (InvalidArgument) on a repeated member, a member without tokens or a token claimed twice.</summary>
    public static TokenRing Create(IEnumerable<(RingMember Member, IReadOnlyList<Token> Tokens)> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        var list = new List<(RingMember Member, IReadOnlyList<Token> Tokens)>(members);
        list.Sort(static (a, b) => a.Member.Id.CompareTo(b.Member.Id));
        var sorted = new RingMember[list.Count];
        var tokens = new Token[list.Count][];
        for (var i = 0; i < list.Count; i++)
        {
            var (member, memberTokens) = list[i];
            ArgumentNullException.ThrowIfNull(member);
            ArgumentNullException.ThrowIfNull(memberTokens);
            if (i > 0 && sorted[i - 1].Id == member.Id)
            {
                ThrowHelper.InvalidArgument($"node {member.Id} appears twice in the ring");
            }

            sorted[i] = member;
            tokens[i] = SortedTokens(member, memberTokens);
        }

        return new TokenRing(sorted, tokens);
    }

    /// <summary>This ring with <paramref name="member"/> owning exactly <paramref name="tokens"/> (added, or replacing its placement and tokens).</summary>
    /// <remarks>Throws <see cref="RingKVException"/> (InvalidArgument) when a token is empty, repeated or owned by another member.</remarks>
    public TokenRing With(RingMember member, IReadOnlyList<Token> tokens)
    {
        ArgumentNullException.ThrowIfNull(member);
        ArgumentNullException.ThrowIfNull(tokens);
        var sortedTokens = SortedTokens(member, tokens);
        var index = IndexOf(member.Id);
        RingMember[] members;
        Token[][] memberTokens;
        if (index >= 0)
        {
            members = (RingMember[])_members.Clone();
            memberTokens = (Token[][])_memberTokens.Clone();
            members[index] = member;
            memberTokens[index] = sortedTokens;
        }
        else
        {
            var insert = ~index;
            members = new RingMember[_members.Length + 1];
            memberTokens = new Token[_members.Length + 1][];
            Array.Copy(_members, members, insert);
            Array.Copy(_memberTokens, memberTokens, insert);
            members[insert] = member;
            memberTokens[insert] = sortedTokens;
            Array.Copy(_members, insert, members, insert + 1, _members.Length - insert);
            Array.Copy(_memberTokens, insert, memberTokens, insert + 1, _members.Length - insert);
        }

        return new TokenRing(members, memberTokens);
    }

    /// <summary>This ring without <paramref name="node"/>; its ranges fall to the next vnodes clockwise. The same ring when it is no member.</summary>
    public TokenRing Without(NodeId node)
    {
        var index = IndexOf(node);
        if (index < 0)
        {
            return this;
        }

        var members = new RingMember[_members.Length - 1];
        var memberTokens = new Token[_members.Length - 1][];
        Array.Copy(_members, members, index);
        Array.Copy(_memberTokens, memberTokens, index);
        Array.Copy(_members, index + 1, members, index, members.Length - index);
        Array.Copy(_memberTokens, index + 1, memberTokens, index, members.Length - index);
        return new TokenRing(members, memberTokens);
    }

    /// <summary>The index of <paramref name="node"/> among <see cref="Members"/>, or the bitwise complement of where it would go.</summary>
    public int IndexOf(NodeId node)
    {
        int lo = 0, hi = _members.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var c = _members[mid].Id.CompareTo(node);
            if (c == 0)
            {
                return mid;
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

        return ~lo;
    }

    /// <summary>True when <paramref name="node"/> owns vnodes here.</summary>
    public bool Contains(NodeId node) => IndexOf(node) >= 0;

    /// <summary>The member <paramref name="node"/>, or false when it owns no vnode here.</summary>
    public bool TryGetMember(NodeId node, [NotNullWhen(true)] out RingMember? member)
    {
        var index = IndexOf(node);
        member = index >= 0 ? _members[index] : null;
        return member is not null;
    }

    /// <summary>The member at <paramref name="index"/>.</summary>
    public RingMember MemberAt(int index) => _members[index];

    /// <summary>The token of vnode <paramref name="vnode"/> (vnodes are numbered in token order).</summary>
    public Token TokenAt(int vnode) => new(_tokens[vnode]);

    /// <summary>The member index owning vnode <paramref name="vnode"/>.</summary>
    public int OwnerIndexAt(int vnode) => _owners[vnode];

    /// <summary>The vnode owning <paramref name="token"/>: the first at or after it, wrapping to vnode 0 past the last. Requires: a non-empty ring.</summary>
    public int VnodeIndexOf(Token token)
    {
        if (_tokens.Length == 0)
        {
            ThrowEmpty();
        }

        var at = Array.BinarySearch(_tokens, token.Value);
        if (at >= 0)
        {
            return at;
        }

        at = ~at;
        return at == _tokens.Length ? 0 : at;
    }

    /// <summary>The node owning <paramref name="token"/> (its first replica when its data center holds replicas). Requires: a non-empty ring.</summary>
    public NodeId OwnerOf(Token token) => _members[_owners[VnodeIndexOf(token)]].Id;

    /// <summary>True when some vnode sits exactly at <paramref name="token"/>.</summary>
    public bool IsTokenTaken(Token token) => Array.BinarySearch(_tokens, token.Value) >= 0;

    /// <summary>The tokens of <paramref name="node"/>, ascending; empty when it is no member.</summary>
    public IReadOnlyList<Token> TokensOf(NodeId node)
    {
        var index = IndexOf(node);
        return index >= 0 ? _memberTokens[index] : [];
    }

    /// <summary>How many tokens of the 2^64 <paramref name="node"/> owns as the first vnode clockwise (its primary ranges).</summary>
    public UInt128 OwnedTokens(NodeId node)
    {
        var index = IndexOf(node);
        return index >= 0 ? _owned[index] : UInt128.Zero;
    }

    /// <summary>The share of the token space in <paramref name="node"/>'s primary ranges, 0 to 1.</summary>
    public double OwnershipOf(NodeId node) => Fraction(OwnedTokens(node));

    /// <summary>
    /// The share of the token space for which <paramref name="node"/> is the first node of its data center clockwise,
    /// 0 to 1; the shares of a data center's members sum to 1.
    /// </summary>
    /// <remarks>
    /// This is the ownership replication per data center sees: a data center's replicas of a token are found by walking
    /// its own members' vnodes, so the gaps between those vnodes, not the whole ring's, decide its members' loads. With one
    /// data center it equals <see cref="OwnershipOf"/>.
    /// </remarks>
    public double DataCenterOwnershipOf(NodeId node)
    {
        var index = IndexOf(node);
        return index >= 0 ? Fraction(_ownedInDataCenter[index]) : 0;
    }

    /// <summary>The token ranges <paramref name="node"/> owns as the first vnode clockwise, as closed ranges sorted by first token, adjacent ones merged.</summary>
    public IReadOnlyList<TokenRange> PrimaryRangesOf(NodeId node)
    {
        var index = IndexOf(node);
        if (index < 0)
        {
            return [];
        }

        var ranges = new List<TokenRange>();
        for (var i = 0; i < _tokens.Length; i++)
        {
            if (_owners[i] == index)
            {
                AddRingRange(ranges, PreviousToken(i), new Token(_tokens[i]));
            }
        }

        return SortAndMerge(ranges);
    }

    /// <summary>The data center index of member <paramref name="member"/>.</summary>
    public int DataCenterIndexOf(int member) => _memberDataCenter[member];

    /// <summary>The index of data center <paramref name="dataCenter"/>, or a negative number when no member is in it.</summary>
    public int DataCenterIndexOf(string dataCenter) => Array.BinarySearch(_dataCenters, dataCenter, StringComparer.Ordinal);

    /// <summary>The rack index (over all data centers' racks) of member <paramref name="member"/>.</summary>
    public int RackIndexOf(int member) => _memberRack[member];

    /// <summary>The number of members in data center <paramref name="dataCenter"/> (an index).</summary>
    public int NodesIn(int dataCenter) => _dataCenterNodes[dataCenter];

    /// <summary>The number of distinct racks in data center <paramref name="dataCenter"/> (an index).</summary>
    public int RacksIn(int dataCenter) => _dataCenterRacks[dataCenter];

    /// <summary>The token before vnode <paramref name="vnode"/>'s: the exclusive start of its range (its own token in a one-vnode ring).</summary>
    public Token PreviousToken(int vnode) => new(_tokens[vnode == 0 ? _tokens.Length - 1 : vnode - 1]);

    /// <summary>Walks the distinct members clockwise from the vnode owning <paramref name="token"/>; see <see cref="RingWalk"/>.</summary>
    /// <remarks>Requires: <paramref name="visited"/> has <see cref="MemberCount"/> entries; the walk clears and uses it.</remarks>
    public RingWalk Walk(Token token, Span<bool> visited) => new(this, IsEmpty ? 0 : VnodeIndexOf(token), visited);

    /// <summary>The tokens in (start, end] of the ring: end - start, or the whole space when they are equal.</summary>
    public static UInt128 RangeSize(ulong start, ulong end) => start == end ? TokenSpace : unchecked(end - start);

    /// <summary>A count of tokens as a share of the 2^64 space.</summary>
    public static double Fraction(UInt128 tokens) => (double)tokens / 18446744073709551616.0;

    /// <summary>Adds the closed ranges of ring range (start, end] (one, or two when it wraps) to <paramref name="ranges"/>.</summary>
    internal static void AddRingRange(List<TokenRange> ranges, Token start, Token end)
    {
        var (first, second) = TokenRange.FromRing(start, end);
        ranges.Add(first);
        if (second is { } more)
        {
            ranges.Add(more);
        }
    }

    /// <summary>Sorts closed ranges by first token and merges those that touch.</summary>
    internal static List<TokenRange> SortAndMerge(List<TokenRange> ranges)
    {
        ranges.Sort(static (a, b) => a.First.CompareTo(b.First));
        var merged = new List<TokenRange>(ranges.Count);
        foreach (var range in ranges)
        {
            if (merged.Count > 0 && merged[^1].Last.Value != ulong.MaxValue && merged[^1].Last.Value + 1 >= range.First.Value)
            {
                var last = merged[^1];
                merged[^1] = new TokenRange(last.First, range.Last > last.Last ? range.Last : last.Last);
            }
            else
            {
                merged.Add(range);
            }
        }

        return merged;
    }

    private static Token[] SortedTokens(RingMember member, IReadOnlyList<Token> tokens)
    {
        if (tokens.Count == 0)
        {
            ThrowHelper.InvalidArgument($"node {member.Id} has no tokens: a ring member owns at least one vnode");
        }

        var sorted = new Token[tokens.Count];
        for (var i = 0; i < sorted.Length; i++)
        {
            sorted[i] = tokens[i];
        }

        Array.Sort(sorted);
        return sorted;
    }

    private static (string[] DataCenters, int[] MemberDataCenter, int[] MemberRack, int[] DataCenterNodes, int[] DataCenterRacks) IndexPlacement(RingMember[] members)
    {
        // (data center, rack) pairs sorted ordinally give both indexes without iterating a hash container.
        var pairs = new (string DataCenter, string Rack, int Member)[members.Length];
        for (var m = 0; m < members.Length; m++)
        {
            pairs[m] = (members[m].DataCenter, members[m].Rack, m);
        }

        Array.Sort(pairs, static (a, b) =>
        {
            var c = string.CompareOrdinal(a.DataCenter, b.DataCenter);
            return c != 0 ? c : string.CompareOrdinal(a.Rack, b.Rack);
        });

        var dataCenters = new List<string>();
        var dataCenterNodes = new List<int>();
        var dataCenterRacks = new List<int>();
        var memberDataCenter = new int[members.Length];
        var memberRack = new int[members.Length];
        var rack = -1;
        for (var i = 0; i < pairs.Length; i++)
        {
            var (dataCenter, rackName, member) = pairs[i];
            var newDataCenter = i == 0 || !string.Equals(pairs[i - 1].DataCenter, dataCenter, StringComparison.Ordinal);
            if (newDataCenter)
            {
                dataCenters.Add(dataCenter);
                dataCenterNodes.Add(0);
                dataCenterRacks.Add(0);
            }

            if (newDataCenter || !string.Equals(pairs[i - 1].Rack, rackName, StringComparison.Ordinal))
            {
                rack++;
                dataCenterRacks[^1]++;
            }

            dataCenterNodes[^1]++;
            memberDataCenter[member] = dataCenters.Count - 1;
            memberRack[member] = rack;
        }

        return ([.. dataCenters], memberDataCenter, memberRack, [.. dataCenterNodes], [.. dataCenterRacks]);
    }

    private UInt128[] OwnershipWithinDataCenters()
    {
        // Each vnode's range within its data center runs back to the previous vnode of the same data center.
        var owned = new UInt128[_members.Length];
        var last = new int[_dataCenters.Length];
        Array.Fill(last, -1);
        for (var i = 0; i < _tokens.Length; i++)
        {
            last[_memberDataCenter[_owners[i]]] = i;
        }

        for (var i = 0; i < _tokens.Length; i++)
        {
            var dataCenter = _memberDataCenter[_owners[i]];
            owned[_owners[i]] += RangeSize(_tokens[last[dataCenter]], _tokens[i]);
            last[dataCenter] = i;
        }

        return owned;
    }

    [DoesNotReturn]
    private static void ThrowEmpty() => throw new InvalidOperationException("the ring is empty: it has no vnode to own a token");

    /// <inheritdoc/>
    public override string ToString() => $"ring of {_members.Length} members, {_tokens.Length} vnodes, {_dataCenters.Length} data centers";
}
