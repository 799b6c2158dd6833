using System;
using System.IO;

namespace RingKV.Storage.Tests.Tables;

/// <summary>A table file in memory: written once through <see cref="IWritableFile"/>, then read positionally.</summary>
internal sealed class MemoryFile(string path) : IWritableFile, IRandomAccessFile
{
    private readonly MemoryStream _bytes = new();

    public string Path { get; } = path;

    public long Length => _bytes.Length;

    public void Append(ReadOnlySpan<byte> data) => _bytes.Write(data);

    public void Flush()
    {
    }

    public void Sync()
    {
    }

    public void SyncFlushed()
    {
    }

    public int Read(long offset, Span<byte> buffer)
    {
        if (offset >= _bytes.Length)
        {
            return 0;
        }

        var n = (int)Math.Min(buffer.Length, _bytes.Length - offset);
        _bytes.GetBuffer().AsSpan((int)offset, n).CopyTo(buffer);
        return n;
    }

    public void Dispose()
    {
    }
}
