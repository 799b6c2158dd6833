using System.IO;

namespace RingKV.Bench;

/// <summary>Sums the sizes of the files under a directory.</summary>
internal static class DirectorySize
{
    /// <summary>Total bytes of every file below <paramref name="path"/>, recursively; 0 when it is missing.</summary>
    public static long Of(string path)
    {
        var info = new DirectoryInfo(path);
        if (!info.Exists)
        {
            return 0;
        }

        long total = 0;
        foreach (var file in info.EnumerateFiles("*", SearchOption.AllDirectories))
        {
            try
            {
                total += file.Length;
            }
            catch (FileNotFoundException)
            {
                // A background compaction deleted it between listing and sizing: it no longer counts.
            }
        }

        return total;
    }
}
