using System;
using System.Buffers;
using System.Numerics;

namespace RingKV.Net.Resp;

/// <summary>The storage under one connection's receive or reply buffer: a pooled array while small, mapped pages when one big request or reply grows it.</summary>
/// <remarks>
/// Not thread-safe. Up to <see cref="PooledMaxBytes"/> the bytes are an array rented from
/// <see cref="ArrayPool{T}.Shared"/> (the common case: no syscall, no allocation); beyond it a
/// <see cref="NativeBuffer"/>, which gives its pages back to the OS as soon as it is released, so a burst leaves
/// no pooled giant behind. Ownership: the owner calls <see cref="Release"/> (or Dispose) once; <see cref="Resize"/> releases
/// the storage it replaces. Memory and spans taken before a resize or release must not be used after it.
/// </remarks>
internal sealed class ConnectionBuffer : IDisposable
{
    /// <summary>Largest size served from <see cref="ArrayPool{T}.Shared"/>; larger sizes are mapped.</summary>
    public const int PooledMaxBytes = 1024 * 1024;

    private byte[]? _array;
    private NativeBuffer? _native;
    private Memory<byte> _memory;

    /// <summary>Allocates at least <paramref name="minimumBytes"/>.</summary>
    public ConnectionBuffer(int minimumBytes)
    {
        Allocate(minimumBytes);
    }

    /// <summary>The whole storage.</summary>
    public Memory<byte> Memory => _memory;

    /// <summary>The whole storage as a span; the array path without the checks of <see cref="Memory{T}.Span"/>.</summary>
    public Span<byte> Span => _array is not null ? _array : _memory.Span;

    /// <summary>Usable bytes (at least what was asked for: pools round up to powers of two, mappings to pages).</summary>
    public int Capacity => _memory.Length;

    /// <summary>Whether the storage is mapped pages rather than a pooled array.</summary>
    public bool IsNative => _native is not null;

    /// <summary>The <see cref="Capacity"/> a buffer asked for <paramref name="minimumBytes"/> gets.</summary>
    public static int CapacityFor(int minimumBytes) => minimumBytes <= PooledMaxBytes
        ? (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(minimumBytes, 16))
        : (int)Math.Min(((long)minimumBytes + NativeBuffer.PageBytes - 1) / NativeBuffer.PageBytes * NativeBuffer.PageBytes, Array.MaxLength);

    /// <summary>Replaces the storage with one of at least <paramref name="minimumBytes"/>, moving bytes [<paramref name="from"/>, <paramref name="to"/>) to its front.</summary>
    /// <remarks>Requires: 0 &lt;= from &lt;= to &lt;= Capacity and to - from &lt;= minimumBytes.</remarks>
    public void Resize(int minimumBytes, int from, int to)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(to - from, minimumBytes);
        var oldArray = _array;
        var oldNative = _native;
        var oldMemory = _memory;
        Allocate(minimumBytes);
        oldMemory.Span[from..to].CopyTo(Span);
        Free(oldArray, oldNative);
    }

    /// <summary>Gives the storage back (to the pool or the OS); the buffer is empty afterwards.</summary>
    public void Release()
    {
        Free(_array, _native);
        _array = null;
        _native = null;
        _memory = default;
    }

    /// <summary>Same as <see cref="Release"/>.</summary>
    public void Dispose() => Release();

    private void Allocate(int minimumBytes)
    {
        if (minimumBytes <= PooledMaxBytes)
        {
            _array = ArrayPool<byte>.Shared.Rent(minimumBytes);
            _native = null;
            _memory = _array;
        }
        else
        {
            _array = null;
            _native = new NativeBuffer(minimumBytes);
            _memory = _native.Memory;
        }
    }

    private static void Free(byte[]? array, NativeBuffer? native)
    {
        if (array is not null)
        {
            ArrayPool<byte>.Shared.Return(array);
        }

        native?.Release();
    }
}
