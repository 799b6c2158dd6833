using System;
using System.Collections.Generic;
using RingKV.Core.Random;
using RingKV.Testing.Faults;
using RingKV.Testing.Support;
using Xunit;
using static RingKV.Storage.Tests.Engine.EngineChecks;

namespace RingKV.Storage.Tests.Engine;

/// <summary>Random puts (plain, with expiry, in batches), deletes, gets, scans, clock steps, flushes, compactions and reopens against a model, checked after every step.</summary>
public sealed class ModelTests
{
    /// <summary>Enough keys that their live records (about 150 bytes each) outgrow levels 1 and 2 of <see cref="TinyOptions"/>.</summary>
    private const int KeySpace = 160;

    private const int MinDeepestLevel = 3;

    [Theory]
    [InlineData(CompressionKind.Lz4, 10, 1500)]
    [InlineData(CompressionKind.None, 0, 1500)]
    [InlineData(CompressionKind.Zstd, 10, 800)]
    public void Engine_RandomOperations_MatchModel(CompressionKind compression, int bloomBitsPerKey, int steps)
    {
        var run = SeededRun.Start($"{nameof(Engine_RandomOperations_MatchModel)}({compression})");
        var rng = run.Random;
        var clock = new ManualTimeProvider();
        var options = TinyOptions("/mem/model", clock, compression: compression, bloomBitsPerKey: bloomBitsPerKey, fileSystem: new CrashableFileSystem());

        var keys = RandomKeys(rng, KeySpace);
        var model = new EngineModel();
        var engine = StorageEngine.Open(options);
        var deepest = -1;
        try
        {
            for (var step = 0; step < steps; step++)
            {
                var now = clock.GetUtcNow();
                var key = keys[rng.Next(keys.Count)];
                var dice = rng.Next(100);
                if (dice < 35)
                {
                    var value = rng.NextBytes(rng.Next(301));
                    run.Step($"put {Show(key)} ({value.Length} bytes)");
                    engine.Put(key, value);
                    model.Put(key, value);
                }
                else if (dice < 45)
                {
                    var value = rng.NextBytes(rng.Next(301));
                    // Whole seconds plus half a second, while the clock moves in whole seconds: never exactly now.
                    var expiresAt = now + TimeSpan.FromSeconds(rng.Next(-2, 30)) + TimeSpan.FromMilliseconds(500);
                    run.Step($"put {Show(key)} ({value.Length} bytes) expiring at +{(expiresAt - now).TotalSeconds}s");
                    engine.Put(key, value, expiresAt);
                    model.Put(key, value, expiresAt);
                }
                else if (dice < 57)
                {
                    run.Step($"delete {Show(key)}");
                    engine.Delete(key);
                    model.Delete(key);
                }
                else if (dice < 63)
                {
                    var batch = new WriteBatch();
                    var ops = new List<string>();
                    for (var n = rng.Next(1, 6); n > 0; n--)
                    {
                        var k = keys[rng.Next(keys.Count)];
                        if (rng.Chance(70))
                        {
                            var value = rng.NextBytes(rng.Next(301));
                            batch.Put(k, value);
                            model.Put(k, value);
                            ops.Add($"put {Show(k)}");
                        }
                        else
                        {
                            batch.Delete(k);
                            model.Delete(k);
                            ops.Add($"delete {Show(k)}");
                        }
                    }

                    run.Step($"batch [{string.Join(", ", ops)}]");
                    engine.Write(batch);
                }
                else if (dice < 73)
                {
                    var range = RandomRange(rng, keys);
                    run.Step($"scan [{range.First}, {range.Last}]");
                    AssertScan(engine, model, range, now);
                }
                else if (dice < 80)
                {
                    var seconds = rng.Next(1, 15);
                    run.Step($"advance clock {seconds}s");
                    clock.Advance(TimeSpan.FromSeconds(seconds));
                }
                else if (dice < 87)
                {
                    run.Step("flush");
                    engine.Flush();
                    WaitForCompactions(engine); // the tree deepens with the steps, not with the compaction thread's luck
                }
                else if (dice < 91)
                {
                    run.Step("compact all");
                    engine.CompactAll();
                }
                else if (dice < 94)
                {
                    run.Step("reopen");
                    engine.Dispose();
                    engine = StorageEngine.Open(options);
                }
                else
                {
                    run.Step($"get {Show(key)}");
                    AssertGets(engine, model, [key], now);
                }

                // Every step: each key of the key space, and the whole ring.
                now = clock.GetUtcNow();
                AssertGets(engine, model, keys, now);
                AssertScan(engine, model, Core.Hashing.TokenRange.All, now);
                deepest = Math.Max(deepest, DeepestLevel(engine));
            }

            // The run really exercised the tree: tables as deep as level 3, where a tombstone has older versions to hide.
            Assert.True(deepest >= MinDeepestLevel, $"the tables reached level {deepest} at most; the run needs level {MinDeepestLevel} or deeper");
        }
        catch (Exception e)
        {
            throw run.Failure(e);
        }
        finally
        {
            engine.Dispose();
        }
    }

    /// <summary>Distinct binary keys of 1 to 16 bytes, so some share prefixes and some are one byte long.</summary>
    internal static List<byte[]> RandomKeys(SplitMix64 rng, int count)
    {
        var seen = new HashSet<string>();
        var keys = new List<byte[]>();
        while (keys.Count < count)
        {
            var key = rng.Chance(30) && keys.Count > 0
                ? [.. keys[rng.Next(keys.Count)], (byte)rng.Next(256)]
                : rng.NextBytes(rng.Next(1, 17));
            if (key.Length <= 16 && seen.Add(Convert.ToHexString(key)))
            {
                keys.Add(key);
            }
        }

        return keys;
    }
}
