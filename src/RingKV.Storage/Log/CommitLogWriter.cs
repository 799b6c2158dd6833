using System;
using System.Buffers.Binary;
using System.Threading;
using RingKV.Core.Hashing;

namespace RingKV.Storage.Log;

/// <summary>Appends checksummed records to one commit-log segment.</summary>
/// <remarks>
/// Only the engine's write leader appends, syncs with <see cref="Sync"/> and disposes. Each record reaches
/// the operating system (<see cref="IWritableFile.Flush"/>) before <see cref="Append"/> returns, so a process
/// crash never loses an appended record; a sync makes them survive a power loss. The one call safe from
/// another thread is <see cref="SyncAppended"/>: the periodic syncer fsyncs while the leader goes on
/// appending, so writers never queue behind an fsync they do not wait for.
/// Invariants: (1) a segment closed by <see cref="Dispose"/> is never written or synced again; (2) the
/// synced length only grows and never passes the appended length.
/// </remarks>
internal sealed class CommitLogWriter : IDisposable
{
    private readonly IWritableFile _file;
    private readonly Lock _gate = new(); // a sync against Dispose
    private long _appended;
    private long _synced;
    private bool _disposed;

    public CommitLogWriter(IWritableFile file, long number)
    {
        _file = file;
        Number = number;
    }

    /// <summary>The segment's file number.</summary>
    public long Number { get; }

    /// <summary>Bytes written to the segment.</summary>
    public long Length => _file.Length;

    /// <summary>Bytes appended since the last sync began.</summary>
    public long UnsyncedBytes => Volatile.Read(ref _appended) - Volatile.Read(ref _synced);

    /// <summary>True when records were appended since the last sync began.</summary>
    public bool HasUnsynced => UnsyncedBytes > 0;

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
        Volatile.Write(ref _appended, _file.Length);
    }

    /// <summary>fsyncs the segment (leader only).</summary>
    public void Sync()
    {
        lock (_gate)
        {
            SyncLocked(flushBuffer: true);
        }
    }

    /// <summary>
    /// fsyncs the records appended before the call; safe while the leader appends. A segment already
    /// disposed is skipped: its disposal synced it.
    /// </summary>
    public void SyncAppended()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                SyncLocked(flushBuffer: false);
            }
        }
    }

    /// <summary>Closes the segment (after a sync if anything is unsynced).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            if (HasUnsynced)
            {
                SyncLocked(flushBuffer: true);
            }

            _disposed = true;
            _file.Dispose();
        }
    }

    /// <summary>fsyncs and records how far: what was appended when the sync began. Requires: _gate.</summary>
    private void SyncLocked(bool flushBuffer)
    {
        var upTo = Volatile.Read(ref _appended);
        if (flushBuffer)
        {
            _file.Sync();
        }
        else
        {
            _file.SyncFlushed();
        }

        if (upTo > _synced)
        {
            Volatile.Write(ref _synced, upTo);
        }
    }
}
