using System;
using System.Buffers.Binary;
using RingKV.Core.Hashing;

namespace RingKV.Storage.Log;

/// <summary>Reads the records of one commit-log segment, stopping at the first torn or damaged record.</summary>
/// <remarks>Not thread-safe. The payload span is valid until the next <see cref="TryReadNext"/>.</remarks>
internal sealed class CommitLogReader : IDisposable
{
    private readonly IRandomAccessFile _file;
    private byte[] _buffer = new byte[64 * 1024];

    public CommitLogReader(IRandomAccessFile file)
    {
        _file = file;
    }

    /// <summary>Offset just past the last good record.</summary>
    public long GoodOffset { get; private set; }

    /// <summary>Bytes after <see cref="GoodOffset"/> that could not be read as records (torn tail or damage).</summary>
    public long DroppedBytes => _file.Length - GoodOffset;

    /// <summary>Why reading stopped early, or null at a clean end.</summary>
    public string? StopReason { get; private set; }

    /// <summary>Reads the next good record; false at the end or at the first bad record.</summary>
    public bool TryReadNext(out ReadOnlySpan<byte> payload)
    {
        payload = default;
        var remaining = _file.Length - GoodOffset;
        if (remaining == 0)
        {
            return false;
        }

        if (remaining < LogFormat.HeaderSize)
        {
            StopReason = "record header cut short";
            return false;
        }

        Span<byte> header = stackalloc byte[LogFormat.HeaderSize];
        if (_file.Read(GoodOffset, header) < LogFormat.HeaderSize)
        {
            StopReason = "record header cut short";
            return false;
        }

        var crc = BinaryPrimitives.ReadUInt32LittleEndian(header);
        var length = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        if (length < 0 || length > LogFormat.MaxPayloadBytes || length > remaining - LogFormat.HeaderSize)
        {
            StopReason = $"record length {length} exceeds what is left";
            return false;
        }

        if (_buffer.Length < length + 4)
        {
            _buffer = new byte[Math.Max(length + 4, _buffer.Length * 2)];
        }

        var body = _buffer.AsSpan(0, length + 4);
        header[4..].CopyTo(body);
        if (_file.Read(GoodOffset + LogFormat.HeaderSize, body[4..]) < length)
        {
            StopReason = "record payload cut short";
            return false;
        }

        if (Checksum.Crc32C(body) != crc)
        {
            StopReason = "record checksum mismatch";
            return false;
        }

        GoodOffset += LogFormat.HeaderSize + length;
        payload = body[4..];
        return true;
    }

    public void Dispose() => _file.Dispose();
}
