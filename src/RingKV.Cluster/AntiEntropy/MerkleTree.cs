using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO.Hashing;

namespace RingKV.Cluster.AntiEntropy;

/// <summary>A hash tree over the records of one token range [First, Last]: 2^Depth leaves, each an equal slice of the range.</summary>
/// <remarks>
/// Pure value once built (not thread-safe while <see cref="Add"/> runs; read-only after <see cref="Seal"/>).
/// Layout: the nodes of level L (0 = the root, Depth = the leaves) are 2^L hashes, stored breadth first (node i of level
/// L at index 2^L - 1 + i). A leaf is the sum, mod 2^64, of the <see cref="EntryHash"/> of each record whose token falls
/// in its slice: a sum is order-independent, so the same records in any scan order give the same leaf, and a leaf can
/// be built one record at a time while a scan pages, keeping nothing but the tree. An empty leaf is 0. An inner node is
/// XxHash64 of its two children (16 bytes, little-endian), so a difference anywhere shows at the root and at exactly the
/// ancestors of the leaf it is in.
/// Invariants: (1) two trees of one (First, Last, Depth) over the same records have equal nodes everywhere; (2) a record
/// changed, added or removed changes its leaf (up to a 2^-64 chance) and every ancestor of it, no other node.
/// Cost: 2^(Depth+1) hashes of memory (8 bytes each), one hash per record and one per inner node to build.
/// </remarks>
internal sealed class MerkleTree
{
    /// <summary>The deepest tree a peer may ask for (2^20 leaves, 16 MiB): a bound on what a hostile depth could allocate.</summary>
    public const int MaxDepth = 20;

    private readonly ulong[] _nodes;
    private readonly UInt128 _width;
    private bool _sealed;

    /// <summary>An empty tree (every leaf 0) over [<paramref name="first"/>, <paramref name="last"/>]; <see cref="Add"/> records, then <see cref="Seal"/>.</summary>
    /// <remarks>Requires: first &lt;= last (the caller splits a wrapping range), 0 &lt;= depth &lt;= <see cref="MaxDepth"/>.</remarks>
    public MerkleTree(ulong first, ulong last, int depth)
    {
        if (first > last)
        {
            throw new ArgumentException($"token range [{first}, {last}] wraps or is empty: split it first", nameof(first));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(depth);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(depth, MaxDepth);
        First = first;
        Last = last;
        Depth = depth;
        _width = (UInt128)(last - first) + 1;
        _nodes = new ulong[(1 << (depth + 1)) - 1];
    }

    /// <summary>The first token of the range (inclusive).</summary>
    public ulong First { get; }

    /// <summary>The last token of the range (inclusive).</summary>
    public ulong Last { get; }

    /// <summary>Levels below the root: the leaves are level <see cref="Depth"/>, 2^Depth of them.</summary>
    public int Depth { get; }

    /// <summary>Leaves of the tree.</summary>
    public int LeafCount => 1 << Depth;

    /// <summary>Records added.</summary>
    public long Count { get; private set; }

    /// <summary>The root's hash: equal for two trees of one shape exactly when (up to hash collisions) they hold the same records.</summary>
    public ulong Root => Sealed()[0];

    /// <summary>Builds and seals a tree over <paramref name="entries"/> (each a record's token and <see cref="EntryHash"/>), in any order.</summary>
    public static MerkleTree Build(ulong first, ulong last, int depth, IEnumerable<(ulong Token, ulong Hash)> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var tree = new MerkleTree(first, last, depth);
        foreach (var (token, hash) in entries)
        {
            tree.Add(token, hash);
        }

        tree.Seal();
        return tree;
    }

    /// <summary>
    /// The hash of one record: its key, its stored bytes (the encoded sibling set, tombstones included) and its expiry, so
    /// replicas agree on a record only when they store exactly the same thing for the key.
    /// </summary>
    public static ulong EntryHash(ReadOnlySpan<byte> key, ReadOnlySpan<byte> record, long expiresAtUnixMs)
    {
        // Two non-allocating one-shot hashes: the key's (with a seed of its own, so it is not the token) and the expiry
        // seed the record's hash. Rejected: one incremental XxHash64 per entry, an allocation per record scanned.
        var seed = XxHash64.HashToUInt64(key, KeySeed) ^ unchecked((ulong)expiresAtUnixMs * 0x9E3779B97F4A7C15UL);
        return XxHash64.HashToUInt64(record, unchecked((long)seed));
    }

    /// <summary>The depth a range of about <paramref name="keys"/> records gets: about <paramref name="keysPerLeaf"/> records per leaf, at most <paramref name="maxDepth"/>.</summary>
    public static int DepthFor(long keys, int keysPerLeaf = 4, int maxDepth = 16)
    {
        var depth = 0;
        while (depth < maxDepth && ((long)keysPerLeaf << depth) < keys)
        {
            depth++;
        }

        return depth;
    }

    /// <summary>Adds one record (its token and <see cref="EntryHash"/>) to its leaf. Requires: not sealed, token in the range.</summary>
    public void Add(ulong token, ulong entryHash)
    {
        Debug.Assert(!_sealed, "a sealed tree is read-only");
        if (token < First || token > Last)
        {
            throw new ArgumentOutOfRangeException(nameof(token), $"token {token} is outside [{First}, {Last}]");
        }

        _nodes[LeafCount - 1 + LeafOf(token)] += entryHash;
        Count++;
    }

    /// <summary>Computes the inner nodes from the leaves; the tree is read-only afterwards.</summary>
    public void Seal()
    {
        if (_sealed)
        {
            return;
        }

        Span<byte> pair = stackalloc byte[16];
        for (var level = Depth - 1; level >= 0; level--)
        {
            var start = (1 << level) - 1;
            var childStart = (1 << (level + 1)) - 1;
            for (var i = 0; i < 1 << level; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(pair, _nodes[childStart + (2 * i)]);
                BinaryPrimitives.WriteUInt64LittleEndian(pair[8..], _nodes[childStart + (2 * i) + 1]);
                _nodes[start + i] = XxHash64.HashToUInt64(pair);
            }
        }

        _sealed = true;
    }

    /// <summary>The leaf whose slice holds <paramref name="token"/>. Requires: token in the range.</summary>
    public int LeafOf(ulong token) => (int)(((UInt128)(token - First) << Depth) / _width);

    /// <summary>The tokens of leaf <paramref name="leaf"/>'s slice, [first, last]; false when the slice is empty (a range narrower than its leaves).</summary>
    public bool TryGetLeafRange(int leaf, out ulong first, out ulong last)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(leaf);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(leaf, LeafCount);
        // Token t is in leaf i when floor((t - First) * 2^D / width) == i, i.e. t - First in [ceil(i w / 2^D), ceil((i+1) w / 2^D) - 1].
        var start = CeilDiv((UInt128)leaf * _width, Depth);
        var end = CeilDiv((UInt128)(leaf + 1) * _width, Depth);
        first = First + (ulong)start;
        last = end == 0 ? 0 : First + (ulong)(end - 1);
        return end > start;
    }

    /// <summary>The hash of node <paramref name="index"/> of level <paramref name="level"/>.</summary>
    public ulong Hash(int level, int index)
    {
        CheckNode(level, index);
        return Sealed()[(1 << level) - 1 + index];
    }

    /// <summary>The hashes of nodes <paramref name="indexes"/> of level <paramref name="level"/>, in that order.</summary>
    public ulong[] Hashes(int level, IReadOnlyList<int> indexes)
    {
        ArgumentNullException.ThrowIfNull(indexes);
        var hashes = new ulong[indexes.Count];
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i] = Hash(level, indexes[i]);
        }

        return hashes;
    }

    /// <summary>
    /// For each of <paramref name="nodes"/> (of <paramref name="level"/>), the hashes of its 2^<paramref name="levelsDown"/>
    /// descendants at level + levelsDown, left to right; node after node.
    /// </summary>
    public ulong[] DescendantHashes(int level, IReadOnlyList<int> nodes, int levelsDown)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        CheckDescent(level, levelsDown);
        var per = 1 << levelsDown;
        var hashes = new ulong[nodes.Count * per];
        for (var n = 0; n < nodes.Count; n++)
        {
            CheckNode(level, nodes[n]);
            for (var d = 0; d < per; d++)
            {
                hashes[(n * per) + d] = Hash(level + levelsDown, (nodes[n] << levelsDown) + d);
            }
        }

        return hashes;
    }

    /// <summary>
    /// The descent step: given <paramref name="nodes"/> of <paramref name="level"/> that differ from a peer's tree of the
    /// same shape, and the peer's <see cref="DescendantHashes"/> of them <paramref name="levelsDown"/> levels down, the
    /// nodes at level + levelsDown where this tree and the peer's differ, in ascending order.
    /// </summary>
    /// <remarks>Requires: <paramref name="peerHashes"/> holds nodes.Count × 2^levelsDown hashes (false otherwise: a malformed answer).</remarks>
    public bool TryDescend(int level, IReadOnlyList<int> nodes, int levelsDown, ReadOnlySpan<ulong> peerHashes, out List<int> differing)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        CheckDescent(level, levelsDown);
        differing = [];
        var per = 1 << levelsDown;
        if (peerHashes.Length != nodes.Count * per)
        {
            return false;
        }

        for (var n = 0; n < nodes.Count; n++)
        {
            CheckNode(level, nodes[n]);
            for (var d = 0; d < per; d++)
            {
                var child = (nodes[n] << levelsDown) + d;
                if (Hash(level + levelsDown, child) != peerHashes[(n * per) + d])
                {
                    differing.Add(child);
                }
            }
        }

        differing.Sort();
        return true;
    }

    /// <summary>The leaves where <paramref name="a"/> and <paramref name="b"/> differ, ascending; it descends only into differing subtrees.</summary>
    /// <remarks>Requires: both trees have one shape (range and depth).</remarks>
    public static List<int> Diff(MerkleTree a, MerkleTree b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.First != b.First || a.Last != b.Last || a.Depth != b.Depth)
        {
            throw new ArgumentException($"trees of different shapes: [{a.First}, {a.Last}] depth {a.Depth} and [{b.First}, {b.Last}] depth {b.Depth}", nameof(b));
        }

        var leaves = new List<int>();
        var level = new List<int>();
        if (a.Root != b.Root)
        {
            level.Add(0);
        }

        for (var depth = 0; depth < a.Depth && level.Count > 0; depth++)
        {
            var next = new List<int>(level.Count * 2);
            foreach (var node in level)
            {
                for (var child = node * 2; child <= (node * 2) + 1; child++)
                {
                    if (a.Hash(depth + 1, child) != b.Hash(depth + 1, child))
                    {
                        next.Add(child);
                    }
                }
            }

            level = next;
        }

        leaves.AddRange(level);
        return leaves;
    }

    private const long KeySeed = 0x52_49_4E_47_4B_56; // "RINGKV"

    private ulong[] Sealed()
    {
        if (!_sealed)
        {
            throw new InvalidOperationException("the tree is not sealed: call Seal after the last Add");
        }

        return _nodes;
    }

    private static UInt128 CeilDiv(UInt128 value, int shift) => (value + ((UInt128)1 << shift) - 1) >> shift;

    private void CheckNode(int level, int index)
    {
        if ((uint)level > (uint)Depth || (uint)index >= (uint)(1 << level))
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"no node {index} at level {level} of a tree of depth {Depth}");
        }
    }

    private void CheckDescent(int level, int levelsDown)
    {
        if (level < 0 || levelsDown < 1 || level + levelsDown > Depth)
        {
            throw new ArgumentOutOfRangeException(nameof(levelsDown), $"cannot descend {levelsDown} levels from level {level} of a tree of depth {Depth}");
        }
    }
}
