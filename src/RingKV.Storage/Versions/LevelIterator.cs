using System;
using RingKV.Storage.Keys;

namespace RingKV.Storage.Versions;

/// <summary>Iterates the tables of one sorted level as one stream, opening each table's iterator when reached.</summary>
/// <remarks>Not thread-safe. The caller keeps the version (and so the readers) pinned.</remarks>
internal sealed class LevelIterator : IInternalIterator
{
    private readonly FileMeta[] _files;
    private readonly bool _fillCache;
    private int _index = -1;
    private IInternalIterator? _current;

    public LevelIterator(FileMeta[] files, bool fillCache)
    {
        _files = files;
        _fillCache = fillCache;
    }

    public bool Valid => _current is { Valid: true };

    public ReadOnlySpan<byte> Key => _current!.Key;

    public ReadOnlySpan<byte> Value => _current!.Value;

    public void SeekToFirst()
    {
        Open(0);
        _current?.SeekToFirst();
        SkipEmpty();
    }

    public void Seek(ReadOnlySpan<byte> internalKey)
    {
        // First file whose largest key is at or after the target.
        int lo = 0, hi = _files.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (InternalKey.Compare(_files[mid].Largest, internalKey) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        Open(lo);
        _current?.Seek(internalKey);
        SkipEmpty();
    }

    public void Next()
    {
        _current!.Next();
        SkipEmpty();
    }

    public void Dispose()
    {
        _current?.Dispose();
        _current = null;
    }

    private void SkipEmpty()
    {
        while (_current is not null && !_current.Valid)
        {
            Open(_index + 1);
            _current?.SeekToFirst();
        }
    }

    private void Open(int index)
    {
        if (index == _index && _current is not null)
        {
            return;
        }

        _current?.Dispose();
        _current = null;
        _index = index;
        if (index < _files.Length)
        {
            _current = _files[index].Reader!.NewIterator(_fillCache);
        }
    }
}
