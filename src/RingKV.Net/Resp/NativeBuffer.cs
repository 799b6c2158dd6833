using System;
using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading;

namespace RingKV.Net.Resp;

/// <summary>Bytes outside the managed heap, mapped from the OS and given back to it on <see cref="Release"/>.</summary>
/// <remarks>
/// Not thread-safe. For buffers one big request or reply grows: on Linux the pages come from an anonymous
/// <c>mmap</c> and go back with <c>munmap</c>, so the process's RSS falls the moment the buffer is released, and
/// only pages written to are resident. Elsewhere <see cref="NativeMemory"/> serves them.
/// Rejected alternatives: <see cref="ArrayPool{T}.Shared"/> keeps arrays of up to 1 GiB in per-core buckets for
/// good, so one 300 MB request pinned hundreds of MB; a plain managed array is only returned to the OS after
/// several full collections (the regions collector decommits free regions a part per collection), and until a
/// collection runs it adds to the peak; <c>malloc</c> keeps freed chunks below its mmap threshold (raised up to
/// 32 MiB by the frees themselves) in its arenas.
/// Ownership: the creator calls <see cref="Release"/> exactly once, after the last use of any
/// <see cref="MemoryManager{T}.Memory"/> or span over it; a use after that reads unmapped memory and crashes the process.
/// </remarks>
internal sealed unsafe partial class NativeBuffer : MemoryManager<byte>
{
    /// <summary>Mappings are whole pages of this size.</summary>
    public const int PageBytes = 4096;
    private static long s_mappedBytes;

    private byte* _pointer;
    private readonly int _length;

    /// <summary>Maps at least <paramref name="minimumBytes"/> bytes (rounded up to whole pages).</summary>
    /// <exception cref="InsufficientMemoryException">The OS refused the mapping.</exception>
    public NativeBuffer(int minimumBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(minimumBytes);
        var rounded = ((long)minimumBytes + PageBytes - 1) / PageBytes * PageBytes;
        _length = (int)Math.Min(rounded, Array.MaxLength);
        if (OperatingSystem.IsLinux())
        {
            var address = Native.Mmap(IntPtr.Zero, (nuint)_length, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            if (address == MapFailed)
            {
                throw new InsufficientMemoryException($"mmap of {_length} bytes failed (errno {Marshal.GetLastPInvokeError()})");
            }

            _pointer = (byte*)address;
        }
        else
        {
            _pointer = (byte*)NativeMemory.Alloc((nuint)_length);
        }

        Interlocked.Add(ref s_mappedBytes, _length);
    }

    /// <summary>Bytes of every live <see cref="NativeBuffer"/> in the process (for INFO and tests).</summary>
    public static long MappedBytes => Volatile.Read(ref s_mappedBytes);

    /// <summary>The usable length: the asked-for size rounded up to whole pages.</summary>
    public int Length => _length;

    /// <inheritdoc/>
    public override Span<byte> GetSpan()
    {
        Debug.Assert(_pointer is not null, "NativeBuffer used after Release");
        return new Span<byte>(_pointer, _length);
    }

    /// <inheritdoc/>
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        return new MemoryHandle(_pointer + elementIndex); // native memory never moves
    }

    /// <inheritdoc/>
    public override void Unpin()
    {
    }

    /// <summary>Gives the pages back to the OS; safe to call more than once.</summary>
    public void Release()
    {
        var pointer = _pointer;
        if (pointer is null)
        {
            return;
        }

        _pointer = null;
        if (OperatingSystem.IsLinux())
        {
            var failed = Native.Munmap((IntPtr)pointer, (nuint)_length) != 0;
            Debug.Assert(!failed, "munmap failed");
        }
        else
        {
            NativeMemory.Free(pointer);
        }

        Interlocked.Add(ref s_mappedBytes, -_length);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing) => Release();

    private const int ProtRead = 0x1;
    private const int ProtWrite = 0x2;
    private const int MapPrivate = 0x02;
    private const int MapAnonymous = 0x20;
    private static readonly IntPtr MapFailed = new(-1);

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
        public static partial IntPtr Mmap(IntPtr address, nuint length, int protection, int flags, int fd, long offset);

        [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
        public static partial int Munmap(IntPtr address, nuint length);
    }
}
