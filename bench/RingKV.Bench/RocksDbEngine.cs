using System;
using System.Globalization;
using RingKV.Core.Hashing;
using RingKV.Storage;
using RocksDbSharp;

namespace RingKV.Bench;

/// <summary>RocksDB (RocksDbSharp) behind <see cref="IBenchEngine"/>, set up like RingKV's engine.</summary>
/// <remarks>
/// Records are stored under RingKV's ordered key, <c>| token (8, big-endian) | user key |</c>, so a point get
/// hashes the key as RingKV does and a scan from a token walks the same order RingKV's iterator walks.
/// Equal settings: block cache bytes, LZ4 at every level, bloom 10 bits/key (full filters), 4 KiB blocks,
/// write buffer = memtable bytes, RingKV's memtable count (one active and <see cref="BenchSettings.FrozenMemtables"/>
/// frozen: <c>max_write_buffer_number</c> 3, where RocksDB's default is 2), RingKV's level shape (32 MiB files, 256 MiB
/// level 1, level-0 triggers 4/12/20), and the compaction threads' CPU priority (<see cref="BenchSettings.CompactionNice"/>:
/// 0 leaves RocksDB's pools alone, 19 lowers its compaction pool as <c>Env::LowerThreadPoolCPUPriority(LOW)</c> does,
/// to nice 19). Sync: <c>always</c> is <c>sync=true</c>; <c>none</c> and <c>periodic</c> are <c>sync=false</c> with the
/// WAL on (RocksDB has no timed WAL fsync, so periodic favours RocksDB slightly).
/// NOTE: the lowered priority belongs to the process's default environment, so it stays for the process's later
/// RocksDB instances; every run of one invocation uses the same setting.
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

    private readonly IntPtr _env;

    private RocksDbEngine(string directory, RocksDb db, WriteOptions writeOptions, int valueBytes, IntPtr env)
    {
        _env = env;
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
            .SetMaxWriteBufferNumber(1 + BenchSettings.FrozenMemtables)
            .SetCompression(Compression.Lz4)
            .SetBlockBasedTableFactory(tableOptions)
            .SetWriteBufferSize((ulong)settings.MemtableBytes)
            .SetTargetFileSizeBase(32UL << 20)
            .SetMaxBytesForLevelBase(256UL << 20)
            .SetLevel0FileNumCompactionTrigger(4)
            .SetLevel0SlowdownWritesTrigger(12)
            .SetLevel0StopWritesTrigger(20);
        var env = IntPtr.Zero;
        if (settings.CompactionNice != 0)
        {
            env = Native.Instance.rocksdb_create_default_env();
            Native.Instance.rocksdb_env_lower_thread_pool_cpu_priority(env);
            options.SetEnv(env);
        }

        var writeOptions = new WriteOptions().SetSync(settings.Sync.Mode == SyncMode.Always);
        return new RocksDbEngine(directory, RocksDb.Open(options, directory), writeOptions, settings.ValueBytes, env);
    }

    /// <inheritdoc/>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var orderedKey = OrderedKey(key);
        _db.Put(orderedKey, value, null, _writeOptions);
    }

    /// <inheritdoc/>
    public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        var orderedKey = OrderedKey(key);

        // NOTE: Get(ReadOnlySpan) returns a fresh byte[] per call; GetFixedSizeValue copies a pinned value
        // into our buffer, the same copy RingKV's TryGet makes, and every stored value has --value-size bytes.
        // A stored value of another size makes it throw ("Value length mismatch"), reported as a failed check.
        var buffer = s_value;
        if (buffer is null || buffer.Length != _valueBytes)
        {
            buffer = s_value = new byte[_valueBytes];
        }

        bool found;
        try
        {
            found = _db.GetFixedSizeValue(orderedKey, buffer, null, _readOptions);
        }
        catch (RocksDbException e)
        {
            throw new BenchFailureException($"rocksdb get: {e.Message}");
        }

        value = found ? buffer : default;
        return found;
    }

    /// <inheritdoc/>
    public int Scan(ulong startToken, int count, ScanBuffer records)
    {
        records.Clear();
        Span<byte> start = stackalloc byte[Token.Size];
        new Token(startToken).Encode(start);
        using var iterator = _db.NewIterator(null, _readOptions);
        iterator.Seek(start);
        while (records.Count < count && iterator.Valid())
        {
            // The stored key is token | user key: hand back the user key, as RingKV's iterator does.
            records.Add(iterator.GetKeySpan()[Token.Size..], iterator.GetValueSpan());
            if (records.Count < count)
            {
                iterator.Next();
            }
        }

        return records.Count;
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

        return text.Append("; block cache capacity ").Append(_db.GetProperty("rocksdb.block-cache-capacity"))
            .Append(" bytes; ").Append(OptionFromFile("max_write_buffer_number"))
            .Append("; nice of compaction threads (rocksdb:low): ").Append(ThreadPriorities.Describe("rocksdb:low"))
            .ToString();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _db.Dispose();
        if (_env != IntPtr.Zero)
        {
            Native.Instance.rocksdb_env_destroy(_env); // the wrapper only: the default environment itself lives on
        }
    }

    /// <summary>The line <c>name=value</c> of the newest OPTIONS file RocksDB wrote: the setting it runs with.</summary>
    private string OptionFromFile(string name)
    {
        var newest = string.Empty;
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, "OPTIONS-*"))
        {
            newest = string.CompareOrdinal(file, newest) > 0 ? file : newest;
        }

        if (newest.Length > 0)
        {
            foreach (var line in System.IO.File.ReadLines(newest))
            {
                var trimmed = line.Trim();
                if (trimmed.StartsWith(name + "=", StringComparison.Ordinal))
                {
                    return trimmed;
                }
            }
        }

        return name + " not found in an OPTIONS file";
    }

    /// <summary>Writes <c>token(key) | key</c> into this thread's buffer.</summary>
    private static ReadOnlySpan<byte> OrderedKey(ReadOnlySpan<byte> key)
    {
        var buffer = s_orderedKey ??= new byte[MaxOrderedKeyBytes];
        Token.Of(key).Encode(buffer);
        key.CopyTo(buffer.AsSpan(Token.Size));
        return buffer.AsSpan(0, Token.Size + key.Length);
    }
}
