using System;
using System.Collections.Generic;
using System.Linq;
using CsCheck;
using RingKV.Cluster.AntiEntropy;
using Xunit;

namespace RingKV.Cluster.Tests.AntiEntropy;

public sealed class MerkleTreeTests
{
    private static readonly Gen<(ulong First, ulong Last)> GenRange = Gen.OneOf(
        Gen.Select(Gen.ULong, Gen.ULong).Select(t => t.Item1 <= t.Item2 ? (t.Item1, t.Item2) : (t.Item2, t.Item1)),
        Gen.Const((0UL, ulong.MaxValue)),
        Gen.ULong[0, 1000].Select(f => (f, f + 7)));

    /// <summary>A range, a depth, and distinct records in it: (token, entry hash) with distinct tokens.</summary>
    private static readonly Gen<Case> GenCase =
        Gen.Select(GenRange, Gen.Int[0, 10], Gen.ULong.Array[0, 60], Gen.ULong.Array[60])
            .Select(t =>
            {
                var (first, last) = t.Item1;
                var width = (UInt128)(last - first) + 1;
                var tokens = t.Item3.Select(u => first + (ulong)((UInt128)u % width)).Distinct().ToArray();
                var entries = tokens.Select((token, i) => (token, t.Item4[i] | 1)).ToArray(); // no record hashes to 0 (removing it would change nothing)
                return new Case(first, last, t.Item2, entries);
            });

    [Fact]
    public void Build_SameEntriesInAnyOrder_EqualRootsAndNodes() =>
        Gen.Select(GenCase, Gen.Int).Sample(t =>
        {
            var (c, shuffleSeed) = t;
            var shuffled = c.Entries.OrderBy(e => HashCode.Combine(e.Token, shuffleSeed)).ToArray();
            var a = MerkleTree.Build(c.First, c.Last, c.Depth, c.Entries);
            var b = MerkleTree.Build(c.First, c.Last, c.Depth, shuffled);
            Assert.Equal(a.Root, b.Root);
            Assert.Empty(MerkleTree.Diff(a, b));
            for (var level = 0; level <= c.Depth; level++)
            {
                var all = Enumerable.Range(0, 1 << level).ToList();
                Assert.Equal(a.Hashes(level, all), b.Hashes(level, all));
            }
        });

    [Fact]
    public void Build_OneEntryChanged_ExactlyItsLeafAndItsAncestorsDiffer() =>
        Gen.Select(GenCase, Gen.Int[0, 59], Gen.ULong, Gen.Int[0, 2]).Sample(t =>
        {
            var (c, pick, newHash, how) = t;
            if (c.Entries.Length == 0)
            {
                return;
            }

            var changed = c.Entries.ToList();
            var at = pick % changed.Count;
            var token = changed[at].Token;
            switch (how)
            {
                case 0 when newHash != changed[at].Hash:
                    changed[at] = (token, newHash); // the record changed
                    break;
                default:
                    changed.RemoveAt(at); // the record is missing on one side
                    break;
            }

            var a = MerkleTree.Build(c.First, c.Last, c.Depth, c.Entries);
            var b = MerkleTree.Build(c.First, c.Last, c.Depth, changed);
            var leaf = a.LeafOf(token);
            for (var level = c.Depth; level >= 0; level--)
            {
                var ancestor = leaf >> (c.Depth - level);
                for (var i = 0; i < 1 << level; i++)
                {
                    Assert.Equal(i == ancestor, a.Hash(level, i) != b.Hash(level, i));
                }
            }

            Assert.Equal([leaf], MerkleTree.Diff(a, b));
        });

    [Fact]
    public void Diff_SeveralEntriesChanged_FindsExactlyTheirLeaves_AndTheDescentAgrees() =>
        Gen.Select(GenCase, Gen.Int[0, 59].Array[0, 8], Gen.ULong, Gen.Int[1, 4]).Sample(t =>
        {
            var (c, picks, salt, levelsDown) = t;
            var changed = c.Entries.ToArray();
            var touched = new SortedSet<int>();
            var a = MerkleTree.Build(c.First, c.Last, c.Depth, c.Entries);
            foreach (var pick in picks.Where(_ => changed.Length > 0))
            {
                var at = pick % changed.Length;
                changed[at] = (changed[at].Token, changed[at].Hash ^ (salt | 1));
            }

            var b = MerkleTree.Build(c.First, c.Last, c.Depth, changed);
            for (var i = 0; i < changed.Length; i++)
            {
                if (changed[i].Hash != c.Entries[i].Hash)
                {
                    touched.Add(a.LeafOf(changed[i].Token));
                }
            }

            // Two changes in one leaf can cancel in its sum only if they sum to 0 mod 2^64: the leaf's hashes then agree.
            var expected = touched.Where(l => a.Hash(c.Depth, l) != b.Hash(c.Depth, l)).ToList();
            Assert.Equal(expected, MerkleTree.Diff(a, b));
            Assert.Equal(expected, Descend(a, b, levelsDown));
        });

    [Fact]
    public void LeafRanges_CoverTheRangeInOrder_AndLeafOfAgrees() =>
        Gen.Select(GenRange, Gen.Int[0, 12]).Sample(t =>
        {
            var ((first, last), depth) = t;
            var tree = new MerkleTree(first, last, depth);
            UInt128 covered = 0;
            ulong? expectedFirst = first;
            for (var leaf = 0; leaf < tree.LeafCount; leaf++)
            {
                if (!tree.TryGetLeafRange(leaf, out var lo, out var hi))
                {
                    continue;
                }

                Assert.Equal(expectedFirst, lo);
                Assert.True(lo <= hi);
                Assert.Equal(leaf, tree.LeafOf(lo));
                Assert.Equal(leaf, tree.LeafOf(hi));
                covered += (UInt128)(hi - lo) + 1;
                expectedFirst = hi == ulong.MaxValue ? null : hi + 1;
            }

            Assert.Equal((UInt128)(last - first) + 1, covered);
        });

    [Fact]
    public void EntryHash_KeyRecordOrExpiryDiffers_HashDiffers()
    {
        var hash = MerkleTree.EntryHash("k"u8, "record"u8, 0);
        Assert.Equal(hash, MerkleTree.EntryHash("k"u8, "record"u8, 0));
        Assert.NotEqual(hash, MerkleTree.EntryHash("j"u8, "record"u8, 0));
        Assert.NotEqual(hash, MerkleTree.EntryHash("k"u8, "recore"u8, 0));
        Assert.NotEqual(hash, MerkleTree.EntryHash("k"u8, "record"u8, 1));
    }

    [Fact]
    public void DepthFor_KeysPerLeaf_CappedAtMax()
    {
        Assert.Equal(0, MerkleTree.DepthFor(0));
        Assert.Equal(0, MerkleTree.DepthFor(4));
        Assert.Equal(1, MerkleTree.DepthFor(5));
        Assert.Equal(15, MerkleTree.DepthFor(100_000));
        Assert.Equal(16, MerkleTree.DepthFor(long.MaxValue / 2));
    }

    [Fact]
    public void Constructor_WrappingRangeOrDepthOutOfBounds_Refused()
    {
        Assert.Throws<ArgumentException>(() => new MerkleTree(10, 9, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MerkleTree(0, 9, MerkleTree.MaxDepth + 1));
        var tree = new MerkleTree(0, 9, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.Add(10, 1));
        Assert.Throws<InvalidOperationException>(() => tree.Root);
    }

    /// <summary>The protocol's descent: from the root, <paramref name="levelsDown"/> levels a step, b's hashes as a peer's answers.</summary>
    private static List<int> Descend(MerkleTree a, MerkleTree b, int levelsDown)
    {
        if (a.Root == b.Root)
        {
            return [];
        }

        var level = 0;
        List<int> nodes = [0];
        while (level < a.Depth && nodes.Count > 0)
        {
            var k = Math.Min(levelsDown, a.Depth - level);
            Assert.True(a.TryDescend(level, nodes, k, b.DescendantHashes(level, nodes, k), out var next));
            Assert.False(a.TryDescend(level, nodes, k, new ulong[1 + (nodes.Count << k)], out _));
            nodes = next;
            level += k;
        }

        return nodes;
    }

    private sealed record Case(ulong First, ulong Last, int Depth, (ulong Token, ulong Hash)[] Entries)
    {
        public override string ToString() => $"[{First}, {Last}] depth {Depth}, {Entries.Length} entries";
    }
}
