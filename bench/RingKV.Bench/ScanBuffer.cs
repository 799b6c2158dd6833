using System;

namespace RingKV.Bench;

/// <summary>The records one scan read, copied out of the engine: what a client of a range scan gets.</summary>
/// <remarks>
/// Not thread-safe: each worker owns one. Both engines copy every key and value into it inside the timed scan (the copy
/// a client makes before the iterator moves on), and the harness checks the records after the clock stops. Sized for
/// one scan of the benchmark's records up front; a larger record grows it once.
/// </remarks>
internal sealed class ScanBuffer
{
    private byte[] _data;
    private int[] _ends; // per record: where its key ends, where its value ends
    private int _used;

    /// <summary>Room for <paramref name="records"/> records of <paramref name="recordBytes"/> bytes (key + value).</summary>
    public ScanBuffer(int records, int recordBytes)
    {
        _data = new byte[records * recordBytes];
        _ends = new int[records * 2];
    }

    /// <summary>Records held.</summary>
    public int Count { get; private set; }

    /// <summary>Forgets every record.</summary>
    public void Clear()
    {
        Count = 0;
        _used = 0;
    }

    /// <summary>Appends a copy of one record.</summary>
    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var need = _used + key.Length + value.Length;
        if (need > _data.Length)
        {
            Array.Resize(ref _data, Math.Max(need, _data.Length * 2));
        }

        if ((Count * 2) + 2 > _ends.Length)
        {
            Array.Resize(ref _ends, _ends.Length * 2);
        }

        key.CopyTo(_data.AsSpan(_used));
        _used += key.Length;
        _ends[Count * 2] = _used;
        value.CopyTo(_data.AsSpan(_used));
        _used += value.Length;
        _ends[(Count * 2) + 1] = _used;
        Count++;
    }

    /// <summary>The key of record <paramref name="index"/>. Requires: index &lt; <see cref="Count"/>.</summary>
    public ReadOnlySpan<byte> Key(int index)
    {
        var start = index == 0 ? 0 : _ends[(index * 2) - 1];
        return _data.AsSpan(start, _ends[index * 2] - start);
    }

    /// <summary>The value of record <paramref name="index"/>. Requires: index &lt; <see cref="Count"/>.</summary>
    public ReadOnlySpan<byte> Value(int index)
    {
        var start = _ends[index * 2];
        return _data.AsSpan(start, _ends[(index * 2) + 1] - start);
    }
}
