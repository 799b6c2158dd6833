using System;
using System.Collections.Generic;
using System.Text;
using System.Threading.Tasks;
using RingKV.Core.Hashing;
using RingKV.Storage.Log;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.EngineSmoke;

public sealed class EngineSmokeTests
{
    private static StorageOptions Small(string dir) => new()
    {
        Directory = dir,
        Sync = SyncPolicy.None,
        MemtableBytes = 16 * 1024,
        BlockCacheBytes = 64 * 1024,
        TargetFileBytes = 32 * 1024,
        Level1Bytes = 128 * 1024,
        TombstoneGrace = TimeSpan.Zero,
    };

    [Fact]
    public void PutGetDelete_AcrossFlushesCompactionsAndReopen_MatchesModel()
    {
        var seed = TestSeed.Get(nameof(PutGetDelete_AcrossFlushesCompactionsAndReopen_MatchesModel));
        var rng = new Random(seed);
        using var dir = new TempDirectory();
        var model = new Dictionary<string, byte[]>();
        var engine = StorageEngine.Open(Small(dir.Path));
        try
        {
            for (var step = 0; step < 20_000; step++)
            {
                var key = $"key{rng.Next(2000)}";
                var roll = rng.Next(100);
                if (roll < 60)
                {
                    var value = new byte[rng.Next(0, 200)];
                    rng.NextBytes(value);
                    engine.Put(Encoding.UTF8.GetBytes(key), value);
                    model[key] = value;
                }
                else if (roll < 75)
                {
                    engine.Delete(Encoding.UTF8.GetBytes(key));
                    model.Remove(key);
                }
                else if (roll < 99)
                {
                    var got = engine.Get(Encoding.UTF8.GetBytes(key));
                    model.TryGetValue(key, out var want);
                    Assert.True(want is null ? got is null : got is not null && got.AsSpan().SequenceEqual(want), $"step {step} key {key} seed {seed}");
                }
                else if (rng.Next(4) == 0)
                {
                    engine.Dispose();
                    engine = StorageEngine.Open(Small(dir.Path));
                }
                else if (rng.Next(3) == 0)
                {
                    engine.CompactAll();
                }
                else
                {
                    engine.Flush();
                }
            }

            var seen = 0;
            using (var it = engine.NewIterator(TokenRange.All))
            {
                ulong lastToken = 0;
                while (it.MoveNext())
                {
                    var key = Encoding.UTF8.GetString(it.Key);
                    Assert.True(model.TryGetValue(key, out var want), $"iterator returned deleted key {key}");
                    Assert.True(it.Value.SequenceEqual(want));
                    Assert.True(it.Token.Value >= lastToken);
                    lastToken = it.Token.Value;
                    seen++;
                }
            }

            Assert.Equal(model.Count, seen);
            Assert.True(engine.Statistics.Flushes > 0);
        }
        finally
        {
            engine.Dispose();
        }
    }

    [Fact]
    public async Task Put_ManyConcurrentWritersWithSyncAlways_EveryWriteIsDurableAndGrouped()
    {
        using var dir = new TempDirectory();
        var engine = StorageEngine.Open(new StorageOptions { Directory = dir.Path, Sync = SyncPolicy.Always, MemtableBytes = 64 * 1024 });
        const int Writers = 16;
        const int PerWriter = 300;
        var tasks = new Task[Writers];
        for (var t = 0; t < Writers; t++)
        {
            var id = t;
            tasks[t] = Task.Factory.StartNew(() =>
            {
                for (var i = 0; i < PerWriter; i++)
                {
                    engine.Put(Encoding.UTF8.GetBytes($"w{id}-{i}"), Encoding.UTF8.GetBytes($"value-{id}-{i}"));
                }
            }, TestContext.Current.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        await Task.WhenAll(tasks);
        var syncs = engine.Statistics.LogSyncs;
        engine.Dispose();

        // Concurrent writers share fsyncs: fewer syncs than writes proves grouping happened.
        Assert.True(syncs < Writers * PerWriter, $"{syncs} syncs for {Writers * PerWriter} writes");
        using var reopened = StorageEngine.Open(new StorageOptions { Directory = dir.Path, Sync = SyncPolicy.Always });
        for (var t = 0; t < Writers; t++)
        {
            for (var i = 0; i < PerWriter; i++)
            {
                Assert.Equal($"value-{t}-{i}", Encoding.UTF8.GetString(reopened.Get(Encoding.UTF8.GetBytes($"w{t}-{i}")) ?? []));
            }
        }
    }
}
