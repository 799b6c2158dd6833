using System;
using System.Text;
using RingKV.Core.Hashing;
using RingKV.Core.Random;
using RingKV.Storage.Tables;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Engine;

/// <summary>
/// A data set six times the memory budget is written and read back while the process's managed heap (measured after a
/// full collection, not the engine's own <see cref="StorageEngine.MemoryBytes"/>) grows by about the budget only.
/// </summary>
/// <remarks>
/// In a collection of its own that runs alone, so other tests' objects are not counted. The engine keeps all its memory
/// on the managed heap (memtables, cached blocks on the pinned object heap, filters, indexes), which
/// <see cref="GC.GetTotalMemory(bool)"/> counts whole.
/// </remarks>
[Collection(nameof(LargerThanMemoryTests))]
[CollectionDefinition(nameof(LargerThanMemoryTests), DisableParallelization = true)]
public sealed class LargerThanMemoryTests
{
    private const long BudgetBytes = 4L << 20;

    // Slack over the budget for the engine's own count: a memtable may overshoot by the write that fills it, and the
    // cache may hold the block being inserted before it evicts; 1/8 of the budget covers both with room to spare.
    private const long SlackBytes = BudgetBytes / 8;

    // Slack over the budget for the heap, for what the budget does not count: table metadata, the write leader's
    // buffers, iterators, the block being decoded (half the budget), and the compaction read windows that
    // ArrayPool<byte>.Shared keeps once returned (measured: about 14 of them on two cores). Still well under the data
    // set of six budgets: an engine that kept what it wrote, or every block it read, fails.
    private const long HeapSlackBytes = (BudgetBytes / 2) + (16L * TableReader.ReadAhead.WindowBytes);

    private const int ValueBytes = 1000;
    private const int Records = 24 << 10; // 24 Ki records of 1000 bytes: about 24 MB, 6x the budget.

    [Fact]
    public void Engine_DataSixTimesTheBudget_ReadsBackWithTheHeapGrowingByTheBudget()
    {
        var seed = TestSeed.Get(nameof(Engine_DataSixTimesTheBudget_ReadsBackWithTheHeapGrowingByTheBudget));
        using var dir = new TempDirectory();
        var options = new StorageOptions
        {
            Directory = dir.Path,
            Sync = SyncPolicy.None,
            MemoryBudgetBytes = BudgetBytes,
            TargetFileBytes = 2L << 20,
            Level1Bytes = 8L << 20,
        };

        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var maxHeap = 0L;
        void MeasureHeap() => maxHeap = Math.Max(maxHeap, GC.GetTotalMemory(forceFullCollection: true) - heapBefore);

        var engine = StorageEngine.Open(options);
        try
        {
            var maxMemory = 0L;
            for (var i = 0; i < Records; i++)
            {
                engine.Put(Key(i), ValueOf(seed, i));
                if (i % 256 == 0)
                {
                    maxMemory = Math.Max(maxMemory, engine.MemoryBytes);
                }

                if (i % 2048 == 2047)
                {
                    MeasureHeap();
                }
            }

            var levels = engine.GetLevels();
            var tableBytes = 0L;
            foreach (var level in levels)
            {
                tableBytes += level.Bytes;
            }

            Assert.True(tableBytes > BudgetBytes, $"tables on disk hold {tableBytes} bytes; expected more than the {BudgetBytes} byte budget");

            // Read back in a scattered order, so the cache keeps evicting.
            var rng = new SplitMix64(seed);
            var stride = 7919; // prime, coprime with Records, so every record is read once
            var start = rng.Next(Records);
            for (var n = 0; n < Records; n++)
            {
                var i = (int)((start + ((long)n * stride)) % Records);
                var value = engine.Get(Key(i));
                Assert.True(value is not null, $"record {i} missing; RINGKV_SEED={seed}");
                Assert.True(ValueOf(seed, i).AsSpan().SequenceEqual(value), $"record {i} has a wrong value; RINGKV_SEED={seed}");
                if (n % 256 == 0)
                {
                    maxMemory = Math.Max(maxMemory, engine.MemoryBytes);
                }

                if (n % 2048 == 2047)
                {
                    MeasureHeap();
                }
            }

            // And once in order through an iterator.
            var seen = 0;
            using (var iterator = engine.NewIterator(TokenRange.All))
            {
                while (iterator.MoveNext())
                {
                    var i = int.Parse(Encoding.ASCII.GetString(iterator.Key)[4..], System.Globalization.CultureInfo.InvariantCulture);
                    Assert.True(ValueOf(seed, i).AsSpan().SequenceEqual(iterator.Value), $"record {i} has a wrong value in the scan; RINGKV_SEED={seed}");
                    seen++;
                    if (seen % 256 == 0)
                    {
                        maxMemory = Math.Max(maxMemory, engine.MemoryBytes);
                    }

                    if (seen % 2048 == 2047)
                    {
                        MeasureHeap();
                    }
                }
            }

            Assert.Equal(Records, seen);
            Assert.True(maxMemory <= BudgetBytes + SlackBytes, $"engine held up to {maxMemory} bytes; budget {BudgetBytes} + slack {SlackBytes}");
            Assert.True(maxMemory > 0, "MemoryBytes reported something");
            Assert.True(maxHeap <= BudgetBytes + HeapSlackBytes, $"the managed heap grew by up to {maxHeap} bytes for a {BudgetBytes} byte budget (+ {HeapSlackBytes} slack), holding {Records * (long)ValueBytes} bytes of data");
            Assert.True(maxHeap > BudgetBytes / 4, $"the managed heap grew by only {maxHeap} bytes: the measurement missed the engine");

            engine.Dispose();
            engine = StorageEngine.Open(options);
            for (var i = 0; i < Records; i += 97)
            {
                Assert.True(ValueOf(seed, i).AsSpan().SequenceEqual(engine.Get(Key(i))), $"record {i} wrong after reopen; RINGKV_SEED={seed}");
            }

            Assert.True(engine.MemoryBytes <= BudgetBytes + SlackBytes, $"after reopen the engine holds {engine.MemoryBytes} bytes");
        }
        finally
        {
            engine.Dispose();
        }
    }

    private static byte[] Key(int i) => Encoding.ASCII.GetBytes($"big-{i:D6}");

    private static byte[] ValueOf(int seed, int i)
    {
        var value = new byte[ValueBytes];
        new SplitMix64(((long)seed << 32) | (uint)i).NextBytes(value);
        return value;
    }
}
