using System;
using System.Diagnostics;
using RingKV.Storage.Keys;

namespace RingKV.Storage.Tables;

/// <summary>A two-level iterator over a table: the in-memory index picks data blocks, a block iterator walks each.</summary>
/// <remarks>Not thread-safe. Holds at most one data block at a time.</remarks>
internal sealed class TableIterator : IInternalIterator
{
    private readonly TableReader _table;
    private readonly bool _fillCache;
    private readonly BlockIterator _blockIterator = new();
    private int _blockIndex;

    /// <summary>Creates an unpositioned iterator over <paramref name="table"/>.</summary>
    public TableIterator(TableReader table, bool fillCache)
    {
        _table = table;
        _fillCache = fillCache;
        _blockIndex = table.DataBlockCount;
    }

    /// <inheritdoc/>
    public bool Valid => _blockIterator.Valid;

    /// <inheritdoc/>
    public ReadOnlySpan<byte> Key => _blockIterator.Key;

    /// <inheritdoc/>
    public ReadOnlySpan<byte> Value => _blockIterator.Value;

    /// <inheritdoc/>
    public void SeekToFirst()
    {
        LoadBlock(0);
        if (_blockIterator.Block is not null)
        {
            _blockIterator.SeekToFirst();
        }

        SkipExhaustedBlocks();
    }

    /// <inheritdoc/>
    public void Seek(ReadOnlySpan<byte> internalKey)
    {
        LoadBlock(_table.FindBlock(internalKey));
        if (_blockIterator.Block is not null)
        {
            _blockIterator.Seek(internalKey);
        }

        SkipExhaustedBlocks();
    }

    /// <inheritdoc/>
    public void Next()
    {
        Debug.Assert(Valid);
        _blockIterator.Next();
        SkipExhaustedBlocks();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _blockIterator.Reset(null);
        _blockIndex = _table.DataBlockCount;
    }

    private void LoadBlock(int index)
    {
        _blockIndex = index;
        _blockIterator.Reset(index < _table.DataBlockCount ? _table.GetBlock(index, _fillCache) : null);
    }

    private void SkipExhaustedBlocks()
    {
        while (!_blockIterator.Valid && _blockIndex < _table.DataBlockCount)
        {
            LoadBlock(_blockIndex + 1);
            if (_blockIterator.Block is not null)
            {
                _blockIterator.SeekToFirst();
            }
        }
    }
}
