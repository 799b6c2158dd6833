namespace RingKV.Testing.Faults;

/// <summary>What a call to the <see cref="CrashableFileSystem"/> is about to change.</summary>
public enum FileOperationKind
{
    /// <summary>A file created, or truncated in place when it exists.</summary>
    Create,

    /// <summary>Bytes appended to a file.</summary>
    Append,

    /// <summary>A file's bytes made durable (<c>Sync</c> or <c>SyncFlushed</c>).</summary>
    Sync,

    /// <summary>A name removed.</summary>
    Delete,

    /// <summary>A file renamed (<see cref="FileOperation.Path"/> to <see cref="FileOperation.Destination"/>).</summary>
    Rename,

    /// <summary>A directory's names made durable.</summary>
    SyncDirectory,

    /// <summary>A file cut short and synced.</summary>
    Truncate,
}
