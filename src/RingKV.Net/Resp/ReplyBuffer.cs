using System;
using System.Buffers;

namespace RingKV.Net.Resp;

/// <summary>A connection's reply bytes between two sends: a growable buffer rented from <see cref="ArrayPool{T}.Shared"/>.</summary>
/// <remarks>Not thread-safe. <see cref="Clear"/> gives back a buffer that one big reply grew, so an idle connection keeps little.</remarks>
internal sealed class ReplyBuffer : IBufferWriter<byte>, IDisposable
{
    private readonly int _initialBytes;
    private byte[] _buffer;
    private int _written;

    public ReplyBuffer(int initialBytes)
    {
        _initialBytes = initialBytes;
        _buffer = ArrayPool<byte>.Shared.Rent(initialBytes);
    }

    /// <summary>The bytes written since the last <see cref="Clear"/>.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public int WrittenCount => _written;

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length - _written);
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <summary>Forgets the written bytes; a buffer grown past <paramref name="retainBytes"/> is exchanged for a small one.</summary>
    public void Clear(int retainBytes)
    {
        _written = 0;
        if (_buffer.Length > retainBytes)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(_initialBytes);
        }
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _written = 0;
    }

    private void Ensure(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= needed)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _written + needed));
        _buffer.AsSpan(0, _written).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}
