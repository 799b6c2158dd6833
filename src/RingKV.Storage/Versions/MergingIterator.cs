using System;
using System.Collections.Generic;
using RingKV.Storage.Keys;

namespace RingKV.Storage.Versions;

/// <summary>Merges sorted children into one sorted stream with a binary min-heap.</summary>
/// <remarks>
/// Not thread-safe. Equal internal keys never occur across children (sequence numbers are unique);
/// the heap orders by <see cref="InternalKey.Compare"/>. Disposes its children.
/// </remarks>
internal sealed class MergingIterator : IInternalIterator
{
    private readonly IInternalIterator[] _children;
    private readonly int[] _heap;
    private int _count;

    public MergingIterator(IReadOnlyList<IInternalIterator> children)
    {
        _children = [.. children];
        _heap = new int[_children.Length];
    }

    public bool Valid => _count > 0;

    public ReadOnlySpan<byte> Key => _children[_heap[0]].Key;

    public ReadOnlySpan<byte> Value => _children[_heap[0]].Value;

    public void SeekToFirst()
    {
        foreach (var child in _children)
        {
            child.SeekToFirst();
        }

        Rebuild();
    }

    public void Seek(ReadOnlySpan<byte> internalKey)
    {
        foreach (var child in _children)
        {
            child.Seek(internalKey);
        }

        Rebuild();
    }

    public void Next()
    {
        var top = _children[_heap[0]];
        top.Next();
        if (!top.Valid)
        {
            _heap[0] = _heap[--_count];
        }

        if (_count > 0)
        {
            SiftDown(0);
        }
    }

    public void Dispose()
    {
        foreach (var child in _children)
        {
            child.Dispose();
        }
    }

    private void Rebuild()
    {
        _count = 0;
        for (var i = 0; i < _children.Length; i++)
        {
            if (_children[i].Valid)
            {
                _heap[_count++] = i;
            }
        }

        for (var i = (_count / 2) - 1; i >= 0; i--)
        {
            SiftDown(i);
        }
    }

    private bool Less(int a, int b) => InternalKey.Compare(_children[_heap[a]].Key, _children[_heap[b]].Key) < 0;

    private void SiftDown(int i)
    {
        while (true)
        {
            var left = (2 * i) + 1;
            if (left >= _count)
            {
                return;
            }

            var smallest = left;
            var right = left + 1;
            if (right < _count && Less(right, left))
            {
                smallest = right;
            }

            if (!Less(smallest, i))
            {
                return;
            }

            (_heap[i], _heap[smallest]) = (_heap[smallest], _heap[i]);
            i = smallest;
        }
    }
}
