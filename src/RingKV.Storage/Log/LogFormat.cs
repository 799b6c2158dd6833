namespace RingKV.Storage.Log;

/// <summary>Layout of commit-log records.</summary>
/// <remarks>
/// A segment file <c>NNNNNN.log</c> is a sequence of records:
/// <code>| crc32c (4, LE) | length (4, LE) | payload (length) |</code>
/// The CRC covers the length field and the payload. A record whose header or payload is cut short,
/// or whose CRC does not match, ends the readable part of its segment: it is a torn tail (or damage)
/// and is never returned as data. The engine's payload is a write group:
/// <code>| first sequence (8, LE) | count (4, LE) | time Unix ms (8, LE) | operations (WriteBatch encoding, merges resolved) |</code>
/// See docs/formats/commit-log.md.
/// </remarks>
internal static class LogFormat
{
    /// <summary>Bytes before the payload.</summary>
    public const int HeaderSize = 8;

    /// <summary>Largest payload accepted on read; larger lengths are damage.</summary>
    public const int MaxPayloadBytes = 256 << 20;

    /// <summary>Bytes of a write group's header inside the payload.</summary>
    public const int GroupHeaderSize = 20;
}
