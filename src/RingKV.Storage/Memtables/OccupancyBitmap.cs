using System.Diagnostics;
using System.Numerics;
using System.Threading;

namespace RingKV.Storage.Memtables;

/// <summary>
/// One bit per memtable bucket, set once the bucket holds a node, with summary levels above it, so a reader finds the
/// next non-empty bucket by reading a few words instead of every bucket's head on the way.
/// </summary>
/// <remarks>
/// One writer (<see cref="Set"/>), any number of lock-free readers (<see cref="NextSet"/>). Level 0 has one bit per
/// bucket; each level above has one bit per word of the level below, set when that word becomes non-zero; the top level
/// is a single word. <see cref="NextSet"/> reads at most two words per level (four levels for 2^20 buckets).
/// Invariants: (1) bits are only ever set, never cleared (a memtable never removes an entry); (2) the writer sets a bit
/// before the bit above it, with release stores, so a reader that sees a summary bit (acquire) sees the word below it
/// non-zero.
/// A reader may miss a bucket whose bit is being set while it searches; the engine's readers never look for such a node:
/// a record is visible to a snapshot only once its insert has returned.
/// Rejected: reading each bucket's head in turn until a non-empty one, which costs a cache line per four buckets, so a
/// seek into an empty or sparse memtable (every memtable right after a flush) walked up to all of its buckets.
/// </remarks>
internal sealed class OccupancyBitmap
{
    private readonly ulong[][] _levels;

    /// <summary>Creates a bitmap of <paramref name="bits"/> clear bits. Requires: bits ≥ 1.</summary>
    public OccupancyBitmap(int bits)
    {
        Debug.Assert(bits >= 1);
        Bits = bits;
        var levels = new System.Collections.Generic.List<ulong[]>();
        var count = bits;
        while (true)
        {
            var words = (count + 63) >> 6;
            levels.Add(new ulong[words]);
            SizeBytes += words * sizeof(ulong);
            if (words == 1)
            {
                break;
            }

            count = words;
        }

        _levels = [.. levels];
    }

    /// <summary>The number of bits.</summary>
    public int Bits { get; }

    /// <summary>Bytes held by every level.</summary>
    public long SizeBytes { get; }

    /// <summary>Sets bit <paramref name="bit"/> (and the summary bits above it). Requires: the single writer; 0 ≤ bit &lt; <see cref="Bits"/>.</summary>
    public void Set(int bit)
    {
        Debug.Assert((uint)bit < (uint)Bits);
        foreach (var words in _levels)
        {
            var w = bit >> 6;
            var old = words[w];
            var mask = 1UL << (bit & 63);
            if ((old & mask) != 0)
            {
                return;
            }

            Volatile.Write(ref words[w], old | mask);
            if (old != 0)
            {
                return; // the bits above were set when this word first became non-zero
            }

            bit = w;
        }
    }

    /// <summary>The first set bit at or after <paramref name="from"/>, or -1; adds the words it read to <paramref name="wordsRead"/>.</summary>
    public int NextSet(int from, ref int wordsRead)
    {
        if ((uint)from >= (uint)Bits)
        {
            return -1;
        }

        // Climb while the rest of the current word is empty: the next candidate word is the next bit one level up.
        var level = 0;
        var index = from;
        while (true)
        {
            var words = _levels[level];
            var w = index >> 6;
            if (w >= words.Length)
            {
                return -1;
            }

            wordsRead++;
            var word = Volatile.Read(ref words[w]) & (ulong.MaxValue << (index & 63));
            if (word != 0)
            {
                index = (w << 6) + BitOperations.TrailingZeroCount(word);
                break;
            }

            if (level == _levels.Length - 1)
            {
                return -1;
            }

            level++;
            index = w + 1;
        }

        // Descend: every bit found above names a non-zero word below (invariant 2), all of whose bits lie after from.
        while (level > 0)
        {
            level--;
            wordsRead++;
            var word = Volatile.Read(ref _levels[level][index]);
            Debug.Assert(word != 0, "a summary bit over an empty word");
            index = (index << 6) + BitOperations.TrailingZeroCount(word);
        }

        return index < Bits ? index : -1;
    }
}
