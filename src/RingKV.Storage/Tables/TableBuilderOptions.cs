using System;

namespace RingKV.Storage.Tables;

/// <summary>How a <see cref="TableBuilder"/> lays out a table.</summary>
internal sealed class TableBuilderOptions
{
    /// <summary>Uncompressed size at which a data block is cut. Default 4096.</summary>
    public int BlockSizeBytes { get; init; } = 4096;

    /// <summary>Entries between restart points in data blocks. Default 16.</summary>
    public int RestartInterval { get; init; } = 16;

    /// <summary>Compression of data blocks. Default LZ4.</summary>
    public CompressionKind Compression { get; init; } = CompressionKind.Lz4;

    /// <summary>Bloom filter bits per distinct key; 0 writes no filter. Default 10.</summary>
    public int BloomBitsPerKey { get; init; } = 10;

    /// <summary>Throws when a setting is out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BlockSizeBytes, 64, nameof(BlockSizeBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(RestartInterval, 1, nameof(RestartInterval));
        ArgumentOutOfRangeException.ThrowIfNegative(BloomBitsPerKey, nameof(BloomBitsPerKey));
        if (!Enum.IsDefined(Compression))
        {
            throw new ArgumentOutOfRangeException(nameof(Compression), Compression, "unknown compression kind");
        }
    }
}
