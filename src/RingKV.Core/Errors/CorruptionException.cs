using System;

namespace RingKV.Core.Errors;

/// <summary>Data on disk is damaged; names the file and the offset where the damage was found.</summary>
public sealed class CorruptionException : RingKVException
{
    /// <summary>Creates the exception.</summary>
    public CorruptionException(string path, long offset, string what)
        : base(ErrorCode.Corruption, $"corruption in {path} at offset {offset}: {what}")
    {
        Path = path;
        Offset = offset;
    }

    /// <summary>Creates the exception.</summary>
    public CorruptionException()
        : this("?", -1, "unknown")
    {
    }

    /// <summary>Creates the exception.</summary>
    public CorruptionException(string message)
        : this("?", -1, message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public CorruptionException(string message, Exception inner)
        : base(ErrorCode.Corruption, message, inner)
    {
        Path = "?";
        Offset = -1;
    }

    /// <summary>The damaged file.</summary>
    public string Path { get; }

    /// <summary>Byte offset of the damage in <see cref="Path"/>, -1 if unknown.</summary>
    public long Offset { get; }
}
