using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using RingKV.Core.Errors;
using RingKV.Core.Hashing;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Engine;

/// <summary>Ingest: sorted records stored as one table, beside the log and the memtable, as a joining node's streams do.</summary>
public sealed class IngestTests
{
    private static StorageOptions Options(string dir, ManualTimeProvider time) =>
        new() { Directory = dir, Sync = SyncPolicy.Always, Time = time };

    private static List<IngestRecord> Records(int from, int count, string prefix = "k", long expiry = 0) =>
        Enumerable.Range(from, count)
            .Select(i => Encoding.UTF8.GetBytes($"{prefix}{i:D6}"))
            .Order(KeyOrder.Instance)
            .Select(k => new IngestRecord(k, Encoding.UTF8.GetBytes("v-" + Encoding.UTF8.GetString(k)), expiry))
            .ToList();

    [Fact]
    public void Ingest_IntoAnEmptyEngine_EveryRecordReadsBackAndSurvivesReopen()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        var records = Records(0, 5000);
        using (var engine = StorageEngine.Open(Options(dir.Path, time)))
        {
            var outcome = engine.Ingest(records, engine.LastSequence);

            Assert.Equal(6, outcome.Level); // nothing to overlap: the bottom level, which compaction never rewrites from above
            Assert.True(outcome.FileBytes > 0);
            Assert.Equal(1, engine.Statistics.Ingests);
            foreach (var r in records)
            {
                Assert.Equal(r.Value, engine.Get(r.Key));
            }
        }

        using var reopened = StorageEngine.Open(Options(dir.Path, time));
        Assert.All(records, r => Assert.Equal(r.Value, reopened.Get(r.Key)));
        using var it = reopened.NewIterator(TokenRange.All);
        var seen = 0;
        while (it.MoveNext())
        {
            seen++;
        }

        Assert.Equal(records.Count, seen);
    }

    [Fact]
    public void Ingest_RecordsWithExpiry_KeepTheirExpiry()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        var expiry = time.GetUtcNow().AddMinutes(5).ToUnixTimeMilliseconds();
        var records = Records(0, 10, expiry: expiry);
        using var engine = StorageEngine.Open(Options(dir.Path, time));

        engine.Ingest(records, engine.LastSequence);

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        Assert.True(engine.TryGet(records[3].Key, buffer, out var expiresAt));
        Assert.Equal(expiry, expiresAt!.Value.ToUnixTimeMilliseconds());
        time.Advance(TimeSpan.FromMinutes(6));
        Assert.Null(engine.Get(records[3].Key));
    }

    [Fact]
    public void Ingest_AWriteAfterTheSequenceWasRead_WinsOverTheIngestedRecord()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        using var engine = StorageEngine.Open(Options(dir.Path, time));
        engine.Put("other"u8, "x"u8);
        var records = Records(0, 100);
        var sequence = engine.LastSequence;
        engine.Put(records[7].Key, "newer"u8); // between the caller's check and the ingest: found afterwards by its sequence
        engine.Delete(records[8].Key);

        engine.Ingest(records, sequence);

        Assert.Equal("newer"u8.ToArray(), engine.Get(records[7].Key));
        Assert.Null(engine.Get(records[8].Key));
        Assert.Equal(records[9].Value, engine.Get(records[9].Key));
        Assert.True(engine.TryGetNewestSequence(records[7].Key, out var s7) && s7 > sequence);
        Assert.True(engine.TryGetNewestSequence(records[8].Key, out var s8) && s8 > sequence); // a tombstone is a version
        Assert.True(engine.TryGetNewestSequence(records[9].Key, out var s9) && s9 == sequence);
        Assert.False(engine.TryGetNewestSequence("absent"u8, out _));

        engine.CompactAll(); // compaction agrees: newest by sequence
        Assert.Equal("newer"u8.ToArray(), engine.Get(records[7].Key));
        Assert.Null(engine.Get(records[8].Key));
        Assert.Equal(records[9].Value, engine.Get(records[9].Key));
        Assert.Equal("x"u8.ToArray(), engine.Get("other"u8));
    }

    [Fact]
    public void Ingest_ThenLaterWrites_TheWritesWinThroughFlushAndCompaction()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        var records = Records(0, 2000);
        using (var engine = StorageEngine.Open(Options(dir.Path, time)))
        {
            engine.Ingest(records, engine.LastSequence);
            engine.Put(records[0].Key, "later"u8);
            engine.Delete(records[1].Key);
            engine.Flush();
            engine.CompactAll();
        }

        using var reopened = StorageEngine.Open(Options(dir.Path, time));
        Assert.Equal("later"u8.ToArray(), reopened.Get(records[0].Key));
        Assert.Null(reopened.Get(records[1].Key));
        Assert.Equal(records[2].Value, reopened.Get(records[2].Key));
    }

    [Fact]
    public void Ingest_OverlappingTheBottomLevel_GoesToTheDeepestLevelItDoesNotOverlap()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        using var engine = StorageEngine.Open(Options(dir.Path, time));
        var first = engine.Ingest(Records(0, 1000, "a"), engine.LastSequence);
        var second = engine.Ingest(Records(0, 1000, "b"), engine.LastSequence); // spread over the same tokens

        Assert.Equal(6, first.Level);
        Assert.Equal(5, second.Level);
        Assert.All(Records(0, 1000, "a").Concat(Records(0, 1000, "b")), r => Assert.Equal(r.Value, engine.Get(r.Key)));
    }

    [Fact]
    public void IngestRuns_DisjointRuns_GoSideBySideIntoTheBottomLevel_OverlappingOnesAreRefused()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        using var engine = StorageEngine.Open(Options(dir.Path, time));
        var all = Records(0, 3000);
        IReadOnlyList<IngestRecord>[] runs = [all[..1000], all[1000..2000], all[2000..]]; // consecutive slices of the token order

        var outcome = engine.IngestRuns(runs, engine.LastSequence);

        Assert.Equal(6, outcome.Level);
        Assert.Equal(3, engine.Statistics.Ingests);
        Assert.Equal(3, engine.GetLevels()[6].Files);
        Assert.All(all, r => Assert.Equal(r.Value, engine.Get(r.Key)));

        var more = Records(0, 100, "z");
        var e = Assert.Throws<RingKVException>(() => engine.IngestRuns([more, more.ToList()], engine.LastSequence));
        Assert.Contains("must not overlap", e.Message, StringComparison.Ordinal);
        Assert.All(more, r => Assert.Null(engine.Get(r.Key)));
        Assert.Equal(3, Directory.GetFiles(dir.Path, "*.sst").Length);
    }

    [Fact]
    public void MarkHeld_AnyVersionCounts_InTheMemtableAndInTables_AsTheNewestSequenceSays()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        using var engine = StorageEngine.Open(Options(dir.Path, time));
        var keys = Records(0, 400).Select(r => r.Key).ToList(); // the engine's order
        engine.Put(keys[10], "v"u8);
        engine.Delete(keys[20]);
        engine.Put(keys[30], "x"u8, time.GetUtcNow().AddSeconds(1));
        engine.Flush(); // those three in a table, the next ones in the memtable
        engine.Put(keys[40], "w"u8);
        engine.Delete(keys[399]);
        time.Advance(TimeSpan.FromSeconds(5)); // keys[30] expired: still a version
        engine.Ingest(Records(0, 5, "other"), engine.LastSequence);

        var held = new bool[keys.Count];
        engine.MarkHeld(keys, held);

        int[] expected = [10, 20, 30, 40, 399];
        Assert.Equal(expected, Enumerable.Range(0, keys.Count).Where(i => held[i]));
        Assert.All(Enumerable.Range(0, keys.Count), i => Assert.Equal(engine.TryGetNewestSequence(keys[i], out _), held[i]));

        var unsorted = keys.ToList();
        unsorted.Reverse();
        var e = Assert.Throws<RingKVException>(() => engine.MarkHeld(unsorted, new bool[unsorted.Count]));
        Assert.Contains("sorted", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ingest_UnsortedOrRepeatedKeys_IsRefusedAndStoresNothing()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        using var engine = StorageEngine.Open(Options(dir.Path, time));
        var records = Records(0, 50);
        var unsorted = records.ToList();
        (unsorted[10], unsorted[11]) = (unsorted[11], unsorted[10]);
        var repeated = records.ToList();
        repeated.Insert(5, records[5]);
        var tablesBefore = Directory.GetFiles(dir.Path, "*.sst").Length;

        var e1 = Assert.Throws<RingKVException>(() => engine.Ingest(unsorted, engine.LastSequence));
        var e2 = Assert.Throws<RingKVException>(() => engine.Ingest(repeated, engine.LastSequence));
        var e3 = Assert.Throws<RingKVException>(() => engine.Ingest([], engine.LastSequence));
        var e4 = Assert.Throws<RingKVException>(() => engine.Ingest(records, engine.LastSequence + 1));

        Assert.Contains("sorted", e1.Message, StringComparison.Ordinal);
        Assert.Contains("sorted", e2.Message, StringComparison.Ordinal);
        Assert.Contains("nothing", e3.Message, StringComparison.Ordinal);
        Assert.Contains("above the last sequence", e4.Message, StringComparison.Ordinal);
        Assert.Equal(tablesBefore, Directory.GetFiles(dir.Path, "*.sst").Length);
        Assert.All(records, r => Assert.Null(engine.Get(r.Key)));
    }
}
