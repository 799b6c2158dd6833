using RingKV.Storage.Engine;
using RingKV.Storage.Tables;

namespace RingKV.Storage;

public sealed partial class StorageEngine
{
    /// <summary>
    /// Opens the reader of a table file and arranges its end: when the last version listing it goes, the reader closes
    /// and, once compaction made the file obsolete, its cached blocks and the file go too.
    /// </summary>
    private void OpenReader(FileMeta file)
    {
        var path = FileNames.Table(_directory, file.Number);
        file.Reader = TableReader.Open(_fs.OpenRead(path), (ulong)file.Number, _cache, _stats);
        var fs = _fs;
        var cache = _cache;
        file.OnUnreferenced = f =>
        {
            f.Reader?.Dispose();
            if (f.Obsolete)
            {
                cache.EvictFile((ulong)f.Number);
                fs.Delete(path);
            }
        };
    }

    /// <summary>A file number never used in this directory (tables and log segments share the sequence).</summary>
    private long NewFileNumber()
    {
        lock (_mutex)
        {
            return _nextFileNumber++;
        }
    }

    /// <summary>How tables of <paramref name="level"/> are built: levels 3 and deeper hold cold data and use the cold compression.</summary>
    private TableBuilderOptions BuilderOptions(int level) => new()
    {
        BlockSizeBytes = _options.BlockSizeBytes,
        RestartInterval = _options.BlockRestartInterval,
        Compression = level >= 3 ? _options.ColdCompression : _options.Compression,
        BloomBitsPerKey = _options.BloomBitsPerKey,
    };
}
