using System;
using System.IO;

namespace RingKV.Server.Cluster;

/// <summary>A small file replaced whole and durably: written beside it, fsynced, renamed over it, the directory fsynced.</summary>
/// <remarks>A crash leaves the old file or the new one, never a torn one (the rename is atomic; the fsyncs order it).</remarks>
internal static class DurableFile
{
    /// <summary>Replaces <paramref name="path"/> with <paramref name="contents"/>; returns once both are on disk.</summary>
    public static void Replace(string path, ReadOnlySpan<byte> contents)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(contents);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        Storage.PosixFileSystem.Instance.SyncDirectory(Path.GetDirectoryName(path)!);
    }
}
