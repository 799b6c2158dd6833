using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace RingKV.Storage.Filters;

/// <summary>Probes a filter encoded by <see cref="BloomFilterBuilder"/>.</summary>
/// <remarks>Thread-safe (immutable). Wraps the caller's array without copying; the array must not change afterwards.</remarks>
internal sealed class BloomFilter
{
    private readonly byte[] _data;
    private readonly int _lines;
    private readonly int _probes;

    private BloomFilter(byte[] data, int lines, int probes)
    {
        _data = data;
        _lines = lines;
        _probes = probes;
    }

    /// <summary>Bytes of the encoded filter.</summary>
    public int SizeBytes => (_lines * BloomFilterBuilder.LineBytes) + BloomFilterBuilder.TrailerBytes;

    /// <summary>Probes per token.</summary>
    public int Probes => _probes;

    /// <summary>
    /// Wraps the first <paramref name="length"/> bytes of <paramref name="data"/>; false when they are not a filter of a
    /// known format (wrong size, unknown format byte, probe count out of range).
    /// </summary>
    public static bool TryCreate(byte[] data, int length, [NotNullWhen(true)] out BloomFilter? filter)
    {
        filter = null;
        if (length < BloomFilterBuilder.LineBytes + BloomFilterBuilder.TrailerBytes || length > data.Length)
        {
            return false;
        }

        var linesBytes = length - BloomFilterBuilder.TrailerBytes;
        if (linesBytes % BloomFilterBuilder.LineBytes != 0)
        {
            return false;
        }

        var format = data[linesBytes];
        var probes = data[linesBytes + 1];
        if (format != BloomFilterBuilder.FormatFastLocal || probes < 1 || probes > 30)
        {
            return false;
        }

        filter = new BloomFilter(data, linesBytes / BloomFilterBuilder.LineBytes, probes);
        return true;
    }

    /// <summary>False when no key with this token was added; true when one may have been.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool MayContain(ulong token)
    {
        var h = BloomFilterBuilder.Mix(token);
        var lineStart = BloomFilterBuilder.LineOf(h, _lines) * BloomFilterBuilder.LineBytes;
        var line = _data.AsSpan(lineStart, BloomFilterBuilder.LineBytes);
        var h2 = (uint)h;
        for (var p = 0; p < _probes; p++)
        {
            var bit = h2 >> (32 - 9);
            if ((line[(int)(bit >> 3)] & (1 << (int)(bit & 7))) == 0)
            {
                return false;
            }

            h2 *= 0x9E3779B9;
        }

        return true;
    }
}
