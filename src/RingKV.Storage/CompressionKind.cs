namespace RingKV.Storage;

/// <summary>How a table block is compressed. On disk: never renumbered.</summary>
public enum CompressionKind : byte
{
    /// <summary>Stored as is.</summary>
    None = 0,

    /// <summary>LZ4 block format (K4os.Compression.LZ4): fast, the default.</summary>
    Lz4 = 1,

    /// <summary>Zstandard (ZstdSharp.Port): smaller, slower; for cold levels.</summary>
    Zstd = 2,
}
