using System;
using System.Globalization;
using RingKV.Core.Hashing;
using RingKV.Storage.Log;
using RocksDbSharp;

namespace RingKV.Bench;

/// <summary>RocksDB (RocksDbSharp) behind <see cref="IBenchEngine"/>, set up like RingKV's engine.</summary>
/// <remarks>
/// Records are stored under RingKV's ordered key, <c>| token (8, big-endian) | user key |</c>, so a point get
/// hashes the key as RingKV does and a scan from a token walks the same order RingKV's iterator walks.
/// Equal settings: block cache bytes, LZ4 at every level, bloom 10 bits/key (full filters), 4 KiB blocks,
/// write buffer = memtable bytes, and RingKV's level shape (32 MiB files, 256 MiB level 1, level-0 triggers
/// 4/12/20). Sync: <c>always</c> is <c>sync=true</c>; <c>none</c> and <c>periodic</c> are <c>sync=false</c> with the
/// WAL on (RocksDB has no timed WAL fsync, so periodic favours RocksDB slightly).
/// </remarks>
internal sealed class RocksDbEngine : IBenchEngine
{
    private const int MaxOrderedKeyBytes = Token.Size + 1024;

    [ThreadStatic]
    private static byte[]? s_orderedKey;

    [ThreadStatic]
    private static byte[]? s_value;

    private readonly RocksDb _db;
    private readonly WriteOptions _writeOptions;
    private readonly ReadOptions _readOptions;
    private readonly int _valueBytes;

    private RocksDbEngine(string directory, RocksDb db, WriteOptions writeOptions, int valueBytes)
    {
        Directory = directory;
        _db = db;
        _writeOptions = writeOptions;
        _readOptions = new ReadOptions();
        _valueBytes = valueBytes;
    }

    /// <inheritdoc/>
    public string Name => "rocksdb";

    /// <inheritdoc/>
    public string Directory { get; }

    /// <summary>Opens a fresh database in <paramref name="directory"/> with the shared settings.</summary>
    public static RocksDbEngine Open(string directory, BenchSettings settings)
    {
        var tableOptions = new BlockBasedTableOptions()
            .SetBlockCache(Cache.CreateLru((ulong)settings.CacheBytes))
            .SetFilterPolicy(BloomFilterPolicy.Create(BenchSettings.BloomBitsPerKey, false))
            .SetBlockSize(BenchSettings.BlockBytes);
        var options = new DbOptions()
            .SetCreateIfMissing(true)
            .SetCompression(Compression.Lz4)
            .SetBlockBasedTableFactory(tableOptions)
            .SetWriteBufferSize((ulong)settings.MemtableBytes)
            .SetTargetFileSizeBase(32UL << 20)
            .SetMaxBytesForLevelBase(256UL << 20)
            .SetLevel0FileNumCompactionTrigger(4)
            .SetLevel0SlowdownWritesTrigger(12)
            .SetLevel0StopWritesTrigger(20);
        var writeOptions = new WriteOptions().SetSync(settings.Sync.Mode == SyncMode.Always);
        return new RocksDbEngine(directory, RocksDb.Open(options, directory), writeOptions, settings.ValueBytes);
    }

    /// <inheritdoc/>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var orderedKey = OrderedKey(key);
        _db.Put(orderedKey, value, null, _writeOptions);
    }

    /// <inheritdoc/>
    public int Get(ReadOnlySpan<byte> key)
    {
        var orderedKey = OrderedKey(key);

        // NOTE: Get(ReadOnlySpan) returns a fresh byte[] per call; GetFixedSizeValue copies a pinned value
        // into our buffer, the same copy RingKV's TryGet makes, and every stored value has --value-size bytes.
        // A stored value of another size makes it throw ("Value length mismatch"), which stops the run loudly.
        var value = s_value;
        if (value is null || value.Length != _valueBytes)
        {
            value = s_value = new byte[_valueBytes];
        }

        return _db.GetFixedSizeValue(orderedKey, value, null, _readOptions) ? value.Length : -1;
    }

    /// <inheritdoc/>
    public int Scan(ulong startToken, int count)
    {
        Span<byte> start = stackalloc byte[Token.Size];
        new Token(startToken).Encode(start);
        using var iterator = _db.NewIterator(null, _readOptions);
        iterator.Seek(start);
        var read = 0;
        var bytes = 0;
        while (read < count && iterator.Valid())
        {
            // Subtract the token prefix so byte counts match RingKV's Key + Value.
            bytes += iterator.GetKeySpan().Length - Token.Size + iterator.GetValueSpan().Length;
            read++;
            if (read < count)
            {
                iterator.Next();
            }
        }

        // Summing lengths reads key and value as a client would, and keeps the JIT from dropping the reads.
        return bytes > 0 ? read : 0;
    }

    /// <inheritdoc/>
    public void FlushAndCompact()
    {
        _db.Flush(new FlushOptions().SetWaitForFlush(true));
        _db.CompactRange((byte[]?)null, (byte[]?)null);
    }

    /// <inheritdoc/>
    public long DirectoryBytes() => DirectorySize.Of(Directory);

    /// <inheritdoc/>
    public string Describe()
    {
        var text = new System.Text.StringBuilder("rocksdb files per level:");
        for (var level = 0; level < 7; level++)
        {
            var files = _db.GetProperty("rocksdb.num-files-at-level" + level.ToString(CultureInfo.InvariantCulture));
            text.Append(CultureInfo.InvariantCulture, $" L{level}={files}");
        }

        return text.Append("; block cache capacity ").Append(_db.GetProperty("rocksdb.block-cache-capacity")).Append(" bytes").ToString();
    }

    /// <inheritdoc/>
    public void Dispose() => _db.Dispose();

    /// <summary>Writes <c>token(key) | key</c> into this thread's buffer.</summary>
    private static ReadOnlySpan<byte> OrderedKey(ReadOnlySpan<byte> key)
    {
        var buffer = s_orderedKey ??= new byte[MaxOrderedKeyBytes];
        Token.Of(key).Encode(buffer);
        key.CopyTo(buffer.AsSpan(Token.Size));
        return buffer.AsSpan(0, Token.Size + key.Length);
    }
}
