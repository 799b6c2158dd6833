using System;
using System.Collections.Generic;
using System.Text;
using RingKV.Storage.Log;
using RingKV.Testing.Faults;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Engine;

/// <summary>
/// Power loss on an in-memory file system that keeps only synced bytes and synced directory entries (plus torn
/// unsynced tails): with sync always, every acknowledged write is there after recovery, at any moment of
/// flushes and compactions.
/// </summary>
public sealed class PowerLossTests
{
    [Fact]
    public void Engine_PowerLossAtRandomMoments_KeepsEveryAcknowledgedWrite()
    {
        var seed = TestSeed.Get(nameof(Engine_PowerLossAtRandomMoments_KeepsEveryAcknowledgedWrite));
        var rng = new TestRandom(seed);
        var fs = new CrashableFileSystem();
        var model = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
        StorageOptions Options() => new()
        {
            Directory = "/mem/engine",
            FileSystem = fs.Session(),
            Sync = SyncPolicy.Always,
            MemtableBytes = 8 << 10,
            BlockCacheBytes = 64 << 10,
            BlockSizeBytes = 1024,
            TargetFileBytes = 16 << 10,
            Level1Bytes = 64 << 10,
            LogSegmentBytes = 16 << 10,
            TombstoneGrace = TimeSpan.Zero,
        };

        for (var round = 0; round < 15; round++)
        {
            var engine = StorageEngine.Open(Options());
            foreach (var (key, value) in model)
            {
                var actual = engine.Get(Encoding.UTF8.GetBytes(key));
                Assert.True(value is null ? actual is null : actual is not null && actual.AsSpan().SequenceEqual(value),
                    $"round {round}, key {key}: expected {(value is null ? "absent" : $"{value.Length} bytes")}, got {(actual is null ? "absent" : $"{actual.Length} bytes")} (RINGKV_SEED={seed})");
            }

            var steps = rng.Next(20, 300);
            for (var step = 0; step < steps; step++)
            {
                var key = $"key{rng.Next(120)}";
                var dice = rng.Next(100);
                if (dice < 70)
                {
                    var value = rng.NextBytes(rng.Next(1, 200));
                    engine.Put(Encoding.UTF8.GetBytes(key), value);
                    model[key] = value;
                }
                else if (dice < 90)
                {
                    engine.Delete(Encoding.UTF8.GetBytes(key));
                    model[key] = null;
                }
                else if (dice < 97)
                {
                    engine.Flush();
                }
                else
                {
                    engine.CompactAll();
                }
            }

            // Power goes: no Dispose, no final sync; background flushes and compactions are cut wherever they are.
            fs.Crash(rng);
        }
    }

    [Fact]
    public void PeriodicSync_WhileWritesGoOn_SyncsWhatWasAppendedWithoutTheWriters()
    {
        // The periodic fsync runs beside the write queue. Writes keep coming while it runs; once the syncer
        // reports the log synced, a power loss must keep every write.
        var seed = TestSeed.Get(nameof(PeriodicSync_WhileWritesGoOn_SyncsWhatWasAppendedWithoutTheWriters));
        var rng = new TestRandom(seed);
        var fs = new CrashableFileSystem();
        StorageOptions Options() => new()
        {
            Directory = "/mem/periodic",
            FileSystem = fs.Session(),
            Sync = SyncPolicy.Periodic(5),
            MemtableBytes = 64 << 10,
            LogSegmentBytes = 32 << 10,
        };

        var engine = StorageEngine.Open(Options());
        var written = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        for (var i = 0; i < 3000 || (engine.Statistics.LogSyncs < 2 && DateTime.UtcNow < deadline); i++)
        {
            var key = $"key{rng.Next(500)}";
            var value = rng.NextBytes(rng.Next(1, 100));
            engine.Put(Encoding.UTF8.GetBytes(key), value);
            written[key] = value;
        }

        Assert.True(engine.Statistics.LogSyncs >= 2, "the periodic syncer did not sync while writes went on");
        while (engine.HasUnsyncedLog && DateTime.UtcNow < deadline)
        {
            System.Threading.Thread.Sleep(5);
        }

        fs.Crash(rng);
        engine = StorageEngine.Open(Options());
        foreach (var (key, value) in written)
        {
            var actual = engine.Get(Encoding.UTF8.GetBytes(key));
            Assert.True(actual is not null && actual.AsSpan().SequenceEqual(value), $"{key} lost after the periodic sync (RINGKV_SEED={seed})");
        }

        engine.Dispose();
    }

    [Fact]
    public void PeriodicSync_LogPassesEagerSyncBytes_SyncsBeforeThePeriodEnds()
    {
        // An hour-long period: only the eager sync (at StorageEngine.EagerSyncBytes unsynced) can sync within the test.
        var seed = TestSeed.Get(nameof(PeriodicSync_LogPassesEagerSyncBytes_SyncsBeforeThePeriodEnds));
        var rng = new TestRandom(seed);
        var fs = new CrashableFileSystem();
        StorageOptions Options() => new()
        {
            Directory = "/mem/eager",
            FileSystem = fs.Session(),
            Sync = SyncPolicy.Periodic(3_600_000),
        };

        var engine = StorageEngine.Open(Options());
        const int ValueBytes = 64 << 10;
        var belowThreshold = (int)(StorageEngine.EagerSyncBytes / ValueBytes) - 4;
        var values = new List<byte[]>();
        for (var i = 0; i < belowThreshold + 10; i++)
        {
            values.Add(rng.NextBytes(ValueBytes));
            engine.Put(Encoding.UTF8.GetBytes($"big{i}"), values[i]);
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (engine.Statistics.LogSyncs == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the log passed the eager-sync size and was not synced");
            System.Threading.Thread.Sleep(5);
        }

        // The sync covered what was appended when it began, which is at least every write before the threshold.
        fs.Crash(rng);
        engine = StorageEngine.Open(Options());
        for (var i = 0; i < belowThreshold; i++)
        {
            var actual = engine.Get(Encoding.UTF8.GetBytes($"big{i}"));
            Assert.True(actual is not null && actual.AsSpan().SequenceEqual(values[i]), $"big{i} lost after the eager sync (RINGKV_SEED={seed})");
        }

        engine.Dispose();
    }
}
