using System;
using System.Numerics;
using System.Threading;

namespace RingKV.Storage.Stats;

/// <summary>A counter incremented from many cores without sharing one cache line: one padded cell per core.</summary>
/// <remarks>
/// Thread-safe. <see cref="Value"/> sums the cells, so a read racing increments may miss the newest ones, never
/// lose them. Rejected alternative: one Interlocked field, whose cache line every read bounced between cores.
/// </remarks>
internal sealed class StripedCounter
{
    private const int Stride = 8; // 64 bytes per cell, so two cores never write one cache line
    private readonly long[] _cells;
    private readonly int _mask;

    public StripedCounter()
    {
        var cells = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, Environment.ProcessorCount));
        _mask = cells - 1;
        _cells = new long[(cells + 1) * Stride];
    }

    public void Increment() => Interlocked.Increment(ref _cells[((Thread.GetCurrentProcessorId() & _mask) + 1) * Stride]);

    public long Value
    {
        get
        {
            long total = 0;
            for (var i = Stride; i < _cells.Length; i += Stride)
            {
                total += Volatile.Read(ref _cells[i]);
            }

            return total;
        }
    }
}
