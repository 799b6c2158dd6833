using System;
using System.Collections.Generic;
using System.Text;
using RingKV.Core.Hashing;
using RingKV.Testing.Support;
using Xunit;
using static RingKV.Storage.Tests.Engine.EngineChecks;

namespace RingKV.Storage.Tests.Engine;

/// <summary>Records with an expiry vanish when the clock passes it and are dropped by compaction; tombstones outlive their grace only.</summary>
public sealed class ExpiryTests
{
    [Fact]
    public void Put_ClockPassesExpiry_InvisibleAndDroppedByCompaction()
    {
        var clock = new ManualTimeProvider();
        using var dir = new TempDirectory();
        var options = TinyOptions(dir.Path, clock);
        var engine = StorageEngine.Open(options);
        try
        {
            var expiresAt = clock.GetUtcNow() + TimeSpan.FromMinutes(10);
            var model = new EngineModel();
            var keys = new List<byte[]>();
            for (var i = 0; i < 400; i++)
            {
                var key = Encoding.ASCII.GetBytes($"key-{i:D4}");
                var value = Encoding.ASCII.GetBytes($"value-{i}-{new string('v', i % 100)}");
                keys.Add(key);
                if (i % 2 == 0)
                {
                    engine.Put(key, value, expiresAt);
                    model.Put(key, value, expiresAt);
                }
                else
                {
                    engine.Put(key, value);
                    model.Put(key, value);
                }

                if (i == 200)
                {
                    engine.Flush();
                }
            }

            // Before the expiry everything is visible, with its expiry.
            AssertGets(engine, model, keys, clock.GetUtcNow());
            AssertScan(engine, model, TokenRange.All, clock.GetUtcNow());
            Assert.Equal(400, model.Scan(TokenRange.All, clock.GetUtcNow()).Count);

            clock.Advance(TimeSpan.FromMinutes(11));
            var now = clock.GetUtcNow();
            Assert.Equal(200, model.Scan(TokenRange.All, now).Count);
            AssertGets(engine, model, keys, now);
            AssertScan(engine, model, TokenRange.All, now);

            engine.CompactAll();
            Assert.True(engine.Statistics.ExpiredDropped > 0, $"ExpiredDropped = {engine.Statistics.ExpiredDropped} after compacting 200 expired records");
            AssertGets(engine, model, keys, now);
            AssertScan(engine, model, TokenRange.All, now);

            engine.Dispose();
            engine = StorageEngine.Open(options);
            AssertGets(engine, model, keys, now);
            AssertScan(engine, model, TokenRange.All, now);
        }
        finally
        {
            engine.Dispose();
        }
    }

    [Fact]
    public void Put_ExpiredValueOverOlderValue_OlderValueNotResurrected()
    {
        var clock = new ManualTimeProvider();
        using var dir = new TempDirectory();
        using var engine = StorageEngine.Open(TinyOptions(dir.Path, clock));
        var key = "shadowed"u8.ToArray();
        engine.Put(key, "old"u8);
        engine.Flush();
        engine.Put(key, "new"u8, clock.GetUtcNow() + TimeSpan.FromSeconds(5));
        engine.Flush();
        Assert.Equal("new"u8.ToArray(), engine.Get(key));

        clock.Advance(TimeSpan.FromSeconds(6));
        Assert.Null(engine.Get(key));
        engine.CompactAll();
        Assert.Null(engine.Get(key));
        using var iterator = engine.NewIterator(TokenRange.All);
        Assert.False(iterator.MoveNext());
    }

    [Fact]
    public void Delete_CompactedWithinAndAfterGrace_TombstoneKeptThenDropped()
    {
        var clock = new ManualTimeProvider();
        using var dir = new TempDirectory();
        var options = TinyOptions(dir.Path, clock, tombstoneGrace: TimeSpan.FromHours(1));
        using var engine = StorageEngine.Open(options);
        var keys = new List<byte[]>();
        for (var i = 0; i < 300; i++)
        {
            keys.Add(Encoding.ASCII.GetBytes($"key-{i:D4}"));
            engine.Put(keys[i], Encoding.ASCII.GetBytes($"value-{i}"));
        }

        engine.Flush();
        for (var i = 0; i < 300; i += 3)
        {
            engine.Delete(keys[i]);
        }

        engine.Flush();
        engine.CompactAll();
        Assert.Equal(0, engine.Statistics.TombstonesDropped);
        AssertDeleted(engine, keys);

        clock.Advance(TimeSpan.FromMinutes(59));
        engine.CompactAll();
        Assert.Equal(0, engine.Statistics.TombstonesDropped);
        AssertDeleted(engine, keys);

        clock.Advance(TimeSpan.FromMinutes(2));
        engine.CompactAll();
        Assert.True(engine.Statistics.TombstonesDropped > 0, "tombstones past their grace were dropped");
        Assert.True(engine.Statistics.TombstonesDropped <= 100, $"TombstonesDropped = {engine.Statistics.TombstonesDropped}, but only 100 deletes were written");
        AssertDeleted(engine, keys);
    }

    private static void AssertDeleted(StorageEngine engine, List<byte[]> keys)
    {
        var live = 0;
        using (var iterator = engine.NewIterator(TokenRange.All))
        {
            while (iterator.MoveNext())
            {
                live++;
            }
        }

        Assert.Equal(200, live);
        for (var i = 0; i < keys.Count; i++)
        {
            var value = engine.Get(keys[i]);
            if (i % 3 == 0)
            {
                Assert.Null(value);
            }
            else
            {
                Assert.Equal(Encoding.ASCII.GetBytes($"value-{i}"), value);
            }
        }
    }
}
