using System;
using System.Buffers;
using System.Globalization;
using RingKV.Core.Hashing;
using RingKV.Storage;

namespace RingKV.Bench;

/// <summary>RingKV's embedded engine behind <see cref="IBenchEngine"/>.</summary>
internal sealed class RingKvEngine : IBenchEngine
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? s_value;

    private readonly StorageEngine _engine;

    private RingKvEngine(string directory, StorageEngine engine)
    {
        Directory = directory;
        _engine = engine;
    }

    /// <inheritdoc/>
    public string Name => "ringkv";

    /// <inheritdoc/>
    public string Directory { get; }

    /// <summary>Opens a fresh engine in <paramref name="directory"/> with the shared settings.</summary>
    public static RingKvEngine Open(string directory, BenchSettings settings)
    {
        var options = new StorageOptions
        {
            Directory = directory,
            Sync = settings.Sync,
            MemtableBytes = settings.MemtableBytes,
            BlockCacheBytes = settings.CacheBytes,
            Compression = CompressionKind.Lz4,
            ColdCompression = CompressionKind.Lz4,
            BloomBitsPerKey = BenchSettings.BloomBitsPerKey,
            BlockSizeBytes = BenchSettings.BlockBytes,
            CompactionNice = settings.CompactionNice,
        };
        return new RingKvEngine(directory, StorageEngine.Open(options));
    }

    /// <inheritdoc/>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => _engine.Put(key, value);

    /// <inheritdoc/>
    public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        var buffer = s_value ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        var found = _engine.TryGet(key, buffer);
        value = buffer.WrittenSpan;
        return found;
    }

    /// <inheritdoc/>
    public int Scan(ulong startToken, int count, ScanBuffer records)
    {
        records.Clear();
        using var iterator = _engine.NewIterator(new TokenRange(new Token(startToken), Token.Max));
        while (records.Count < count && iterator.MoveNext())
        {
            records.Add(iterator.Key, iterator.Value);
        }

        return records.Count;
    }

    /// <inheritdoc/>
    public void FlushAndCompact()
    {
        _engine.Flush();
        _engine.CompactAll();
    }

    /// <inheritdoc/>
    public long DirectoryBytes() => DirectorySize.Of(Directory);

    /// <inheritdoc/>
    public string Describe()
    {
        var text = new System.Text.StringBuilder("ringkv files per level:");
        foreach (var level in _engine.GetLevels())
        {
            text.Append(CultureInfo.InvariantCulture, $" L{level.Level}={level.Files}");
        }

        return text.Append(CultureInfo.InvariantCulture, $"; memory {_engine.MemoryBytes >> 20} MiB")
            .Append("; nice of the compaction thread: ").Append(ThreadPriorities.Describe("ringkv-compact"))
            .ToString();
    }

    /// <inheritdoc/>
    public void Dispose() => _engine.Dispose();
}
