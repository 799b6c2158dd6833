using System;

namespace RingKV.Storage;

/// <summary>A point in the engine's history that reads can be pinned to; dispose to let compaction drop what it holds.</summary>
public sealed class StorageSnapshot : IDisposable
{
    private readonly Action<StorageSnapshot>? _release;
    private bool _released;

    internal StorageSnapshot(ulong sequence, Action<StorageSnapshot>? release)
    {
        Sequence = sequence;
        _release = release;
    }

    /// <summary>The last sequence number visible to this snapshot.</summary>
    public ulong Sequence { get; }

    /// <summary>Releases the snapshot.</summary>
    public void Dispose()
    {
        if (!_released)
        {
            _released = true;
            _release?.Invoke(this);
        }
    }
}
