using System.Globalization;
using System.IO;

namespace RingKV.Storage.Versions;

/// <summary>Names of the files in an engine directory.</summary>
/// <remarks>
/// <c>NNNNNN.log</c> commit-log segments, <c>NNNNNN.sst</c> tables, <c>MANIFEST</c> the live file set,
/// <c>MANIFEST.tmp</c> a manifest being written, <c>LOCK</c> the process lock. Numbers come from one counter.
/// </remarks>
internal static class FileNames
{
    public const string Manifest = "MANIFEST";
    public const string ManifestTemp = "MANIFEST.tmp";
    public const string Lock = "LOCK";

    public static string Log(string directory, long number) => Path.Combine(directory, Name(number, ".log"));

    public static string Table(string directory, long number) => Path.Combine(directory, Name(number, ".sst"));

    public static string Name(long number, string extension) => number.ToString("D6", CultureInfo.InvariantCulture) + extension;

    /// <summary>Parses <c>NNNNNN.ext</c>; false for other names.</summary>
    public static bool TryParse(string name, out long number, out string extension)
    {
        number = 0;
        extension = Path.GetExtension(name);
        var stem = Path.GetFileNameWithoutExtension(name);
        return stem.Length > 0 && long.TryParse(stem, NumberStyles.None, CultureInfo.InvariantCulture, out number);
    }
}
