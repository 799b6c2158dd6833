using System;
using System.Buffers.Binary;
using RingKV.Core.Hashing;
using RingKV.Storage.Fs;

namespace RingKV.Storage.Log;

/// <summary>Appends checksummed records to one commit-log segment.</summary>
/// <remarks>
/// Not thread-safe: only the engine's write leader appends, and it also syncs. Each record reaches the
/// operating system (<see cref="IWritableFile.Flush"/>) before <see cref="Append"/> returns, so a process crash
/// never loses an appended record; <see cref="Sync"/> makes them survive a power loss.
/// Invariant: a segment closed by <see cref="Dispose"/> is never written again.
/// </remarks>
internal sealed class CommitLogWriter : IDisposable
{
    private readonly IWritableFile _file;

    public CommitLogWriter(IWritableFile file, long number)
    {
        _file = file;
        Number = number;
    }

    /// <summary>The segment's file number.</summary>
    public long Number { get; }

    /// <summary>Bytes written to the segment.</summary>
    public long Length => _file.Length;

    /// <summary>True when records were appended since the last sync.</summary>
    public bool HasUnsynced { get; private set; }

    /// <summary>
    /// Appends a record whose payload is <paramref name="record"/>[<see cref="LogFormat.HeaderSize"/>..]; the first
    /// <see cref="LogFormat.HeaderSize"/> bytes are room for the header, filled here, so the record goes out in one write.
    /// </summary>
    public void Append(Span<byte> record)
    {
        var payloadLength = record.Length - LogFormat.HeaderSize;
        BinaryPrimitives.WriteInt32LittleEndian(record[4..], payloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(record, Checksum.Crc32C(record[4..]));
        _file.Append(record);
        _file.Flush();
        HasUnsynced = true;
    }

    /// <summary>fsyncs the segment.</summary>
    public void Sync()
    {
        _file.Sync();
        HasUnsynced = false;
    }

    /// <summary>Closes the segment (after a sync if anything is unsynced).</summary>
    public void Dispose()
    {
        if (HasUnsynced)
        {
            Sync();
        }

        _file.Dispose();
    }
}
