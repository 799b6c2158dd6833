using System;
using RingKV.Storage.Memtables;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Memtables;

public sealed class OccupancyBitmapTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(64, 3)]
    [InlineData(65, 5)]
    [InlineData(4097, 40)] // three levels, the last words partly used
    [InlineData(1 << 18, 30)] // four levels, mostly empty
    [InlineData(1 << 18, 20_000)]
    public void NextSet_RandomBits_FindsTheFirstSetBitAtOrAfterEachPosition(int bits, int sets)
    {
        var rng = new Random(TestSeed.Get(nameof(NextSet_RandomBits_FindsTheFirstSetBitAtOrAfterEachPosition)) + bits + sets);
        var bitmap = new OccupancyBitmap(bits);
        var model = new bool[bits];
        for (var i = 0; i < sets; i++)
        {
            var bit = rng.Next(bits);
            bitmap.Set(bit);
            model[bit] = true;
        }

        var levels = 1;
        for (var words = (bits + 63) / 64; words > 1; words = (words + 63) / 64)
        {
            levels++;
        }

        // Every position of a small bitmap, random ones (and the ends) of a large one.
        var probes = Math.Min(bits, 5000);
        for (var p = 0; p <= probes + 1; p++)
        {
            var from = p == probes ? bits - 1 : p == probes + 1 ? bits : bits <= 5000 ? p : rng.Next(bits);
            var expected = -1;
            for (var b = from; b < bits; b++)
            {
                if (model[b])
                {
                    expected = b;
                    break;
                }
            }

            var read = 0;
            Assert.Equal(expected, bitmap.NextSet(from, ref read));
            Assert.InRange(read, 0, 2 * levels);
        }
    }
}
