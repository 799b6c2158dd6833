using System;
using System.Text;
using CsCheck;
using RingKV.Server.Commands;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>The glob matcher of SCAN MATCH and CONFIG GET against Redis's stringmatchlen, and its work on hostile patterns.</summary>
public sealed class GlobTests
{
    // Bytes that exercise every branch: the metacharacters, letters in both cases, and bytes above 0x7F (signed as C chars).
    private static readonly byte[] PatternAlphabet = [.. "*?[]^-\\aAbBz"u8, 0xE9, 0x80];
    private static readonly byte[] TextAlphabet = [.. "aAbBz]^-\\*?"u8, 0xE9, 0x80, 0x00];

    [Fact]
    public void IsMatch_RandomPatterns_AgreesWithStringMatchLen()
    {
        var pattern = Gen.Int[0, PatternAlphabet.Length - 1].Select(i => PatternAlphabet[i]).Array[0, 10];
        var text = Gen.Int[0, TextAlphabet.Length - 1].Select(i => TextAlphabet[i]).Array[0, 10];
        Gen.Select(pattern, text, Gen.Bool).Sample((p, t, nocase) =>
        {
            var expected = StringMatchLen(p, t, nocase);
            long steps = 0;
            var actual = Glob.Compile(p, nocase).IsMatch(t, ref steps);
            Assert.True(expected == actual, $"pattern {Show(p)} text {Show(t)} nocase {nocase}: Redis says {expected}, Glob says {actual}");
            Assert.True(steps <= StepBound(p.Length, t.Length), $"pattern {Show(p)} text {Show(t)}: {steps} steps");
        }, iter: 200_000);
    }

    [Theory]
    [InlineData("*a*a*a*a*a*a*a*a*ab", 60)]
    [InlineData("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*ab", 60_000)]
    [InlineData("*aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 60_000)]
    [InlineData("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", 60_000)]
    public void IsMatch_BacktrackingPattern_WorkLinearInPatternTimesKey(string pattern, int keyLength)
    {
        var key = new byte[keyLength];
        key.AsSpan().Fill((byte)'a');
        long steps = 0;
        Assert.False(Glob.Compile(Encoding.ASCII.GetBytes(pattern)).IsMatch(key, ref steps));
        Assert.True(steps <= StepBound(pattern.Length, keyLength), $"{steps} steps for {pattern.Length} pattern bytes x {keyLength} key bytes");

        // The same pattern matches once the key ends as it asks: the bound holds on success too.
        key[^1] = (byte)'b';
        steps = 0;
        Assert.True(Glob.Compile(Encoding.ASCII.GetBytes(pattern)).IsMatch(key, ref steps));
        Assert.True(steps <= StepBound(pattern.Length, keyLength), $"{steps} steps on the matching key");
    }

    // Edge cases where Redis's walk of the pattern is surprising; the answers are Redis 7.0.15's KEYS on the same key, except
    // for the empty text, which KEYS and SCAN never ask the matcher about (they answer a bare "*" without it).
    [Theory]
    [InlineData("[a-]", "]", true)]       // the range runs from ']' to 'a'
    [InlineData("[a-]", "-", false)]
    [InlineData("[a-]b]", "b", true)]     // ...and the class goes on after it
    [InlineData("[ab", "b", true)]        // an unterminated class ends with the pattern
    [InlineData("[ab", "ab", false)]
    [InlineData("[^", "x", true)]         // an empty negated class takes any byte
    [InlineData("[", "x", false)]
    [InlineData("[]", "]", false)]        // "[]" is an empty class, not a literal ']'
    [InlineData("[]]", "]", false)]
    [InlineData("[\\]]", "]", true)]      // an escaped ']' inside a class
    [InlineData("[z-a]", "m", true)]      // reversed ranges swap
    [InlineData("\\*", "*", true)]
    [InlineData("\\*", "a", false)]
    [InlineData("a\\", "a\\", true)]      // a trailing backslash is a literal
    [InlineData("*", "", false)]          // the matcher never matches an empty text unless the pattern is empty
    [InlineData("", "", true)]
    [InlineData("a*", "a", true)]
    [InlineData("?", "", false)]
    [InlineData("h?llo", "hallo", true)]
    [InlineData("h[^e]llo", "hello", false)]
    [InlineData("h[a-b]llo", "hbllo", true)]
    public void IsMatch_RedisEdgeCases_AsRedis(string pattern, string text, bool expected)
    {
        Assert.Equal(expected, Glob.Compile(Encoding.ASCII.GetBytes(pattern)).IsMatch(Encoding.ASCII.GetBytes(text)));
        Assert.Equal(expected, StringMatchLen(Encoding.ASCII.GetBytes(pattern), Encoding.ASCII.GetBytes(text), nocase: false));
    }

    [Theory]
    [InlineData("MAX*", "maxclients", true)]
    [InlineData("[A-C]*", "bind", true)]
    [InlineData("[Z-a]", "m", false)]    // lowered ends: 'z'..'a', an empty range under nocase
    [InlineData("[\\A]", "a", false)]    // an escape in a class compares exactly, even under nocase
    [InlineData("\\A", "a", true)]       // outside a class it does not
    public void IsMatch_IgnoreCase_AsConfigGet(string pattern, string text, bool expected)
    {
        Assert.Equal(expected, Glob.IsMatch(Encoding.ASCII.GetBytes(pattern), Encoding.ASCII.GetBytes(text), ignoreCase: true));
        Assert.Equal(expected, StringMatchLen(Encoding.ASCII.GetBytes(pattern), Encoding.ASCII.GetBytes(text), nocase: true));
    }

    [Fact]
    public void IsMatch_HighBytesInRange_ComparedAsSignedChars()
    {
        // Redis compares class range ends as C chars, signed on x86-64: 0xE9 sorts below 'a', so [\xE9-a] holds it, and 'b' is out.
        var pattern = new byte[] { (byte)'[', 0xE9, (byte)'-', (byte)'a', (byte)']' };
        Assert.True(Glob.Compile(pattern).IsMatch([0xE9]));
        Assert.True(Glob.Compile(pattern).IsMatch([(byte)'0']));
        Assert.False(Glob.Compile(pattern).IsMatch([(byte)'b']));
        Assert.False(Glob.Compile(pattern).IsMatch([0x7F]));
    }

    [Fact]
    public void MatchesEverything_BareStarOnly()
    {
        Assert.True(Glob.Compile("*"u8).MatchesEverything);
        Assert.False(Glob.Compile("**"u8).MatchesEverything);
        Assert.False(Glob.Compile("a*"u8).MatchesEverything);
    }

    /// <summary>The matcher's bound: (tokens + 1) x (text + 1) + tokens, with at most one token per pattern byte.</summary>
    private static long StepBound(int patternBytes, int textBytes) => ((long)(patternBytes + 1) * (textBytes + 1)) + patternBytes;

    private static string Show(byte[] bytes)
    {
        var sb = new StringBuilder("\"");
        foreach (var b in bytes)
        {
            sb.Append(b is >= 0x20 and < 0x7F ? ((char)b).ToString() : $"\\x{b:X2}");
        }

        return sb.Append('"').ToString();
    }

    /// <summary>
    /// Redis's stringmatchlen (util.c, 7.x) transcribed: recursive, exponential, for small inputs only. Reads past the end see
    /// the C string's NUL; bytes are C chars, signed.
    /// </summary>
    private static bool StringMatchLen(byte[] pattern, byte[] text, bool nocase) =>
        StringMatchLen(pattern, 0, pattern.Length, text, 0, text.Length, nocase);

    private static bool StringMatchLen(byte[] pattern, int p, int patternLen, byte[] text, int s, int stringLen, bool nocase)
    {
        int P(int i) => i < pattern.Length ? (sbyte)pattern[i] : 0;
        int S(int i) => i < text.Length ? (sbyte)text[i] : 0;
        static int Lower(int c) => c is >= 'A' and <= 'Z' ? c + 32 : c;

        while (patternLen > 0 && stringLen > 0)
        {
            switch (P(p))
            {
                case '*':
                    while (patternLen > 0 && P(p + 1) == '*')
                    {
                        p++;
                        patternLen--;
                    }

                    if (patternLen == 1)
                    {
                        return true;
                    }

                    while (stringLen > 0)
                    {
                        if (StringMatchLen(pattern, p + 1, patternLen - 1, text, s, stringLen, nocase))
                        {
                            return true;
                        }

                        s++;
                        stringLen--;
                    }

                    return false;
                case '?':
                    s++;
                    stringLen--;
                    break;
                case '[':
                    {
                        p++;
                        patternLen--;
                        var not = P(p) == '^';
                        if (not)
                        {
                            p++;
                            patternLen--;
                        }

                        var match = false;
                        while (true)
                        {
                            if (P(p) == '\\' && patternLen >= 2)
                            {
                                p++;
                                patternLen--;
                                if (P(p) == S(s))
                                {
                                    match = true;
                                }
                            }
                            else if (P(p) == ']')
                            {
                                break;
                            }
                            else if (patternLen == 0)
                            {
                                p--;
                                patternLen++;
                                break;
                            }
                            else if (patternLen >= 3 && P(p + 1) == '-')
                            {
                                int start = P(p), end = P(p + 2), c = S(s);
                                if (start > end)
                                {
                                    (start, end) = (end, start);
                                }

                                if (nocase)
                                {
                                    start = Lower(start);
                                    end = Lower(end);
                                    c = Lower(c);
                                }

                                p += 2;
                                patternLen -= 2;
                                if (c >= start && c <= end)
                                {
                                    match = true;
                                }
                            }
                            else if (nocase ? Lower(P(p)) == Lower(S(s)) : P(p) == S(s))
                            {
                                match = true;
                            }

                            p++;
                            patternLen--;
                        }

                        if (not)
                        {
                            match = !match;
                        }

                        if (!match)
                        {
                            return false;
                        }

                        s++;
                        stringLen--;
                        break;
                    }

                default:
                    if (P(p) == '\\' && patternLen >= 2)
                    {
                        p++;
                        patternLen--;
                    }

                    if (nocase ? Lower(P(p)) != Lower(S(s)) : P(p) != S(s))
                    {
                        return false;
                    }

                    s++;
                    stringLen--;
                    break;
            }

            p++;
            patternLen--;
            if (stringLen == 0)
            {
                while (P(p) == '*')
                {
                    p++;
                    patternLen--;
                }

                break;
            }
        }

        return patternLen == 0 && stringLen == 0;
    }
}
