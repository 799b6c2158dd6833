using System;
using System.Buffers;
using System.Collections.Generic;
using System.Text;
using RingKV.Core.Hashing;
using RingKV.Testing.Support;
using Xunit;
using static RingKV.Storage.Tests.Engine.EngineChecks;

namespace RingKV.Storage.Tests.Engine;

/// <summary>The merge hook: an append operator checked against a model through flushes, compactions and reopens.</summary>
public sealed class MergeTests
{
    [Fact]
    public void Merge_RandomAppendsPutsAndDeletes_MatchModel()
    {
        var run = SeededRun.Start(nameof(Merge_RandomAppendsPutsAndDeletes_MatchModel));
        var rng = run.Random;
        var clock = new ManualTimeProvider();
        using var dir = new TempDirectory();
        var options = TinyOptions(dir.Path, clock, new AppendMergeOperator());
        var keys = ModelTests.RandomKeys(rng, 24);
        var model = new EngineModel();
        var engine = StorageEngine.Open(options);
        var mergesSinceOpen = 0;
        try
        {
            for (var step = 0; step < 1200; step++)
            {
                var now = clock.GetUtcNow();
                var key = keys[rng.Next(keys.Count)];
                var dice = rng.Next(100);
                if (dice < 45)
                {
                    var operand = rng.NextBytes(rng.Next(0, 40));
                    run.Step($"merge {Show(key)} +{operand.Length} bytes");
                    engine.Merge(key, operand);
                    mergesSinceOpen++;
                    model.Put(key, [.. model.Get(key, now) ?? [], .. operand]);
                }
                else if (dice < 55)
                {
                    var batch = new WriteBatch();
                    var operand = rng.NextBytes(rng.Next(1, 10));
                    batch.Merge(key, operand).Merge(key, operand);
                    run.Step($"batch of two merges {Show(key)} +{operand.Length} bytes each");
                    engine.Write(batch);
                    mergesSinceOpen += 2;
                    model.Put(key, [.. model.Get(key, now) ?? [], .. operand, .. operand]);
                }
                else if (dice < 65)
                {
                    var value = rng.NextBytes(rng.Next(0, 100));
                    run.Step($"put {Show(key)}");
                    engine.Put(key, value);
                    model.Put(key, value);
                }
                else if (dice < 75)
                {
                    run.Step($"delete {Show(key)}");
                    engine.Delete(key);
                    model.Delete(key);
                }
                else if (dice < 87)
                {
                    run.Step("flush");
                    engine.Flush();
                }
                else if (dice < 94)
                {
                    run.Step("compact all");
                    engine.CompactAll();
                }
                else
                {
                    run.Step("reopen");
                    engine.Dispose();
                    engine = StorageEngine.Open(options);
                    mergesSinceOpen = 0;
                }

                AssertGets(engine, model, keys, now);
                AssertScan(engine, model, TokenRange.All, now);
            }

            // Counters start at zero with each open.
            Assert.True(mergesSinceOpen == 0 || engine.Statistics.Merges > 0, $"{mergesSinceOpen} merges since the last open, Statistics.Merges = {engine.Statistics.Merges}");
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

    [Fact]
    public void Merge_ManyOperandsAcrossFlushes_AppendsInOrder()
    {
        var clock = new ManualTimeProvider();
        using var dir = new TempDirectory();
        using var engine = StorageEngine.Open(TinyOptions(dir.Path, clock, new AppendMergeOperator()));
        var key = "counter"u8.ToArray();
        var expected = new List<byte>();
        for (var i = 0; i < 300; i++)
        {
            var operand = Encoding.ASCII.GetBytes($"<{i}>");
            engine.Merge(key, operand);
            expected.AddRange(operand);
            if (i % 50 == 49)
            {
                engine.Flush();
            }
        }

        Assert.Equal(expected.ToArray(), engine.Get(key));
        engine.CompactAll();
        Assert.Equal(expected.ToArray(), engine.Get(key));
    }

    /// <summary>Appends the operand to the existing value.</summary>
    private sealed class AppendMergeOperator : IMergeOperator
    {
        public void Merge(ReadOnlySpan<byte> key, bool hasExisting, ReadOnlySpan<byte> existing, ReadOnlySpan<byte> operand, IBufferWriter<byte> result)
        {
            if (hasExisting)
            {
                result.Write(existing);
            }

            result.Write(operand);
        }
    }
}
