// Temporary stand-ins for the table API while it is written on another branch; deleted at merge.
#pragma warning disable
using System;
using RingKV.Storage.Cache;
using RingKV.Storage.Compression;
using RingKV.Storage.Fs;
using RingKV.Storage.Keys;
using RingKV.Storage.Stats;

namespace RingKV.Storage.Tables
{
    internal sealed class TableBuilderOptions
    {
        public int BlockSizeBytes { get; init; } = 4096;
        public int RestartInterval { get; init; } = 16;
        public CompressionKind Compression { get; init; } = CompressionKind.Lz4;
        public int BloomBitsPerKey { get; init; } = 10;
    }

    internal sealed class TableProperties
    {
        public long Entries { get; init; }
        public long FileBytes { get; init; }
        public byte[] SmallestKey { get; init; } = [];
        public byte[] LargestKey { get; init; } = [];
        public ulong MinSequence { get; init; }
        public ulong MaxSequence { get; init; }
    }

    internal sealed class TableBuilder : IDisposable
    {
        public TableBuilder(IWritableFile file, TableBuilderOptions options) => throw new NotImplementedException();
        public void Add(ReadOnlySpan<byte> internalKey, ReadOnlySpan<byte> value) => throw new NotImplementedException();
        public long EstimatedFileBytes => throw new NotImplementedException();
        public int Entries => throw new NotImplementedException();
        public TableProperties Finish() => throw new NotImplementedException();
        public void Dispose() { }
    }

    internal sealed class TableReader : IDisposable
    {
        public static TableReader Open(IRandomAccessFile file, ulong fileNumber, BlockCache? cache, StorageStatistics stats) => throw new NotImplementedException();
        public TableProperties Properties => throw new NotImplementedException();
        public long MetadataBytes => throw new NotImplementedException();
        public bool TryGet(ReadOnlySpan<byte> seekKey, out ValueKind kind, out ulong sequence, out ReadOnlyMemory<byte> value) => throw new NotImplementedException();
        public IInternalIterator NewIterator(bool fillCache = true) => throw new NotImplementedException();
        public void Dispose() { }
    }
}

namespace RingKV.Storage.Cache
{
    internal sealed class BlockCache
    {
        public BlockCache(long capacityBytes) => throw new NotImplementedException();
        public long UsageBytes => throw new NotImplementedException();
        public long CapacityBytes { get; set; }
    }
}
