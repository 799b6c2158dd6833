using System;
using System.Runtime.CompilerServices;

namespace RingKV.Core.Encoding;

/// <summary>LEB128 unsigned varints, as in LevelDB and protobuf.</summary>
public static class Varint
{
    /// <summary>Most bytes a 32-bit varint takes.</summary>
    public const int MaxLength32 = 5;

    /// <summary>Most bytes a 64-bit varint takes.</summary>
    public const int MaxLength64 = 10;

    /// <summary>Bytes <paramref name="value"/> takes encoded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Length(ulong value)
    {
        var length = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            length++;
        }

        return length;
    }

    /// <summary>Writes <paramref name="value"/>; returns bytes written. Requires: room for <see cref="Length"/> bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Write(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Reads a 64-bit varint; false on a truncated or overlong encoding, never throws.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryRead(ReadOnlySpan<byte> source, out ulong value, out int length)
    {
        ulong result = 0;
        for (int i = 0, shift = 0; i < source.Length && i < MaxLength64; i++, shift += 7)
        {
            ulong b = source[i];
            if (shift == 63 && b > 1)
            {
                break; // more than 64 bits: refused rather than read with the high bits dropped
            }

            result |= (b & 0x7F) << shift;
            if (b < 0x80)
            {
                value = result;
                length = i + 1;
                return true;
            }
        }

        value = 0;
        length = 0;
        return false;
    }

    /// <summary>Reads a varint that must fit 32 bits; false when truncated or too large.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryRead32(ReadOnlySpan<byte> source, out uint value, out int length)
    {
        if (source.Length > 0 && source[0] < 0x80)
        {
            value = source[0];
            length = 1;
            return true;
        }

        if (TryRead(source, out var wide, out length) && wide <= uint.MaxValue)
        {
            value = (uint)wide;
            return true;
        }

        value = 0;
        length = 0;
        return false;
    }
}
