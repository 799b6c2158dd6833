using System;
using System.Diagnostics;
using RingKV.Storage.Keys;

namespace RingKV.Storage.Tables;

/// <summary>A two-level iterator over a table: the in-memory index picks data blocks, a block iterator walks each.</summary>
/// <remarks>
/// Not thread-safe. Holds at most one data block at a time. Without <c>fillCache</c> (a one-pass reader such as a
/// compaction) it reads the file in large windows and decompresses every block into one reused array
/// (<see cref="TableReader.ReadAhead"/>), which the <see cref="IInternalIterator"/> contract allows: keys and values are
/// valid only until the next move.
/// </remarks>
internal sealed class TableIterator : IInternalIterator
{
    private readonly TableReader _table;
    private readonly bool _fillCache;
    private readonly BlockIterator _blockIterator = new();
    private TableReader.ReadAhead? _readAhead;
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
        _readAhead?.Dispose();
        _readAhead = null;
    }

    private void LoadBlock(int index)
    {
        _blockIndex = index;
        if (index >= _table.DataBlockCount)
        {
            _blockIterator.Reset(null);
        }
        else if (_fillCache)
        {
            _blockIterator.Reset(_table.GetBlock(index, fillCache: true));
        }
        else
        {
            _blockIterator.Reset(null); // the reused array is about to change under the current block
            _blockIterator.Reset(_table.GetBlockSequential(index, _readAhead ??= new TableReader.ReadAhead()));
        }
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
