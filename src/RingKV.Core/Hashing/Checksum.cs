using System;
using System.IO.Hashing;

namespace RingKV.Core.Hashing;

/// <summary>CRC32C (Castagnoli) of byte spans, for every checksummed record and block on disk.</summary>
public static class Checksum
{
    /// <summary>CRC32C of <paramref name="data"/>.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data) => Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data);

    /// <summary>CRC32C of two spans as if concatenated.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        var crc = new Crc32(Crc32ParameterSet.Crc32C);
        crc.Append(first);
        crc.Append(second);
        return crc.GetCurrentHashAsUInt32();
    }
}
