using System;
using System.Diagnostics;

namespace RingKV.Bench;

/// <summary>Formats benchmark keys: 16 ASCII bytes, <c>key</c> + 13 decimal digits for stored keys, <c>miss</c> + 12 for absent ones.</summary>
/// <remarks>Allocation-free: writes into a caller's buffer. The prefixes differ, so a missing key never equals a stored one.</remarks>
internal static class KeyCodec
{
    /// <summary>Length of every key.</summary>
    public const int KeyBytes = 16;

    /// <summary>Largest index a key can carry (13 digits).</summary>
    public const long MaxIndex = 9_999_999_999_999;

    /// <summary>Writes the stored key of <paramref name="index"/>. Requires: destination holds 16 bytes.</summary>
    public static void WriteKey(Span<byte> destination, long index)
    {
        Debug.Assert(destination.Length >= KeyBytes && index is >= 0 and <= MaxIndex);
        destination[0] = (byte)'k';
        destination[1] = (byte)'e';
        destination[2] = (byte)'y';
        WriteDigits(destination.Slice(3, 13), index);
    }

    /// <summary>Writes a key that is never stored. Requires: destination holds 16 bytes.</summary>
    public static void WriteMissingKey(Span<byte> destination, long index)
    {
        Debug.Assert(destination.Length >= KeyBytes && index >= 0);
        destination[0] = (byte)'m';
        destination[1] = (byte)'i';
        destination[2] = (byte)'s';
        destination[3] = (byte)'s';
        WriteDigits(destination.Slice(4, 12), index % 1_000_000_000_000);
    }

    /// <summary>The index of a stored key written by <see cref="WriteKey"/>; false for anything else.</summary>
    public static bool TryParseKey(ReadOnlySpan<byte> key, out long index)
    {
        index = 0;
        if (key.Length != KeyBytes || key[0] != (byte)'k' || key[1] != (byte)'e' || key[2] != (byte)'y')
        {
            return false;
        }

        foreach (var digit in key[3..])
        {
            var d = digit - (byte)'0';
            if ((uint)d > 9)
            {
                return false;
            }

            index = (index * 10) + d;
        }

        return true;
    }

    private static void WriteDigits(Span<byte> destination, long value)
    {
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }
}
