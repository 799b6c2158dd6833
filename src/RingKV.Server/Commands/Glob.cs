using System;

namespace RingKV.Server.Commands;

/// <summary>Redis glob patterns (SCAN MATCH, KEYS, CONFIG GET): <c>*</c>, <c>?</c>, <c>[abc]</c>, <c>[^a]</c>, <c>[a-z]</c>, <c>\x</c>.</summary>
internal static class Glob
{
    /// <summary>True when <paramref name="text"/> matches <paramref name="pattern"/>; bytes compare exactly unless <paramref name="ignoreCase"/>.</summary>
    public static bool IsMatch(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> text, bool ignoreCase = false) =>
        Match(pattern, text, ignoreCase, depth: 0);

    private static bool Match(ReadOnlySpan<byte> p, ReadOnlySpan<byte> s, bool nocase, int depth)
    {
        if (depth > 256)
        {
            return false; // pathological patterns like many stars: give up rather than recurse deeply
        }

        while (p.Length > 0)
        {
            switch (p[0])
            {
                case (byte)'*':
                    while (p.Length > 1 && p[1] == '*')
                    {
                        p = p[1..];
                    }

                    if (p.Length == 1)
                    {
                        return true;
                    }

                    for (var i = 0; i <= s.Length; i++)
                    {
                        if (Match(p[1..], s[i..], nocase, depth + 1))
                        {
                            return true;
                        }
                    }

                    return false;
                case (byte)'?':
                    if (s.Length == 0)
                    {
                        return false;
                    }

                    s = s[1..];
                    p = p[1..];
                    break;
                case (byte)'[':
                    {
                        if (s.Length == 0)
                        {
                            return false;
                        }

                        p = p[1..];
                        var not = p.Length > 0 && p[0] == '^';
                        if (not)
                        {
                            p = p[1..];
                        }

                        var matched = false;
                        while (p.Length > 0 && p[0] != ']')
                        {
                            if (p[0] == '\\' && p.Length >= 2)
                            {
                                p = p[1..];
                                matched |= Eq(p[0], s[0], nocase);
                                p = p[1..];
                            }
                            else if (p.Length >= 3 && p[1] == '-' && p[2] != ']')
                            {
                                int lo = p[0], hi = p[2];
                                if (lo > hi)
                                {
                                    (lo, hi) = (hi, lo);
                                }

                                int c = s[0];
                                if (nocase)
                                {
                                    lo = Lower(lo);
                                    hi = Lower(hi);
                                    c = Lower(c);
                                }

                                matched |= c >= lo && c <= hi;
                                p = p[3..];
                            }
                            else
                            {
                                matched |= Eq(p[0], s[0], nocase);
                                p = p[1..];
                            }
                        }

                        if (p.Length > 0)
                        {
                            p = p[1..]; // the ']'
                        }

                        if (matched == not)
                        {
                            return false;
                        }

                        s = s[1..];
                        break;
                    }

                case (byte)'\\' when p.Length >= 2:
                    if (s.Length == 0 || !Eq(p[1], s[0], nocase))
                    {
                        return false;
                    }

                    p = p[2..];
                    s = s[1..];
                    break;
                default:
                    if (s.Length == 0 || !Eq(p[0], s[0], nocase))
                    {
                        return false;
                    }

                    p = p[1..];
                    s = s[1..];
                    break;
            }
        }

        return s.Length == 0;
    }

    private static bool Eq(byte a, byte b, bool nocase) => nocase ? Lower(a) == Lower(b) : a == b;

    private static int Lower(int c) => c is >= 'A' and <= 'Z' ? c + 32 : c;
}
