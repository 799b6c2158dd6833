namespace RingKV.Testing.Faults;

/// <summary>Sees a <see cref="CrashableFileSystem"/> call before it takes effect (see <see cref="CrashableFileSystem.BeforeOperation"/>).</summary>
public delegate void FileOperationHook(FileOperation operation);
