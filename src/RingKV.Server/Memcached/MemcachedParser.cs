using System;
using System.Buffers.Text;
using System.Collections.Generic;

namespace RingKV.Server.Memcached;

/// <summary>Pieces of memcached's text protocol: command lines, keys, numbers and expiry times.</summary>
/// <remarks>Pure functions; never throw on hostile bytes.</remarks>
internal static class MemcachedParser
{
    /// <summary>memcached's longest key, in bytes.</summary>
    public const int MaxKeyBytes = 250;

    /// <summary>The longest command line accepted (a get of many keys); past it the connection closes, as memcached's does.</summary>
    public const int MaxLineBytes = 64 * 1024;

    /// <summary>Exptimes up to this many seconds (30 days) are relative to now; larger ones are Unix times.</summary>
    public const long MaxRelativeExptimeSeconds = 60L * 60 * 24 * 30;

    /// <summary>Where the first line of <paramref name="pending"/> ends: the index of its '\n', or -1 when it is not all there.</summary>
    public static int FindLineEnd(ReadOnlySpan<byte> pending) => pending.IndexOf((byte)'\n');

    /// <summary>Splits <paramref name="line"/> (without its '\n'; a trailing '\r' is dropped) on spaces into <paramref name="tokens"/>.</summary>
    public static void Tokenize(ReadOnlySpan<byte> line, List<Range> tokens)
    {
        tokens.Clear();
        var length = line.Length > 0 && line[^1] == (byte)'\r' ? line.Length - 1 : line.Length;
        var i = 0;
        while (i < length)
        {
            while (i < length && line[i] == (byte)' ')
            {
                i++;
            }

            var start = i;
            while (i < length && line[i] != (byte)' ')
            {
                i++;
            }

            if (i > start)
            {
                tokens.Add(start..i);
            }
        }
    }

    /// <summary>Whether <paramref name="key"/> is a memcached key: 1 to 250 bytes, no space and no control character.</summary>
    public static bool IsValidKey(ReadOnlySpan<byte> key)
    {
        if (key.Length is 0 or > MaxKeyBytes)
        {
            return false;
        }

        foreach (var b in key)
        {
            if (b <= (byte)' ' || b == 0x7F)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A decimal unsigned 64-bit number, digits only.</summary>
    public static bool TryParseUInt64(ReadOnlySpan<byte> text, out ulong value)
    {
        value = 0;
        if (text.IsEmpty || text[0] is (byte)'+' or (byte)'-')
        {
            return false;
        }

        return Utf8Parser.TryParse(text, out value, out var consumed) && consumed == text.Length;
    }

    /// <summary>A decimal unsigned 32-bit number (item flags).</summary>
    public static bool TryParseUInt32(ReadOnlySpan<byte> text, out uint value)
    {
        value = 0;
        if (!TryParseUInt64(text, out var wide) || wide > uint.MaxValue)
        {
            return false;
        }

        value = (uint)wide;
        return true;
    }

    /// <summary>A decimal signed 64-bit number (exptime, a data length).</summary>
    public static bool TryParseInt64(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        if (text.IsEmpty || text[0] == (byte)'+')
        {
            return false;
        }

        return Utf8Parser.TryParse(text, out value, out var consumed) && consumed == text.Length;
    }

    /// <summary>
    /// A stored value as a counter (incr, decr): decimal digits, possibly followed by spaces or CR/LF (how memcached
    /// leaves a counter that shrank in place), at most 2^64 - 1.
    /// </summary>
    public static bool TryParseCounter(ReadOnlySpan<byte> value, out ulong counter)
    {
        var end = value.Length;
        while (end > 0 && value[end - 1] is (byte)' ' or (byte)'\r' or (byte)'\n')
        {
            end--;
        }

        return TryParseUInt64(value[..end], out counter);
    }

    /// <summary>
    /// The Unix time in milliseconds an exptime means (memcached's rules): 0 never expires (returns 0); a negative exptime
    /// has expired already; up to 30 days it is seconds from <paramref name="nowUnixMs"/>; larger it is a Unix time in seconds.
    /// </summary>
    public static long ExpiresAtUnixMs(long exptime, long nowUnixMs) => exptime switch
    {
        0 => 0,
        < 0 => 1, // a time in the past: the write deletes the key
        <= MaxRelativeExptimeSeconds => nowUnixMs + (exptime * 1000),
        _ => exptime > long.MaxValue / 1000 ? long.MaxValue : Math.Max(1, exptime * 1000),
    };
}
