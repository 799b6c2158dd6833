using System;
using System.Buffers;
using System.Globalization;
using RingKV.Core.Hashing;
using RingKV.Storage;
using RingKV.Storage.Compression;

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
        };
        return new RingKvEngine(directory, StorageEngine.Open(options));
    }

    /// <inheritdoc/>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => _engine.Put(key, value);

    /// <inheritdoc/>
    public int Get(ReadOnlySpan<byte> key)
    {
        var value = s_value ??= new ArrayBufferWriter<byte>(4096);
        value.ResetWrittenCount();
        return _engine.TryGet(key, value) ? value.WrittenCount : -1;
    }

    /// <inheritdoc/>
    public int Scan(ulong startToken, int count)
    {
        using var iterator = _engine.NewIterator(new TokenRange(new Token(startToken), Token.Max));
        var read = 0;
        var bytes = 0;
        while (read < count && iterator.MoveNext())
        {
            bytes += iterator.Key.Length + iterator.Value.Length;
            read++;
        }

        // Summing lengths reads Key and Value as a client would, and keeps the JIT from dropping the reads.
        return bytes > 0 ? read : 0;
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

        return text.Append(CultureInfo.InvariantCulture, $"; memory {_engine.MemoryBytes >> 20} MiB").ToString();
    }

    /// <inheritdoc/>
    public void Dispose() => _engine.Dispose();
}
