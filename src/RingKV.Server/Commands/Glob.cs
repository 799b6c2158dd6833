using System;
using System.Collections.Generic;
using System.Diagnostics;

namespace RingKV.Server.Commands;

/// <summary>
/// A compiled Redis glob pattern (SCAN MATCH, CONFIG GET): <c>*</c>, <c>?</c>, <c>[abc]</c>, <c>[^a]</c>, <c>[a-z]</c>,
/// <c>\x</c>, with the semantics of Redis's <c>stringmatchlen</c> (util.c) byte for byte.
/// </summary>
/// <remarks>
/// Immutable and thread-safe once compiled. Compiling splits the pattern into tokens, each a star or a test of one byte
/// (a literal, <c>?</c>, a class as a 256-bit set), exactly as <c>stringmatchlen</c> walks it: its edge cases are kept, e.g.
/// an unterminated class <c>[ab</c> takes the rest of the pattern, <c>[a-]</c> is the range from <c>]</c> to <c>a</c>,
/// <c>\</c> inside a class escapes one byte compared case-sensitively even under nocase, a lone trailing <c>\</c> is a
/// literal, and an empty text matches only the empty pattern (Redis's SCAN and KEYS answer a bare <c>*</c> without the
/// matcher; so does <see cref="MatchesEverything"/>).
/// Matching is the greedy star with one backtrack point: on a mismatch the last star takes one more byte and the tokens
/// after it start again. That is correct because every other token takes exactly one byte, and it bounds the work by
/// (tokens + 1) x (text length + 1) steps. Rejected alternative: Redis's own recursion, which tries each star at every
/// position; with its skipLongerMatches cut it is polynomial but still took minutes on <c>*a*a*...*ab</c> patterns in
/// RingKV's earlier port without that cut, and its depth grows with the stars.
/// </remarks>
internal sealed class Glob
{
    private const byte StarToken = 0;
    private const byte ByteToken = 1;
    private const byte AnyToken = 2;
    private const byte SetToken = 3;

    private readonly byte[] _kinds;
    private readonly byte[] _bytes;   // ByteToken: the byte (lowered under nocase); SetToken: index into _sets / 4
    private readonly int[] _setIndex;
    private readonly ulong[] _sets;   // four words (256 bits) per class
    private readonly bool _ignoreCase;
    private readonly int _byteTokens; // tokens that take one byte each: a text shorter than this cannot match

    private Glob(byte[] kinds, byte[] bytes, int[] setIndex, ulong[] sets, bool ignoreCase, int byteTokens, bool matchesEverything)
    {
        _kinds = kinds;
        _bytes = bytes;
        _setIndex = setIndex;
        _sets = sets;
        _ignoreCase = ignoreCase;
        _byteTokens = byteTokens;
        MatchesEverything = matchesEverything;
    }

    /// <summary>Whether the pattern is a bare <c>*</c>, which SCAN treats as no pattern at all (the empty key included), as Redis does.</summary>
    public bool MatchesEverything { get; }

    /// <summary>Compiles <paramref name="pattern"/>; bytes compare exactly unless <paramref name="ignoreCase"/> (ASCII letters only, as C's tolower).</summary>
    /// <remarks>Cost: linear in the pattern's length (a class element sets at most four words of bits).</remarks>
    public static Glob Compile(ReadOnlySpan<byte> pattern, bool ignoreCase = false)
    {
        var kinds = new List<byte>();
        var bytes = new List<byte>();
        var setIndex = new List<int>();
        var sets = new List<ulong>();
        var byteTokens = 0;
        var p = 0;
        var n = pattern.Length;

        // As in C, a read at the end of the pattern sees the terminating NUL.
        byte At(ReadOnlySpan<byte> s, int i) => i < s.Length ? s[i] : (byte)0;

        while (p < n)
        {
            switch (pattern[p])
            {
                case (byte)'*':
                    while (p + 1 < n && pattern[p + 1] == '*')
                    {
                        p++;
                    }

                    Add(StarToken, 0, -1);
                    p++;
                    break;
                case (byte)'?':
                    Add(AnyToken, 0, -1);
                    byteTokens++;
                    p++;
                    break;
                case (byte)'[':
                    {
                        // stringmatchlen's class loop, replayed on the pattern alone (it never depends on the text).
                        p++;
                        var negate = At(pattern, p) == '^';
                        if (negate)
                        {
                            p++;
                        }

                        Span<ulong> set = stackalloc ulong[4];
                        set.Clear();
                        while (true)
                        {
                            var left = n - p;
                            if (At(pattern, p) == '\\' && left >= 2)
                            {
                                p++;
                                SetBit(set, pattern[p]); // escaped: compared exactly, even under nocase
                            }
                            else if (At(pattern, p) == ']')
                            {
                                break;
                            }
                            else if (left <= 0)
                            {
                                p--; // unterminated: the class ends with the pattern
                                break;
                            }
                            else if (left >= 3 && pattern[p + 1] == '-')
                            {
                                AddRange(set, pattern[p], pattern[p + 2], ignoreCase);
                                p += 2;
                            }
                            else
                            {
                                AddByte(set, pattern[p], ignoreCase);
                            }

                            p++;
                        }

                        if (negate)
                        {
                            for (var w = 0; w < 4; w++)
                            {
                                set[w] = ~set[w];
                            }
                        }

                        Add(SetToken, 0, sets.Count / 4);
                        foreach (var word in set)
                        {
                            sets.Add(word);
                        }

                        byteTokens++;
                        p++;
                        break;
                    }

                case (byte)'\\' when p + 1 < n:
                    Add(ByteToken, ignoreCase ? Lower(pattern[p + 1]) : pattern[p + 1], -1);
                    byteTokens++;
                    p += 2;
                    break;
                default:
                    Add(ByteToken, ignoreCase ? Lower(pattern[p]) : pattern[p], -1);
                    byteTokens++;
                    p++;
                    break;
            }
        }

        return new Glob([.. kinds], [.. bytes], [.. setIndex], [.. sets], ignoreCase, byteTokens, pattern.Length == 1 && pattern[0] == '*');

        void Add(byte kind, byte value, int set)
        {
            kinds.Add(kind);
            bytes.Add(value);
            setIndex.Add(set);
        }
    }

    /// <summary>Compiles and matches once (CONFIG GET's few names).</summary>
    public static bool IsMatch(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> text, bool ignoreCase = false) =>
        Compile(pattern, ignoreCase).IsMatch(text);

    /// <summary>True when <paramref name="text"/> matches the pattern.</summary>
    public bool IsMatch(ReadOnlySpan<byte> text)
    {
        long steps = 0;
        return IsMatch(text, ref steps);
    }

    /// <summary>True when <paramref name="text"/> matches; adds the steps taken to <paramref name="steps"/>.</summary>
    /// <remarks>One step is one token tried against one byte (or one skip of a trailing star); at most (tokens + 1) x (text length + 1).</remarks>
    public bool IsMatch(ReadOnlySpan<byte> text, ref long steps)
    {
        var m = _kinds.Length;
        if (text.IsEmpty)
        {
            // stringmatchlen's loop does not run on an empty string: only the empty pattern matches.
            steps++;
            return m == 0;
        }

        if (text.Length < _byteTokens)
        {
            steps++;
            return false;
        }

        var p = 0;
        var s = 0;
        var star = -1;      // the last star seen, the one backtrack point
        var starText = 0;   // where the text stood when that star was tried with the fewest bytes
        long taken = 0;
        while (s < text.Length)
        {
            taken++;
            if (p < m && _kinds[p] == StarToken)
            {
                star = p++;
                starText = s;
            }
            else if (p < m && Accepts(p, text[s]))
            {
                p++;
                s++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                s = ++starText;
            }
            else
            {
                steps += taken;
                return false;
            }
        }

        while (p < m && _kinds[p] == StarToken)
        {
            taken++;
            p++;
        }

        Debug.Assert(taken <= (long)(m + 1) * (text.Length + 1) + m, "the greedy matcher took more steps than its bound");
        steps += taken;
        return p == m;
    }

    private bool Accepts(int token, byte c)
    {
        switch (_kinds[token])
        {
            case AnyToken:
                return true;
            case ByteToken:
                return (_ignoreCase ? Lower(c) : c) == _bytes[token];
            default:
                var at = _setIndex[token] * 4;
                return (_sets[at + (c >> 6)] & (1UL << (c & 63))) != 0;
        }
    }

    private static void SetBit(Span<ulong> set, byte c) => set[c >> 6] |= 1UL << (c & 63);

    /// <summary>A class byte: under nocase, every byte whose lower case equals its lower case.</summary>
    private static void AddByte(Span<ulong> set, byte b, bool ignoreCase)
    {
        if (!ignoreCase)
        {
            SetBit(set, b);
            return;
        }

        var lower = Lower(b);
        SetBit(set, lower);
        if (lower is >= (byte)'a' and <= (byte)'z')
        {
            SetBit(set, (byte)(lower - 32));
        }
    }

    /// <summary>
    /// A class range, ends swapped when reversed; under nocase a byte c is in it when tolower(c) lies between the lowered
    /// ends (which may leave it empty, e.g. <c>[Z-a]</c>), as in stringmatchlen.
    /// </summary>
    /// <remarks>
    /// The ends and the byte compare as C's <c>char</c>, which is signed on x86-64 where Redis is built and run most:
    /// bytes 0x80..0xFF sort below 0x00, so <c>[a-\xFF]</c> is 0xFF and 0x00..'a'. Plain class bytes and literals compare
    /// for equality, where the sign does not matter.
    /// </remarks>
    private static void AddRange(Span<ulong> set, byte start, byte end, bool ignoreCase)
    {
        int lo = (sbyte)start, hi = (sbyte)end;
        if (lo > hi)
        {
            (lo, hi) = (hi, lo);
        }

        if (ignoreCase)
        {
            lo = lo is >= 'A' and <= 'Z' ? lo + 32 : lo;
            hi = hi is >= 'A' and <= 'Z' ? hi + 32 : hi;
        }

        if (lo > hi)
        {
            return;
        }

        Span<ulong> range = stackalloc ulong[4];
        range.Clear();
        if (hi < 0)
        {
            SetBits(range, lo + 256, hi + 256);
        }
        else if (lo >= 0)
        {
            SetBits(range, lo, hi);
        }
        else
        {
            SetBits(range, lo + 256, 255);
            SetBits(range, 0, hi);
        }

        if (ignoreCase)
        {
            // Upper-case letters are not their own lower case: they belong when their lower case is in range, so the
            // bits of 'a'..'z' (word 1, bits 33..58) move down to 'A'..'Z' (bits 1..26).
            const ulong UpperLetters = ((1UL << 26) - 1) << 1;
            const ulong LowerLetters = ((1UL << 26) - 1) << 33;
            range[1] = (range[1] & ~UpperLetters) | ((range[1] & LowerLetters) >> 32);
        }

        for (var w = 0; w < 4; w++)
        {
            set[w] |= range[w];
        }
    }

    /// <summary>Sets the bits of bytes <paramref name="first"/>..<paramref name="last"/> (0..255, first &lt;= last).</summary>
    private static void SetBits(Span<ulong> set, int first, int last)
    {
        for (var w = first >> 6; w <= last >> 6; w++)
        {
            var from = Math.Max(first, w * 64) - (w * 64);
            var to = Math.Min(last, (w * 64) + 63) - (w * 64);
            var width = to - from + 1;
            set[w] |= (width == 64 ? ulong.MaxValue : (1UL << width) - 1) << from;
        }
    }

    private static byte Lower(byte c) => c is >= (byte)'A' and <= (byte)'Z' ? (byte)(c + 32) : c;
}
