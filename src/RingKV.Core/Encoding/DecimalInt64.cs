using System;

namespace RingKV.Core.Encoding;

/// <summary>Strict base-10 64-bit integers, as Redis's string2ll reads them: the one rule for values a counter adds to and for numeric arguments.</summary>
public static class DecimalInt64
{
    /// <summary>Most bytes a 64-bit integer takes in decimal ("-9223372036854775808").</summary>
    public const int MaxLength = 20;

    /// <summary>
    /// Parses a base-10 int64: an optional '-', then digits without a leading zero (except "0" itself),
    /// nothing else (no spaces, no '+'), and the value fits in int64.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > MaxLength)
        {
            return false;
        }

        if (text.Length == 1 && text[0] == (byte)'0')
        {
            return true;
        }

        var negative = text[0] == (byte)'-';
        var digits = negative ? text[1..] : text;
        if (digits.IsEmpty || digits[0] < (byte)'1' || digits[0] > (byte)'9')
        {
            return false;
        }

        // Accumulate as a positive ulong, then check the sign's range: -9223372036854775808 is valid.
        ulong magnitude = 0;
        foreach (var b in digits)
        {
            var digit = (uint)(b - (byte)'0');
            if (digit > 9)
            {
                return false;
            }

            if (magnitude > (ulong.MaxValue - digit) / 10)
            {
                return false;
            }

            magnitude = (magnitude * 10) + digit;
        }

        if (negative)
        {
            if (magnitude > (ulong)long.MaxValue + 1)
            {
                return false;
            }

            value = (long)(0 - magnitude);
            return true;
        }

        if (magnitude > long.MaxValue)
        {
            return false;
        }

        value = (long)magnitude;
        return true;
    }
}
