using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace RingKV.Storage;

/// <summary>The real file system: <see cref="SafeFileHandle"/> and <see cref="RandomAccess"/>.</summary>
public sealed class PosixFileSystem : IFileSystem
{
    /// <summary>The shared instance.</summary>
    public static PosixFileSystem Instance { get; } = new();

    /// <inheritdoc/>
    public IWritableFile Create(string path) => new WritableFile(path);

    /// <inheritdoc/>
    public IRandomAccessFile OpenRead(string path) => new RandomAccessFile(path);

    /// <inheritdoc/>
    public bool Exists(string path) => File.Exists(path);

    /// <inheritdoc/>
    public void Delete(string path) => File.Delete(path);

    /// <inheritdoc/>
    public void Rename(string from, string to) => File.Move(from, to, overwrite: true);

    /// <inheritdoc/>
    public IReadOnlyList<string> List(string directory)
    {
        var names = new List<string>();
        foreach (var path in Directory.EnumerateFiles(directory))
        {
            names.Add(System.IO.Path.GetFileName(path));
        }

        return names;
    }

    /// <inheritdoc/>
    public void CreateDirectory(string path) => Directory.CreateDirectory(path);

    /// <inheritdoc/>
    public void SyncDirectory(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return; // NOTE: Windows has no directory fsync; renames there are journaled by NTFS.
        }

        var fd = Native.Open(path, Native.ReadOnly | Native.Directory);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {path} to sync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (Native.Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory {path} failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Native.Close(fd);
        }
    }

    /// <inheritdoc/>
    public void Truncate(string path, long length)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        RandomAccess.SetLength(handle, length);
        RandomAccess.FlushToDisk(handle);
    }

    /// <inheritdoc/>
    public IDisposable Lock(string path) =>
        // FileShare.None takes an advisory lock on Unix that a second process (or handle) cannot take.
        new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);

    private static partial class Native
    {
        public const int ReadOnly = 0;
        public const int Directory = 0x10000; // O_DIRECTORY on Linux x64/arm64

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int Fsync(int fd);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int fd);
    }

    /// <summary>Appends through a 64 KiB buffer.</summary>
    private sealed class WritableFile : IWritableFile
    {
        private const int BufferSize = 64 * 1024;
        private readonly SafeFileHandle _handle;
        private readonly byte[] _buffer = new byte[BufferSize];
        private int _buffered;
        private long _written;

        public WritableFile(string path)
        {
            Path = path;
            _handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        }

        public string Path { get; }

        public long Length => _written + _buffered;

        public void Append(ReadOnlySpan<byte> data)
        {
            if (data.Length > BufferSize - _buffered)
            {
                Flush();
                if (data.Length >= BufferSize)
                {
                    RandomAccess.Write(_handle, data, _written);
                    _written += data.Length;
                    return;
                }
            }

            data.CopyTo(_buffer.AsSpan(_buffered));
            _buffered += data.Length;
        }

        public void Flush()
        {
            if (_buffered == 0)
            {
                return;
            }

            RandomAccess.Write(_handle, _buffer.AsSpan(0, _buffered), _written);
            _written += _buffered;
            _buffered = 0;
        }

        public void Sync()
        {
            Flush();
            RandomAccess.FlushToDisk(_handle);
        }

        public void SyncFlushed() => RandomAccess.FlushToDisk(_handle);

        public void Dispose()
        {
            if (!_handle.IsClosed)
            {
                Flush();
                _handle.Dispose();
            }
        }
    }

    private sealed class RandomAccessFile : IRandomAccessFile
    {
        private readonly SafeFileHandle _handle;

        public RandomAccessFile(string path)
        {
            Path = path;
            _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Length = RandomAccess.GetLength(_handle);
        }

        public string Path { get; }

        public long Length { get; }

        public int Read(long offset, Span<byte> buffer)
        {
            var total = 0;
            while (total < buffer.Length)
            {
                var n = RandomAccess.Read(_handle, buffer[total..], offset + total);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }

            return total;
        }

        public void Dispose() => _handle.Dispose();
    }
}
