using RingKV.Storage.Tables;
using RingKV.Storage.Versions;

namespace RingKV.Storage;

public sealed partial class StorageEngine
{
    /// <summary>
    /// Opens table <paramref name="number"/> and returns its live record: the size, keys and sequences
    /// <paramref name="listed"/> gives (recovery, from the manifest), else the table's own (a table just written); the
    /// entry and tombstone counts always from the table's properties, which the manifest does not keep.
    /// </summary>
    /// <remarks>
    /// When the last version listing the table goes, its reader closes and, once compaction made the file obsolete, its
    /// cached blocks and the file go too.
    /// </remarks>
    private FileMeta OpenTable(long number, FileMeta? listed = null)
    {
        var path = FileNames.Table(_directory, number);
        var reader = TableReader.Open(_fs.OpenRead(path), (ulong)number, _cache, _stats);
        var props = reader.Properties;
        var file = listed is null
            ? new FileMeta(number, props.FileBytes, props.SmallestKey, props.LargestKey, props.MinSequence, props.MaxSequence, props.EntryCount, props.TombstoneCount)
            : new FileMeta(number, listed.Size, listed.Smallest, listed.Largest, listed.MinSequence, listed.MaxSequence, props.EntryCount, props.TombstoneCount);
        file.Reader = reader;
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
        return file;
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
