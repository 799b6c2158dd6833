using System;
using System.Globalization;
using System.Text;
using RingKV.Core.Encoding;

namespace RingKV.Net.Resp;

/// <summary>Strict number parsing with Redis' rules (string2ll, string2d), allocation-free.</summary>
internal static class RespNumber
{
    /// <summary>Most bytes a valid int64 takes: sign and 19 digits.</summary>
    public const int MaxInt64Length = 20;

    /// <summary>
    /// Parses a base-10 int64: an optional '-', then digits without a leading zero (except "0" itself),
    /// nothing else (no spaces, no '+'), and the value fits in int64.
    /// </summary>
    public static bool TryParseInt64(ReadOnlySpan<byte> text, out long value) => DecimalInt64.TryParse(text, out value);

    /// <summary>
    /// Parses a double as Redis does: decimal or exponent form, "inf"/"+inf"/"-inf" (any case),
    /// no spaces, never NaN.
    /// </summary>
    public static bool TryParseDouble(ReadOnlySpan<byte> text, out double value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 256)
        {
            return false;
        }

        var unsigned = text[0] is (byte)'-' or (byte)'+' ? text[1..] : text;
        if (Ascii.EqualsIgnoreCase(unsigned, "inf"u8) || Ascii.EqualsIgnoreCase(unsigned, "infinity"u8))
        {
            value = text[0] == (byte)'-' ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }

        // Digits must start the unsigned part, which rules out "NaN", "Infinity" spelled by .NET and spaces.
        if (unsigned.IsEmpty || !(char.IsAsciiDigit((char)unsigned[0]) || unsigned[0] == (byte)'.'))
        {
            return false;
        }

        const NumberStyles Styles = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;
        if (!double.TryParse(text, Styles, CultureInfo.InvariantCulture, out value) || double.IsNaN(value))
        {
            value = 0;
            return false;
        }

        return true;
    }
}
