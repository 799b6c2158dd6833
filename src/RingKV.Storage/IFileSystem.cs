using System;
using System.Collections.Generic;

namespace RingKV.Storage;

/// <summary>The only way the engine reaches the disk, so tests can fail or crash it.</summary>
/// <remarks>Paths are full paths as the engine builds them with <see cref="System.IO.Path.Combine(string, string)"/>.</remarks>
public interface IFileSystem
{
    /// <summary>Creates (or truncates) a file for appending.</summary>
    IWritableFile Create(string path);

    /// <summary>Opens an existing file for positional reads.</summary>
    IRandomAccessFile OpenRead(string path);

    /// <summary>True when the file exists.</summary>
    bool Exists(string path);

    /// <summary>Deletes a file; no error when it is missing.</summary>
    void Delete(string path);

    /// <summary>Atomically renames <paramref name="from"/> to <paramref name="to"/>, replacing it.</summary>
    void Rename(string from, string to);

    /// <summary>Names (not paths) of the files in a directory.</summary>
    IReadOnlyList<string> List(string directory);

    /// <summary>Creates a directory and its parents.</summary>
    void CreateDirectory(string path);

    /// <summary>Makes renames and creations in a directory durable.</summary>
    void SyncDirectory(string path);

    /// <summary>Truncates a file to <paramref name="length"/> bytes and syncs it.</summary>
    void Truncate(string path, long length);

    /// <summary>Takes an exclusive lock on the file so that two processes cannot open one engine.</summary>
    IDisposable Lock(string path);
}

/// <summary>A file being written from start to end.</summary>
/// <remarks>Not thread-safe: one writer at a time.</remarks>
public interface IWritableFile : IDisposable
{
    /// <summary>The file's path.</summary>
    string Path { get; }

    /// <summary>Bytes appended so far.</summary>
    long Length { get; }

    /// <summary>Appends bytes (possibly buffered in the process).</summary>
    void Append(ReadOnlySpan<byte> data);

    /// <summary>Hands buffered bytes to the operating system (survives a process crash, not a power loss).</summary>
    void Flush();

    /// <summary>Flushes and fsyncs (survives a power loss).</summary>
    void Sync();

    /// <summary>
    /// fsyncs the bytes already handed to the operating system, leaving the process buffer alone; the one
    /// call that may run on another thread while <see cref="Append"/> and <see cref="Flush"/> run.
    /// </summary>
    void SyncFlushed();
}

/// <summary>A file read at arbitrary offsets.</summary>
/// <remarks>Thread-safe: positional reads share no state.</remarks>
public interface IRandomAccessFile : IDisposable
{
    /// <summary>The file's path.</summary>
    string Path { get; }

    /// <summary>The file's length when it was opened.</summary>
    long Length { get; }

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes at <paramref name="offset"/>; returns bytes read (short only at end of file).</summary>
    int Read(long offset, Span<byte> buffer);
}
