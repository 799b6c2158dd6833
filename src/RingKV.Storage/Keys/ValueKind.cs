namespace RingKV.Storage.Keys;

/// <summary>What a record is; the low byte of its internal-key trailer. On disk: never renumbered.</summary>
internal enum ValueKind : byte
{
    /// <summary>A tombstone; its value is the deletion time, 8 bytes little-endian Unix milliseconds.</summary>
    Delete = 0,

    /// <summary>A value without expiry.</summary>
    Put = 1,

    /// <summary>A value whose first 8 bytes are its expiry, little-endian Unix milliseconds, then the user value.</summary>
    PutWithExpiry = 2,

    /// <summary>Highest kind: sorts first among equal sequence numbers, used only in seek keys.</summary>
    Seek = 0xFF,
}
