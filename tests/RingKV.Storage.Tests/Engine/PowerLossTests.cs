using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Threading;
using RingKV.Core.Errors;
using RingKV.Core.Random;
using RingKV.Testing.Faults;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Engine;

/// <summary>
/// Power loss on an in-memory file system that keeps synced bytes and synced directory entries (plus torn unsynced
/// tails and some unsynced name changes): with sync always, every acknowledged write is there after recovery, at any
/// moment of group commits, flushes and compactions; under periodic sync, what the syncer reported synced.
/// </summary>
public sealed class PowerLossTests
{
    private const int Writers = 3;
    private const int KeysPerWriter = 40;

    [Fact]
    public void Engine_PowerLossAtRandomMomentsUnderConcurrentWriters_KeepsEveryAcknowledgedWriteAndBatch()
    {
        // Three writers (puts, deletes, batches of two to four operations, flushes, compactions) on disjoint keys; the
        // power goes at a random file operation, keeping random unsynced tails (possibly torn) and a random part of
        // the name changes not yet synced. After each crash, the last included: every acknowledged write is there,
        // and the write each writer had in flight is there whole or not at all. The seed replays each writer's
        // operations and the crash moments, not the interleaving of the writers.
        var run = SeededRun.Start(nameof(Engine_PowerLossAtRandomMomentsUnderConcurrentWriters_KeepsEveryAcknowledgedWriteAndBatch));
        var rng = run.Random;
        var fs = new CrashableFileSystem();
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

        var acked = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
        var inFlight = new List<(string Key, byte[]? Value)>[Writers];
        const int Rounds = 12;
        for (var round = 0; round <= Rounds; round++)
        {
            var engine = StorageEngine.Open(Options());
            var context = $"after crash {round} (RINGKV_SEED={run.Seed})";
            try
            {
                for (var w = 0; w < Writers; w++)
                {
                    Settle(engine, acked, inFlight[w] ?? [], context);
                    inFlight[w] = [];
                }

                CheckAcknowledged(engine, acked, context);
            }
            catch
            {
                engine.Dispose();
                throw;
            }

            if (round == Rounds)
            {
                engine.Dispose();
                break;
            }

            // The power goes before a random file operation from here on.
            var crashAt = rng.Next(10, 400);
            var operations = 0;
            var crashRng = new SplitMix64((long)rng.NextUInt64());
            fs.BeforeOperation = _ =>
            {
                if (Interlocked.Increment(ref operations) == crashAt)
                {
                    fs.Crash(crashRng);
                }
            };

            var writes = new Dictionary<string, byte[]?>[Writers];
            var roundSeed = rng.NextUInt64();
            ConcurrentRun.OnThreads(Writers, w =>
            {
                var mine = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
                writes[w] = mine;
                var random = new SplitMix64((long)(roundSeed + (ulong)w));
                while (true)
                {
                    var changes = new List<(string Key, byte[]? Value)>();
                    var dice = random.Next(100);
                    try
                    {
                        if (dice < 5)
                        {
                            engine.Flush();
                            continue;
                        }

                        if (dice < 7)
                        {
                            engine.CompactAll();
                            continue;
                        }

                        var batch = new WriteBatch();
                        for (var n = dice < 80 ? 1 : random.Next(2, 5); n > 0; n--)
                        {
                            var key = $"w{w}-k{random.Next(KeysPerWriter)}";
                            byte[]? value = random.Chance(75) ? random.NextBytes(random.Next(1, 200)) : null;
                            if (value is null)
                            {
                                batch.Delete(Encoding.UTF8.GetBytes(key));
                            }
                            else
                            {
                                batch.Put(Encoding.UTF8.GetBytes(key), value);
                            }

                            changes.Add((key, value));
                        }

                        inFlight[w] = changes;
                        engine.Write(batch);
                        foreach (var (key, value) in changes)
                        {
                            mine[key] = value;
                        }

                        inFlight[w] = [];
                    }
                    catch (Exception e) when (e is RingKVException or IOException)
                    {
                        return; // the power went
                    }
                }
            });

            fs.BeforeOperation = null;
            EngineChecks.AbandonAfterCrash(engine);
            Assert.True(fs.Crashes == round + 1, $"the writers of round {round} stopped without the crash (RINGKV_SEED={run.Seed})");
            foreach (var mine in writes)
            {
                foreach (var (key, value) in mine)
                {
                    acked[key] = value;
                }
            }
        }
    }

    /// <summary>
    /// Checks that a write in flight at the crash is there whole or not at all, and records what recovery shows as
    /// acknowledged from now on.
    /// </summary>
    private static void Settle(StorageEngine engine, Dictionary<string, byte[]?> acked, List<(string Key, byte[]? Value)> changes, string context)
    {
        // The batch's effect on each key: its last operation of the key. Keys it leaves as they were tell nothing.
        var effect = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
        foreach (var (key, value) in changes)
        {
            effect[key] = value;
        }

        var applied = 0;
        var telling = 0;
        foreach (var (key, value) in effect)
        {
            var before = acked.GetValueOrDefault(key);
            var actual = engine.Get(Encoding.UTF8.GetBytes(key));
            if (Same(before, value))
            {
                Assert.True(Same(actual, before), $"{key} changed though neither its acknowledged value nor the write in flight changes it, {context}");
                continue;
            }

            telling++;
            if (Same(actual, value))
            {
                applied++;
            }
            else
            {
                Assert.True(Same(actual, before), $"{key} holds neither its acknowledged value nor the one in flight, {context}");
            }
        }

        Assert.True(applied == 0 || applied == telling, $"a batch in flight was applied in part ({applied} of {telling} keys), {context}");
        foreach (var (key, value) in effect)
        {
            if (applied > 0)
            {
                acked[key] = value;
            }
        }
    }

    private static void CheckAcknowledged(StorageEngine engine, Dictionary<string, byte[]?> acked, string context)
    {
        foreach (var (key, value) in acked)
        {
            var actual = engine.Get(Encoding.UTF8.GetBytes(key));
            Assert.True(Same(actual, value), $"acknowledged {(value is null ? "delete" : "put")} of {key}: expected {(value is null ? "absent" : $"{value.Length} bytes")}, got {(actual is null ? "absent" : $"{actual.Length} bytes")}, {context}");
        }
    }

    private static bool Same(byte[]? a, byte[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    [Fact]
    public void SyncLog_AfterSegmentSwitchesUnderPeriodicSync_KeepsTheWritesOfEveryEarlierSegment()
    {
        // A period of an hour: nothing syncs but the segment switches and the SyncLog at the end. SyncLog fsyncs the
        // current segment only, so the earlier ones must have been synced as they were closed, or a power loss keeps
        // the later writes without the earlier ones. Every unsynced byte is lost in the crash.
        var fs = new CrashableFileSystem();
        StorageOptions Options() => new()
        {
            Directory = "/mem/segments",
            FileSystem = fs.Session(),
            Sync = SyncPolicy.Periodic(3_600_000),
            LogSegmentBytes = 4096,
        };

        var engine = StorageEngine.Open(Options());
        const int Writes = 40; // 500-byte values: about five segments
        for (var i = 0; i < Writes; i++)
        {
            engine.Put(Encoding.UTF8.GetBytes($"key{i}"), new SplitMix64(i).NextBytes(500));
        }

        engine.SyncLog();
        Assert.True(fs.PendingNames.Count == 0, $"segment names not durable after SyncLog: {string.Join(", ", fs.PendingNames)}");
        fs.Crash();
        EngineChecks.AbandonAfterCrash(engine);
        using var recovered = StorageEngine.Open(Options());
        for (var i = 0; i < Writes; i++)
        {
            var value = recovered.Get(Encoding.UTF8.GetBytes($"key{i}"));
            Assert.True(value is not null && value.AsSpan().SequenceEqual(new SplitMix64(i).NextBytes(500)), $"key{i} lost though SyncLog returned after it");
        }
    }

    [Fact]
    public void PeriodicSync_WhileWritesGoOn_SyncsWhatWasAppendedWithoutTheWriters()
    {
        // The periodic fsync runs beside the write queue. Writes keep coming while it runs; once the syncer
        // reports the log synced, a power loss must keep every write.
        var seed = TestSeed.Get(nameof(PeriodicSync_WhileWritesGoOn_SyncsWhatWasAppendedWithoutTheWriters));
        var rng = new SplitMix64(seed);
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
        EngineChecks.AbandonAfterCrash(engine);
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
        var rng = new SplitMix64(seed);
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
        EngineChecks.AbandonAfterCrash(engine);
        engine = StorageEngine.Open(Options());
        for (var i = 0; i < belowThreshold; i++)
        {
            var actual = engine.Get(Encoding.UTF8.GetBytes($"big{i}"));
            Assert.True(actual is not null && actual.AsSpan().SequenceEqual(values[i]), $"big{i} lost after the eager sync (RINGKV_SEED={seed})");
        }

        engine.Dispose();
    }
}
