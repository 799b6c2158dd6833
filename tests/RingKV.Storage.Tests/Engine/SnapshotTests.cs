using System;
using System.Collections.Generic;
using RingKV.Core.Hashing;
using RingKV.Testing.Support;
using Xunit;
using static RingKV.Storage.Tests.Engine.EngineChecks;

namespace RingKV.Storage.Tests.Engine;

/// <summary>Snapshots and iterators keep returning the state of the moment they were opened, through later writes, flushes and compactions.</summary>
public sealed class SnapshotTests
{
    [Fact]
    public void Snapshot_LaterWritesFlushesAndCompactions_SeesStateWhenTaken()
    {
        var run = SeededRun.Start(nameof(Snapshot_LaterWritesFlushesAndCompactions_SeesStateWhenTaken));
        var rng = run.Random;
        var clock = new ManualTimeProvider();
        using var dir = new TempDirectory();
        var keys = ModelTests.RandomKeys(rng, 64);
        var model = new EngineModel();
        var snapshots = new List<(StorageSnapshot Snapshot, EngineModel Model, int Id)>();
        var iterators = new List<(StorageIterator Iterator, List<(byte[], EngineModel.Entry)> Expected, int Read, int Id)>();
        var nextId = 0;
        using var engine = StorageEngine.Open(TinyOptions(dir.Path, clock));
        try
        {
            for (var step = 0; step < 1500; step++)
            {
                var now = clock.GetUtcNow();
                var key = keys[rng.Next(keys.Count)];
                var dice = rng.Next(100);
                if (dice < 40)
                {
                    var value = rng.NextBytes(rng.Next(301));
                    run.Step($"put {Show(key)}");
                    engine.Put(key, value);
                    model.Put(key, value);
                }
                else if (dice < 55)
                {
                    run.Step($"delete {Show(key)}");
                    engine.Delete(key);
                    model.Delete(key);
                }
                else if (dice < 60 && snapshots.Count < 4)
                {
                    run.Step($"snapshot s{nextId}");
                    snapshots.Add((engine.GetSnapshot(), model.Clone(), nextId++));
                }
                else if (dice < 65 && iterators.Count < 4)
                {
                    // An iterator pins its own state when created; read a few records now, the rest later.
                    var range = RandomRange(rng, keys);
                    var iterator = engine.NewIterator(range);
                    var expected = model.Scan(range, now);
                    var read = rng.Next(Math.Min(3, expected.Count + 1));
                    run.Step($"iterator i{nextId} over [{range.First}, {range.Last}], read {read} of {expected.Count}");
                    for (var r = 0; r < read; r++)
                    {
                        Assert.True(iterator.MoveNext(), $"iterator i{nextId} ended early");
                        Assert.True(expected[r].Item1.AsSpan().SequenceEqual(iterator.Key), $"iterator i{nextId} record {r} differs");
                    }

                    iterators.Add((iterator, expected, read, nextId++));
                }
                else if (dice < 72 && snapshots.Count > 0)
                {
                    var i = rng.Next(snapshots.Count);
                    var (snapshot, snapshotModel, id) = snapshots[i];
                    var range = RandomRange(rng, keys);
                    run.Step($"scan s{id} over [{range.First}, {range.Last}]");
                    AssertScan(engine, snapshotModel, range, now, snapshot);
                    if (rng.Chance(30))
                    {
                        run.Step($"release s{id}");
                        snapshot.Dispose();
                        snapshots.RemoveAt(i);
                    }
                }
                else if (dice < 78 && iterators.Count > 0)
                {
                    var i = rng.Next(iterators.Count);
                    var (iterator, expected, read, id) = iterators[i];
                    run.Step($"drain i{id}");
                    AssertRemaining(iterator, expected, read, $"iterator i{id}");
                    iterator.Dispose();
                    iterators.RemoveAt(i);
                }
                else if (dice < 88)
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
                    run.Step("scan now");
                    AssertScan(engine, model, TokenRange.All, now);
                }
            }

            foreach (var (snapshot, snapshotModel, id) in snapshots)
            {
                run.Step($"final scan s{id}");
                AssertScan(engine, snapshotModel, TokenRange.All, clock.GetUtcNow(), snapshot);
            }

            foreach (var (iterator, expected, read, id) in iterators)
            {
                run.Step($"final drain i{id}");
                AssertRemaining(iterator, expected, read, $"iterator i{id}");
            }

            AssertScan(engine, model, TokenRange.All, clock.GetUtcNow());
        }
        catch (Exception e)
        {
            throw run.Failure(e);
        }
        finally
        {
            foreach (var (snapshot, _, _) in snapshots)
            {
                snapshot.Dispose();
            }

            foreach (var (iterator, _, _, _) in iterators)
            {
                iterator.Dispose();
            }
        }
    }

    [Fact]
    public void Snapshot_OverwrittenAndDeletedKeysCompacted_StillServesOldValues()
    {
        var clock = new ManualTimeProvider();
        using var dir = new TempDirectory();
        using var engine = StorageEngine.Open(TinyOptions(dir.Path, clock));
        var old = new EngineModel();
        for (var i = 0; i < 500; i++)
        {
            var key = Key(i);
            var value = Value(i, 0);
            engine.Put(key, value);
            old.Put(key, value);
        }

        engine.Flush();
        using var snapshot = engine.GetSnapshot();
        using var iterator = engine.NewIterator(TokenRange.All);
        for (var i = 0; i < 500; i++)
        {
            if (i % 3 == 0)
            {
                engine.Delete(Key(i));
            }
            else
            {
                engine.Put(Key(i), Value(i, 1));
            }
        }

        engine.Flush();
        engine.CompactAll();

        AssertScan(engine, old, TokenRange.All, clock.GetUtcNow(), snapshot);
        AssertRemaining(iterator, old.Scan(TokenRange.All, clock.GetUtcNow()), 0, "iterator opened before the overwrites");
        Assert.Null(engine.Get(Key(0)));
        Assert.Equal(Value(1, 1), engine.Get(Key(1)));
    }

    private static byte[] Key(int i) => System.Text.Encoding.ASCII.GetBytes($"key-{i:D5}");

    private static byte[] Value(int i, int version) => System.Text.Encoding.ASCII.GetBytes($"value-{i}-v{version}-{new string('x', i % 200)}");
}
