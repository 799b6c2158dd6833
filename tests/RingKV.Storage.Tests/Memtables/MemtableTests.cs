using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Storage.Keys;
using RingKV.Storage.Memtables;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Memtables;

public sealed class MemtableTests
{
    private static byte[] Internal(string key, ulong sequence, ValueKind kind)
    {
        var user = System.Text.Encoding.UTF8.GetBytes(key);
        var buffer = new byte[user.Length + InternalKey.Overhead];
        var ordered = InternalKey.WriteOrdered(buffer, user);
        InternalKey.Write(buffer, buffer.AsSpan(0, ordered), sequence, kind);
        return buffer;
    }

    [Theory]
    [InlineData(1 << 20)] // 4096 buckets: about one key (with its ten versions) per bucket
    [InlineData(4096)] // 16 buckets: about 300 entries per bucket, so walks use every level
    public void Iterator_RandomInserts_YieldsInternalKeyOrder(int budget)
    {
        var rng = new Random(TestSeed.Get(nameof(Iterator_RandomInserts_YieldsInternalKeyOrder)));
        var table = new Memtable(budget, 1);
        var expected = new List<byte[]>();
        for (ulong seq = 1; seq <= 5000; seq++)
        {
            var key = Internal($"k{rng.Next(500)}", seq, ValueKind.Put);
            table.Add(key, BitConverter.GetBytes(seq));
            expected.Add(key);
        }

        expected.Sort((a, b) => InternalKey.Compare(a, b));
        using var it = table.NewIterator();
        var i = 0;
        for (it.SeekToFirst(); it.Valid; it.Next())
        {
            Assert.True(it.Key.SequenceEqual(expected[i]), $"entry {i} out of order");
            Assert.Equal(InternalKey.Sequence(expected[i]), BitConverter.ToUInt64(it.Value));
            i++;
        }

        Assert.Equal(expected.Count, i);
    }

    [Theory]
    [InlineData(1 << 20, 300)] // 4096 buckets for 300 keys: most seeks start in a bucket with nothing after the key
    [InlineData(4096, 3000)] // 16 buckets for 3000 keys: seeks walk long buckets through every level
    public void Seek_AnyKey_LandsOnTheFirstEntryAtOrAfterIt(int budget, int keys)
    {
        var rng = new Random(TestSeed.Get(nameof(Seek_AnyKey_LandsOnTheFirstEntryAtOrAfterIt)));
        var table = new Memtable(budget, 1);
        var sorted = new List<byte[]>();
        for (ulong seq = 1; seq <= (ulong)keys; seq++)
        {
            var key = Internal($"k{rng.Next(100_000)}", seq, ValueKind.Put);
            table.Add(key, "v"u8);
            sorted.Add(key);
        }

        sorted.Sort((a, b) => InternalKey.Compare(a, b));
        using var it = table.NewIterator();
        for (var probe = 0; probe < 2000; probe++)
        {
            var target = Internal($"k{rng.Next(100_000)}", (ulong)rng.Next(0, 400), ValueKind.Seek);
            it.Seek(target);
            var expected = sorted.Find(k => InternalKey.Compare(k, target) >= 0);
            if (expected is null)
            {
                Assert.False(it.Valid, "a seek past the last key must be invalid");
            }
            else
            {
                Assert.True(it.Valid);
                Assert.True(it.Key.SequenceEqual(expected), $"probe {probe} landed on the wrong entry");
            }
        }
    }

    [Theory]
    [InlineData(0)] // empty, as every memtable is right after a flush
    [InlineData(40)] // 40 keys over 262,144 buckets: nearly every seek starts in a run of empty buckets
    public void Seek_SparseMemtable_ReadsAFewWordsPerBucketStep(int keys)
    {
        var rng = new Random(TestSeed.Get(nameof(Seek_SparseMemtable_ReadsAFewWordsPerBucketStep)) + keys);
        var table = new Memtable(64L << 20, 1); // the default budget: 2^18 buckets
        var sorted = new List<byte[]>();
        for (ulong seq = 1; seq <= (ulong)keys; seq++)
        {
            var key = Internal($"k{rng.Next(1_000_000)}", seq, ValueKind.Put);
            table.Add(key, "v"u8);
            sorted.Add(key);
        }

        sorted.Sort((a, b) => InternalKey.Compare(a, b));
        const int Seeks = 200;
        var it = (Memtable.Iterator)table.NewIterator();
        var steps = 0;
        for (var probe = 0; probe < Seeks; probe++)
        {
            var target = Internal($"k{rng.Next(1_000_000)}", InternalKey.MaxSequence, ValueKind.Seek);
            it.Seek(target);
            steps++;
            var expected = sorted.FindIndex(k => InternalKey.Compare(k, target) >= 0);
            if (expected < 0)
            {
                Assert.False(it.Valid, $"seek {probe}: past the last entry, yet valid");
                continue;
            }

            var i = expected;
            for (; i < Math.Min(sorted.Count, expected + 3); i++, steps++)
            {
                Assert.True(it.Valid, $"seek {probe}: ended before entry {i}");
                Assert.True(it.Key.SequenceEqual(sorted[i]), $"seek {probe}: wrong entry {i}");
                it.Next();
            }

            if (i == sorted.Count)
            {
                Assert.False(it.Valid, $"seek {probe}: valid after the last entry");
            }
        }

        // Each step to the next non-empty bucket reads at most two occupancy words per level (4 levels) and a head;
        // reading the heads one by one costs tens of thousands per step here.
        Assert.InRange(it.Probes, 0, steps * 9);
    }

    [Fact]
    public void TryGet_SeekAtSequence_ReturnsNewestVisibleVersion()
    {
        var table = new Memtable(1 << 20, 1);
        table.Add(Internal("a", 1, ValueKind.Put), "v1"u8);
        table.Add(Internal("a", 5, ValueKind.Put), "v5"u8);
        table.Add(Internal("a", 9, ValueKind.Delete), "t"u8);
        table.Add(Internal("b", 2, ValueKind.Put), "b2"u8);

        Assert.True(table.TryGet(Internal("a", 4, ValueKind.Seek), out var kind, out var value));
        Assert.Equal(ValueKind.Put, kind);
        Assert.Equal("v1"u8.ToArray(), value.ToArray());

        Assert.True(table.TryGet(Internal("a", 8, ValueKind.Seek), out kind, out value));
        Assert.Equal("v5"u8.ToArray(), value.ToArray());

        Assert.True(table.TryGet(Internal("a", 100, ValueKind.Seek), out kind, out _));
        Assert.Equal(ValueKind.Delete, kind);

        Assert.False(table.TryGet(Internal("a", 0, ValueKind.Seek), out _, out _));
        Assert.False(table.TryGet(Internal("c", 100, ValueKind.Seek), out _, out _));
    }

    [Theory]
    [InlineData(1 << 20, 300)] // the index stays complete
    [InlineData(64 * 1024, 3000)] // 1024 slots: the index fills up and stops taking new keys
    public void TryGet_HashIndex_AnswersLikeTheSkipListWalk(long budget, int keys)
    {
        var rng = new Random(TestSeed.Get(nameof(TryGet_HashIndex_AnswersLikeTheSkipListWalk)) + keys);
        var table = new Memtable(budget, 1);
        ulong seq = 0;
        for (var i = 0; i < keys * 3; i++)
        {
            var kind = rng.Next(5) == 0 ? ValueKind.Delete : ValueKind.Put;
            table.Add(Internal($"k{rng.Next(keys)}", ++seq, kind), BitConverter.GetBytes(seq));
        }

        Assert.Equal(keys < 1000, table.IndexComplete);
        for (var probe = 0; probe < 20_000; probe++)
        {
            // Keys that exist and keys that never did, at snapshots from before the first write to after the last.
            var seek = Internal($"k{rng.Next(keys + (keys / 4))}", (ulong)rng.NextInt64(0, (long)seq + 2), ValueKind.Seek);
            var indexed = table.TryGet(seek, out var kind, out var value);
            var walked = table.TryGetByWalk(seek, out var walkedKind, out var walkedValue);
            Assert.Equal(walked, indexed);
            Assert.Equal(walkedKind, kind);
            Assert.True(walkedValue.SequenceEqual(value), $"probe {probe}: values differ");
        }
    }

    [Fact]
    public async Task TryGet_WhileOneWriterAdds_NeverMissesAWrittenKey()
    {
        // Readers only look for keys whose write has finished, as the engine's readers only look at
        // published sequences; a torn or half-published index slot would make one disappear.
        var table = new Memtable(4 << 20, 1);
        var written = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var writer = Task.Run(
            () =>
            {
                for (var i = 1; i <= 40_000 && !stop.IsCancellationRequested; i++)
                {
                    table.Add(Internal($"key{i % 20_000}", (ulong)i, ValueKind.Put), BitConverter.GetBytes(i));
                    Volatile.Write(ref written, i);
                }
            },
            TestContext.Current.CancellationToken);
        var readers = new Task[2];
        for (var r = 0; r < readers.Length; r++)
        {
            var seed = r;
            readers[r] = Task.Run(() =>
            {
                var rng = new Random(seed);
                while (!writer.IsCompleted)
                {
                    var done = Volatile.Read(ref written);
                    if (done == 0)
                    {
                        continue;
                    }

                    var i = rng.Next(1, done + 1);
                    Assert.True(table.TryGet(Internal($"key{i % 20_000}", (ulong)done, ValueKind.Seek), out _, out var value), $"key{i % 20_000} missing after write {done}");
                    Assert.True(BitConverter.ToInt32(value) >= i, "an older version than a finished write");
                }
            },
            TestContext.Current.CancellationToken);
        }

        await writer;
        await Task.WhenAll(readers);
    }

    [Fact]
    public void Add_ValueLargerThanChunk_IsStoredWhole()
    {
        var table = new Memtable(64 * 1024, 1);
        var big = new byte[300_000];
        new Random(3).NextBytes(big);
        table.Add(Internal("big", 1, ValueKind.Put), big);
        table.Add(Internal("small", 2, ValueKind.Put), "x"u8);
        Assert.True(table.TryGet(Internal("big", 10, ValueKind.Seek), out _, out var value));
        Assert.True(value.SequenceEqual(big));
        Assert.True(table.TryGet(Internal("small", 10, ValueKind.Seek), out _, out value));
        Assert.Equal("x"u8.ToArray(), value.ToArray());
    }

    [Fact]
    public async Task TryGet_ConcurrentWithWriter_NeverSeesTornEntries()
    {
        var table = new Memtable(8 << 20, 1);
        var done = 0;
        var reader = Task.Run(() =>
        {
            var checks = 0;
            while (Volatile.Read(ref done) == 0 || checks < 20)
            {
                using var it = table.NewIterator();
                for (it.SeekToFirst(); it.Valid; it.Next())
                {
                    // Every value is its own sequence number: a torn entry would not match.
                    Assert.Equal(InternalKey.Sequence(it.Key), BitConverter.ToUInt64(it.Value));
                }

                checks++;
            }
        }, TestContext.Current.CancellationToken);
        for (ulong seq = 1; seq <= 20_000; seq++)
        {
            table.Add(Internal($"key{seq * 7919 % 20011}", seq, ValueKind.Put), BitConverter.GetBytes(seq));
        }

        Volatile.Write(ref done, 1);
        await reader;
        Assert.Equal(20_000, table.Count);
    }
}
