using System;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using RingKV.Core.Encoding;
using RingKV.Core.Errors;
using RingKV.Storage.Cache;
using RingKV.Storage.Compression;
using RingKV.Storage.Filters;
using RingKV.Storage.Keys;

namespace RingKV.Storage.Tables;

/// <summary>Reads one table file: point lookups through filter, index and blocks, and ordered scans.</summary>
/// <remarks>
/// Thread-safe: the index and filter are immutable and the file is read positionally. Owns the file and disposes it.
/// Iterators and values handed out must not be used after <see cref="Dispose"/> reaches them through the file
/// (values already returned stay valid: they point into immutable block arrays).
/// Disposing does not touch the block cache: whoever deletes the file may call <see cref="BlockCache.EvictFile"/>,
/// or leave its blocks to age out of the LRU.
/// </remarks>
internal sealed class TableReader : IDisposable
{
    [ThreadStatic]
    private static BlockIterator? s_getIterator;

    [ThreadStatic]
    private static byte[]? s_newestKey;

    private readonly IRandomAccessFile _file;
    private readonly BlockCache? _cache;
    private readonly StorageStatistics _stats;
    private readonly BloomFilter? _filter;

    // The index, parsed once: the last key of data block i is _indexKeys[_indexKeyStarts[i].._indexKeyStarts[i + 1]].
    private readonly byte[] _indexKeys;
    private readonly int[] _indexKeyStarts;

    // The token (first 8 bytes, big-endian) of each block's last key: the index search runs over this
    // small array and reads a key only when the tokens tie, instead of touching a key per probe.
    private readonly ulong[] _indexTokens;
    private readonly BlockHandle[] _blocks;

    // Data block i's cache entry while it is cached (kept by the cache): a hit is one array read, no lock.
    private readonly BlockCache.Entry?[]? _cached;
    private readonly long _dataEnd;

    private TableReader(
        IRandomAccessFile file, ulong fileNumber, BlockCache? cache, StorageStatistics stats, TableProperties properties,
        BloomFilter? filter, byte[] indexKeys, int[] indexKeyStarts, BlockHandle[] blocks, long dataEnd)
    {
        _file = file;
        FileNumber = fileNumber;
        _cache = cache;
        _stats = stats;
        Properties = properties;
        _filter = filter;
        _indexKeys = indexKeys;
        _indexKeyStarts = indexKeyStarts;
        _blocks = blocks;
        _dataEnd = dataEnd;
        _indexTokens = new ulong[blocks.Length];
        for (var i = 0; i < blocks.Length; i++)
        {
            _indexTokens[i] = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(indexKeys.AsSpan(indexKeyStarts[i]));
        }

        _cached = cache is null ? null : new BlockCache.Entry?[blocks.Length];
        MetadataBytes = indexKeys.Length + (indexKeyStarts.Length * sizeof(int)) + (blocks.Length * (16 + sizeof(ulong) + 8)) + (filter?.SizeBytes ?? 0);
    }

    /// <summary>The table's properties.</summary>
    public TableProperties Properties { get; }

    /// <summary>Bytes of index and filter held in memory.</summary>
    public long MetadataBytes { get; }

    /// <summary>The table's file number (its name and cache key).</summary>
    public ulong FileNumber { get; }

    /// <summary>The table's path.</summary>
    public string Path => _file.Path;

    /// <summary>Data blocks in the table.</summary>
    public int DataBlockCount => _blocks.Length;

    /// <summary>True when the table has a bloom filter.</summary>
    public bool HasFilter => _filter is not null;

    /// <summary>
    /// Opens a table: reads and checks the footer, properties, index and filter. Takes ownership of
    /// <paramref name="file"/> (disposed with the reader, or here when opening fails).
    /// </summary>
    /// <exception cref="CorruptionException">The file is not a valid table.</exception>
    public static TableReader Open(IRandomAccessFile file, ulong fileNumber, BlockCache? cache, StorageStatistics stats)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(stats);
        try
        {
            return OpenCore(file, fileNumber, cache, stats);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static TableReader OpenCore(IRandomAccessFile file, ulong fileNumber, BlockCache? cache, StorageStatistics stats)
    {
        var path = file.Path;
        var length = file.Length;
        if (length < TableFormat.FooterSize)
        {
            ThrowHelper.Corruption(path, 0, $"file of {length} bytes is too short for a table footer");
        }

        var footerOffset = length - TableFormat.FooterSize;
        Span<byte> footer = stackalloc byte[TableFormat.FooterSize];
        var read = file.Read(footerOffset, footer);
        TableFormat.ReadFooter(footer[..read], path, footerOffset, out var filterHandle, out var indexHandle, out var propertiesHandle);

        var (propertiesData, propertiesLength) = ReadPayload(file, propertiesHandle, footerOffset);
        var properties = TableProperties.Decode(propertiesData.AsSpan(0, propertiesLength), length, path, propertiesHandle.Offset);

        var (indexData, indexLength) = ReadPayload(file, indexHandle, footerOffset);
        var indexBlock = new Block(indexData, indexLength, path, indexHandle.Offset);
        ParseIndex(indexBlock, out var indexKeys, out var indexKeyStarts, out var blocks);
        var dataEnd = Math.Min(filterHandle.Size == 0 ? indexHandle.Offset : filterHandle.Offset, indexHandle.Offset);
        foreach (var handle in blocks)
        {
            if (handle.Offset < 0 || handle.Offset + handle.Size + TableFormat.BlockTrailerSize > dataEnd)
            {
                ThrowHelper.Corruption(path, indexHandle.Offset, $"index points at a block outside the data area ({handle.Offset}, {handle.Size})");
            }
        }

        BloomFilter? filter = null;
        if (filterHandle.Size != 0)
        {
            var (filterData, filterLength) = ReadPayload(file, filterHandle, footerOffset);
            if (!BloomFilter.TryCreate(filterData, filterLength, out filter))
            {
                ThrowHelper.Corruption(path, filterHandle.Offset, "unknown or malformed filter block");
            }
        }

        return new TableReader(file, fileNumber, cache, stats, properties, filter, indexKeys, indexKeyStarts, blocks, dataEnd);
    }

    /// <summary>
    /// Finds the newest version of <paramref name="seekKey"/>'s ordered key with sequence ≤ the seek sequence.
    /// Requires: <paramref name="seekKey"/> is an internal key (ordered key + trailer of (snapshot, <see cref="ValueKind.Seek"/>)).
    /// </summary>
    /// <remarks>
    /// The hot path: allocation-free on a cache hit (a per-thread block iterator; the value is a view of the immutable block).
    /// Tombstones are returned like any record (kind Delete). A "maybe" from the filter counts as a false positive only when
    /// the table holds no version of the key at all.
    /// </remarks>
    /// <exception cref="CorruptionException">A block on the way is damaged.</exception>
    public bool TryGet(ReadOnlySpan<byte> seekKey, out ValueKind kind, out ulong sequence, out ReadOnlyMemory<byte> value)
    {
        Debug.Assert(seekKey.Length >= InternalKey.Overhead);
        kind = default;
        sequence = 0;
        value = default;
        if (_filter is not null)
        {
            _stats._bloomChecks.Increment();
            if (!_filter.MayContain(InternalKey.TokenOf(seekKey).Value))
            {
                _stats._bloomNegatives.Increment();
                return false;
            }
        }

        var found = false;
        var index = FindBlock(seekKey);
        if (index < _blocks.Length)
        {
            var block = GetBlock(index, fillCache: true);
            var it = s_getIterator ??= new BlockIterator();
            it.Reset(block);
            try
            {
                it.Seek(seekKey);
                if (it.Valid && InternalKey.CompareOrdered(it.Key, seekKey) == 0)
                {
                    var key = it.Key;
                    kind = InternalKey.Kind(key);
                    sequence = InternalKey.Sequence(key);
                    value = new ReadOnlyMemory<byte>(block.Data, it.ValueOffset, it.ValueLength);
                    found = true;
                }
            }
            finally
            {
                it.Reset(null);
            }
        }

        if (!found && _filter is not null && !ContainsOrderedKey(seekKey, index))
        {
            StorageStatistics.Increment(ref _stats._bloomFalsePositives);
        }

        return found;
    }

    /// <summary>
    /// True when the table holds any version of <paramref name="seekKey"/>'s ordered key, given that none at or below the
    /// seek sequence exists and <paramref name="seekIndex"/> is the block <see cref="FindBlock"/> chose for the seek key.
    /// Runs only on a miss the filter let through, so that a snapshot older than every version is not counted as a
    /// false positive.
    /// </summary>
    private bool ContainsOrderedKey(ReadOnlySpan<byte> seekKey, int seekIndex)
    {
        var scratch = s_newestKey;
        if (scratch is null || scratch.Length < seekKey.Length)
        {
            scratch = s_newestKey = new byte[Math.Max(seekKey.Length, 256)];
        }

        var newest = scratch.AsSpan(0, seekKey.Length);
        InternalKey.Write(newest, InternalKey.Ordered(seekKey), InternalKey.MaxSequence, ValueKind.Seek);
        var index = FindBlock(newest);
        if (index < seekIndex)
        {
            // That block's last key is ≥ newest and < seekKey: a newer version of the same ordered key.
            return true;
        }

        if (index >= _blocks.Length)
        {
            return false;
        }

        var block = GetBlock(index, fillCache: true);
        var it = s_getIterator ??= new BlockIterator();
        it.Reset(block);
        try
        {
            it.Seek(newest);
            return it.Valid && InternalKey.CompareOrdered(it.Key, seekKey) == 0;
        }
        finally
        {
            it.Reset(null);
        }
    }

    /// <summary>True when the filter cannot rule out the token (always true without a filter). Counts nothing.</summary>
    public bool MayContainToken(ulong token) => _filter is null || _filter.MayContain(token);

    /// <summary>A new ordered iterator over every record; <paramref name="fillCache"/> false keeps one-pass bulk scans from evicting hot blocks.</summary>
    public IInternalIterator NewIterator(bool fillCache = true) => new TableIterator(this, fillCache);

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();

    /// <summary>Index of the first data block whose last key is ≥ <paramref name="internalKey"/>; the block count when none.</summary>
    internal int FindBlock(ReadOnlySpan<byte> internalKey)
    {
        // Blocks whose last token is below the key's end before the key; above it, after. Ties compare whole keys.
        var token = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(internalKey);
        int left = 0, right = _indexTokens.Length;
        while (left < right)
        {
            var mid = (left + right) >>> 1;
            if (_indexTokens[mid] < token)
            {
                left = mid + 1;
            }
            else
            {
                right = mid;
            }
        }

        while (left < _indexTokens.Length && _indexTokens[left] == token)
        {
            var lastKey = _indexKeys.AsSpan(_indexKeyStarts[left], _indexKeyStarts[left + 1] - _indexKeyStarts[left]);
            if (InternalKey.Compare(lastKey, internalKey) >= 0)
            {
                break;
            }

            left++;
        }

        return left;
    }

    /// <summary>Where data block <paramref name="index"/> is stored (for tools and tests).</summary>
    internal BlockHandle DataBlockHandle(int index) => _blocks[index];

    /// <summary>Data block <paramref name="index"/> when the cache holds it (counted as a hit), else null (a miss).</summary>
    private Block? TryGetCached(int index)
    {
        if (_cached is not null && BlockCache.TryGetFromSlot(_cached, index) is Block cached)
        {
            _stats._cacheHits.Increment();
            return cached;
        }

        _stats._cacheMisses.Increment();
        return null;
    }

    /// <summary>Data block <paramref name="index"/>, from the cache or the file.</summary>
    internal Block GetBlock(int index, bool fillCache)
    {
        var handle = _blocks[index];
        if (TryGetCached(index) is { } cached)
        {
            return cached;
        }

        var cacheIt = fillCache && _cache is not null;
        var (data, length) = ReadPayload(_file, handle, _dataEnd, longLived: cacheIt);
        _stats._blockReads.Increment();
        var block = new Block(data, length, _file.Path, handle.Offset);
        if (cacheIt)
        {
            _cache!.Insert(FileNumber, handle.Offset, block, _cached, index);
        }

        return block;
    }

    /// <summary>
    /// Reads a block's payload and trailer, checks the CRC and decompresses; returns an array whose first
    /// <c>length</c> bytes are the block. <paramref name="limit"/> is where the area holding the block ends.
    /// </summary>
    /// <remarks>
    /// A <paramref name="longLived"/> block (one the cache will keep) goes to the pinned object heap, which the
    /// collector never moves and only sweeps in full collections. On the ordinary heap every cached block would be
    /// copied twice, gen0 to gen1 to gen2, and count against the gen0 budget, so reads that miss on every block (as
    /// after a compaction) would drive collections whose pauses land in the read latency.
    /// </remarks>
    private static (byte[] Data, int Length) ReadPayload(IRandomAccessFile file, BlockHandle handle, long limit, bool longLived = false)
    {
        var stored = StoredSize(file.Path, handle, limit);

        // Compressed blocks are read into a pooled buffer and decompressed into the block's own array, so
        // a cache miss allocates only what the cache keeps.
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(stored);
        try
        {
            if (file.Read(handle.Offset, buffer.AsSpan(0, stored)) != stored)
            {
                ThrowHelper.Corruption(file.Path, handle.Offset, "short read of block (truncated file)");
            }

            return DecodePayload(file.Path, handle, buffer.AsSpan(0, stored), reuse: null, longLived);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Bytes a block occupies in the file (payload and trailer), checked to lie before <paramref name="limit"/>.</summary>
    private static int StoredSize(string path, BlockHandle handle, long limit)
    {
        var stored = handle.Size + TableFormat.BlockTrailerSize;
        if (handle.Offset < 0 || handle.Size < 0 || handle.Offset + stored > limit)
        {
            ThrowHelper.Corruption(path, handle.Offset, $"block handle ({handle.Offset}, {handle.Size}) outside the file");
        }

        return stored;
    }

    /// <summary>
    /// Checks a stored block's CRC and decompresses it into <paramref name="reuse"/> when that is large enough, else into
    /// a new array (pinned when <paramref name="longLived"/>, see <see cref="ReadPayload"/>).
    /// </summary>
    private static (byte[] Data, int Length) DecodePayload(string path, BlockHandle handle, ReadOnlySpan<byte> stored, byte[]? reuse, bool longLived)
    {
        var kindByte = stored[handle.Size];
        var expected = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(stored[(handle.Size + 1)..]);
        if (TableFormat.BlockChecksum(stored[..handle.Size], kindByte) != expected)
        {
            ThrowHelper.Corruption(path, handle.Offset, "block checksum mismatch");
        }

        var kind = (CompressionKind)kindByte;
        if (kind == CompressionKind.None)
        {
            var copy = Destination(handle.Size);
            stored[..handle.Size].CopyTo(copy);
            return (copy, handle.Size);
        }

        if (kind is not (CompressionKind.Lz4 or CompressionKind.Zstd))
        {
            ThrowHelper.Corruption(path, handle.Offset, $"unknown block compression kind {kindByte}");
        }

        if (!Varint.TryRead32(stored[..handle.Size], out var rawLength, out var prefix) || rawLength > TableFormat.MaxBlockBytes)
        {
            ThrowHelper.Corruption(path, handle.Offset, "bad uncompressed block length");
        }

        var raw = Destination((int)rawLength);
        if (!BlockCompressor.TryDecompress(kind, stored[prefix..handle.Size], raw.AsSpan(0, (int)rawLength)))
        {
            ThrowHelper.Corruption(path, handle.Offset, $"block does not decompress ({kind})");
        }

        return (raw, (int)rawLength);

        // Filled whole by the copy or the decompressor: no zeroing.
        byte[] Destination(int length) =>
            reuse is not null && reuse.Length >= length ? reuse : GC.AllocateUninitializedArray<byte>(length, pinned: longLived);
    }

    /// <summary>
    /// Data block <paramref name="index"/> for a one-pass reader (compaction): from the cache when it is there, else
    /// decoded from <paramref name="readAhead"/>'s buffer into its reused array, without filling the cache. The block
    /// is valid until the next call with the same <paramref name="readAhead"/>.
    /// </summary>
    internal Block GetBlockSequential(int index, ReadAhead readAhead)
    {
        var handle = _blocks[index];
        if (TryGetCached(index) is { } cached)
        {
            return cached;
        }

        _stats._blockReads.Increment();
        var stored = StoredSize(_file.Path, handle, _dataEnd);
        if (stored > readAhead.Buffer.Length)
        {
            var (big, bigLength) = ReadPayload(_file, handle, _dataEnd);
            return new Block(big, bigLength, _file.Path, handle.Offset);
        }

        if (handle.Offset < readAhead.Start || handle.Offset + stored > readAhead.Start + readAhead.Count)
        {
            var want = (int)Math.Min(readAhead.Buffer.Length, _dataEnd - handle.Offset);
            readAhead.Start = handle.Offset;
            readAhead.Count = _file.Read(handle.Offset, readAhead.Buffer.AsSpan(0, want));
            if (readAhead.Count < stored)
            {
                readAhead.Count = 0;
                ThrowHelper.Corruption(_file.Path, handle.Offset, "short read of block (truncated file)");
            }
        }

        var at = (int)(handle.Offset - readAhead.Start);
        var (data, length) = DecodePayload(_file.Path, handle, readAhead.Buffer.AsSpan(at, stored), readAhead.Decoded, longLived: false);
        readAhead.Decoded = data;
        return new Block(data, length, _file.Path, handle.Offset);
    }

    /// <summary>
    /// The buffers of a one-pass reader: a window of the file read in one call (a compaction reads its inputs in
    /// 256 KiB reads instead of one per 4 KiB block) and one array the blocks are decompressed into, reused for
    /// every block instead of a new one per block for the collector.
    /// </summary>
    internal sealed class ReadAhead : IDisposable
    {
        /// <summary>Bytes read at once.</summary>
        public const int WindowBytes = 256 * 1024;

        /// <summary>The window; rented from the shared pool until <see cref="Dispose"/>.</summary>
        public byte[] Buffer { get; private set; } = System.Buffers.ArrayPool<byte>.Shared.Rent(WindowBytes);

        /// <summary>File offset of <see cref="Buffer"/>[0].</summary>
        public long Start { get; set; }

        /// <summary>Valid bytes in <see cref="Buffer"/>.</summary>
        public int Count { get; set; }

        /// <summary>The array the last block was decompressed into, reused by the next.</summary>
        public byte[]? Decoded { get; set; }

        /// <inheritdoc/>
        public void Dispose()
        {
            if (Buffer.Length > 0)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(Buffer);
                Buffer = [];
                Count = 0;
            }
        }
    }

    private static void ParseIndex(Block indexBlock, out byte[] keys, out int[] keyStarts, out BlockHandle[] blocks)
    {
        using var it = indexBlock.NewIterator();
        var count = 0;
        var keyBytes = 0;
        for (it.SeekToFirst(); it.Valid; it.Next())
        {
            count++;
            keyBytes += it.Key.Length;
        }

        keys = new byte[keyBytes];
        keyStarts = new int[count + 1];
        blocks = new BlockHandle[count];
        var i = 0;
        var p = 0;
        for (it.SeekToFirst(); it.Valid; it.Next(), i++)
        {
            if (!BlockHandle.TryDecode(it.Value, out var handle, out var n) || n != it.Value.Length)
            {
                Corrupt(indexBlock, $"bad block handle in index entry {i}");
            }

            if (i > 0 && InternalKey.Compare(keys.AsSpan(keyStarts[i - 1], p - keyStarts[i - 1]), it.Key) >= 0)
            {
                Corrupt(indexBlock, $"index entry {i} out of order");
            }

            keyStarts[i] = p;
            it.Key.CopyTo(keys.AsSpan(p));
            p += it.Key.Length;
            blocks[i] = handle;
        }

        keyStarts[count] = p;
    }

    [DoesNotReturn]
    private static void Corrupt(Block block, string what) => ThrowHelper.Corruption(block.Path, block.Offset, what);
}
