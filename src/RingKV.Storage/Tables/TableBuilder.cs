using System;
using System.Buffers;
using System.Diagnostics;
using RingKV.Core.Encoding;
using RingKV.Storage.Compression;
using RingKV.Storage.Filters;
using RingKV.Storage.Keys;

namespace RingKV.Storage.Tables;

/// <summary>Writes one table file from internal keys added in order (layout in <see cref="TableFormat"/>).</summary>
/// <remarks>
/// Not thread-safe. The caller owns <c>file</c>: <see cref="Finish"/> flushes it but neither syncs nor closes it.
/// No allocation per <see cref="Add"/> once buffers have grown: blocks build in reused buffers and compress into a
/// buffer rented from <see cref="ArrayPool{T}.Shared"/>, returned by <see cref="Finish"/>.
/// Index keys are the last key of each data block; a shortened separator (LevelDB) was left out because ordered keys
/// start with a hash token, so neighbouring blocks rarely share a long prefix and the index gains little.
/// </remarks>
internal sealed class TableBuilder
{
    private readonly IWritableFile _file;
    private readonly TableBuilderOptions _options;
    private readonly BlockBuilder _data;
    private readonly BlockBuilder _index = new(restartInterval: 1);
    private readonly BloomFilterBuilder _filter;
    private byte[] _compressed = [];
    private byte[] _smallest = [];
    private byte[] _last = new byte[256];
    private int _lastLength;
    private long _rawDataBytes;
    private long _dataBlocks;
    private ulong _minSequence = ulong.MaxValue;
    private ulong _maxSequence;
    private long _tombstones;
    private long _expiring;
    private bool _finished;

    /// <summary>Creates a builder writing to <paramref name="file"/> from its current end.</summary>
    public TableBuilder(IWritableFile file, TableBuilderOptions options)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _file = file;
        _options = options;
        _data = new BlockBuilder(options.RestartInterval);
        _filter = new BloomFilterBuilder(options.BloomBitsPerKey);
    }

    /// <summary>Records added.</summary>
    public int Entries { get; private set; }

    /// <summary>Size the file would have if finished now (approximate for the pending block, filter and index).</summary>
    public long EstimatedFileBytes =>
        _file.Length + _data.EstimatedSize + _index.EstimatedSize + _filter.EstimatedBytes + TableFormat.FooterSize;

    /// <summary>Appends a record. Requires: <paramref name="internalKey"/> sorts strictly after the previous key; not finished.</summary>
    public void Add(ReadOnlySpan<byte> internalKey, ReadOnlySpan<byte> value)
    {
        Debug.Assert(!_finished, "Add after Finish");
        Debug.Assert(internalKey.Length >= InternalKey.Overhead);
        Debug.Assert(Entries == 0 || InternalKey.Compare(_last.AsSpan(0, _lastLength), internalKey) < 0, "keys must strictly increase");

        if (Entries == 0)
        {
            _smallest = internalKey.ToArray();
        }

        _filter.AddToken(InternalKey.TokenOf(internalKey).Value);
        var sequence = InternalKey.Sequence(internalKey);
        _minSequence = Math.Min(_minSequence, sequence);
        _maxSequence = Math.Max(_maxSequence, sequence);
        switch (InternalKey.Kind(internalKey))
        {
            case ValueKind.Delete:
                _tombstones++;
                break;
            case ValueKind.PutWithExpiry:
                _expiring++;
                break;
        }

        if (_last.Length < internalKey.Length)
        {
            _last = new byte[Math.Max(internalKey.Length, _last.Length * 2)];
        }

        internalKey.CopyTo(_last);
        _lastLength = internalKey.Length;
        _data.Add(internalKey, value);
        Entries++;
        if (_data.EstimatedSize >= _options.BlockSizeBytes)
        {
            FlushDataBlock();
        }
    }

    /// <summary>Writes the last data block, filter, index, properties and footer, then flushes the file.</summary>
    public TableProperties Finish()
    {
        Debug.Assert(!_finished, "Finish twice");
        _finished = true;
        try
        {
            if (!_data.IsEmpty)
            {
                FlushDataBlock();
            }

            var filterBytes = _filter.Finish();
            var filterHandle = filterBytes.Length == 0 ? new BlockHandle(0, 0) : WriteBlock(filterBytes, CompressionKind.None);
            var indexHandle = WriteBlock(_index.Finish(), CompressionKind.None);

            var properties = new TableProperties
            {
                EntryCount = Entries,
                RawDataBytes = _rawDataBytes,
                DataBlockCount = _dataBlocks,
                SmallestKey = _smallest,
                LargestKey = _last.AsSpan(0, _lastLength).ToArray(),
                MinSequence = Entries == 0 ? 0 : _minSequence,
                MaxSequence = _maxSequence,
                TombstoneCount = _tombstones,
                ExpiringCount = _expiring,
            };
            var encoded = new byte[properties.EncodedLength];
            properties.Encode(encoded);
            var propertiesHandle = WriteBlock(encoded, CompressionKind.None);

            Span<byte> footer = stackalloc byte[TableFormat.FooterSize];
            TableFormat.WriteFooter(footer, filterHandle, indexHandle, propertiesHandle);
            _file.Append(footer);
            _file.Flush();
            return properties with { FileBytes = _file.Length };
        }
        finally
        {
            if (_compressed.Length != 0)
            {
                ArrayPool<byte>.Shared.Return(_compressed);
                _compressed = [];
            }
        }
    }

    private void FlushDataBlock()
    {
        var raw = _data.Finish();
        _rawDataBytes += raw.Length;
        _dataBlocks++;
        var handle = WriteBlock(raw, _options.Compression);
        Span<byte> encodedHandle = stackalloc byte[BlockHandle.MaxEncodedLength];
        var n = handle.Encode(encodedHandle);
        _index.Add(_data.LastKey, encodedHandle[..n]);
        _data.Reset();
    }

    /// <summary>Writes payload + trailer, compressing when asked and worth it; returns the payload's handle.</summary>
    private BlockHandle WriteBlock(ReadOnlySpan<byte> raw, CompressionKind kind)
    {
        var offset = _file.Length;
        ReadOnlySpan<byte> payload = raw;
        var stored = CompressionKind.None;
        if (kind != CompressionKind.None)
        {
            var capacity = CompressedCapacity(raw.Length);
            if (_compressed.Length < capacity)
            {
                if (_compressed.Length != 0)
                {
                    ArrayPool<byte>.Shared.Return(_compressed);
                }

                _compressed = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, CompressedCapacity(_options.BlockSizeBytes * 2)));
            }

            var prefix = Varint.Write(_compressed, (ulong)raw.Length);
            stored = BlockCompressor.CompressIfWorthIt(kind, raw, _compressed.AsSpan(prefix), out var written);
            if (stored != CompressionKind.None && BlockCompressor.IsWorthIt(raw.Length, prefix + written))
            {
                payload = _compressed.AsSpan(0, prefix + written);
            }
            else
            {
                stored = CompressionKind.None;
            }
        }

        _file.Append(payload);
        Span<byte> trailer = stackalloc byte[TableFormat.BlockTrailerSize];
        TableFormat.WriteTrailer(trailer, payload, stored);
        _file.Append(trailer);
        return new BlockHandle(offset, payload.Length);
    }

    private static int CompressedCapacity(int rawLength) =>
        Varint.MaxLength32 + Math.Max(
            BlockCompressor.MaxCompressedLength(CompressionKind.Lz4, rawLength),
            BlockCompressor.MaxCompressedLength(CompressionKind.Zstd, rawLength));
}
