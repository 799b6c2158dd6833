using System;

namespace RingKV.Testing.Faults;

/// <summary>A call to the <see cref="CrashableFileSystem"/>, seen by its hook before it takes effect.</summary>
/// <remarks><see cref="Data"/> is the caller's buffer and valid only during the hook.</remarks>
public readonly ref struct FileOperation(FileOperationKind kind, string path, string? destination, ReadOnlySpan<byte> data)
{
    public FileOperationKind Kind { get; } = kind;

    /// <summary>The file or directory operated on (for a rename, its source).</summary>
    public string Path { get; } = path;

    /// <summary>A rename's new path; null for every other kind.</summary>
    public string? Destination { get; } = destination;

    /// <summary>An append's bytes; empty for every other kind.</summary>
    public ReadOnlySpan<byte> Data { get; } = data;

    public override string ToString() => Destination is null ? $"{Kind} {Path}" : $"{Kind} {Path} -> {Destination}";
}
