using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using RingKV.Core.Errors;
using RingKV.Core.Hashing;
using RingKV.Core.Random;
using RingKV.Testing.Faults;
using Xunit;

namespace RingKV.Storage.Tests.Engine;

/// <summary>
/// Power loss before each file system operation of one fixed workload, in turn, with every combination of the name
/// changes not yet made durable kept or undone: each recovery opens and holds every acknowledged write, and the
/// write in flight whole or not at all.
/// </summary>
/// <remarks>
/// The workload passes through each step whose durability the engine arranges: log appends and fsyncs, a new log
/// segment without a flush, a multi-operation batch, flushes, a compaction, an ingest of two tables, obsolete logs and
/// tables deleted, a manifest replaced, and a reopen that replays the log into a table. Unsynced bytes are all lost, so
/// a directory sync or fsync left out fails this test at every run, not at random: each such crash point is among the
/// swept ones.
/// </remarks>
public sealed class CrashPointTests
{
    private const string Directory = "/mem/points";

    [Fact]
    public void Engine_PowerLossBeforeEachFileOperation_KeepsEveryAcknowledgedWrite()
    {
        // A run without a crash counts the operations (and checks the workload itself).
        var clean = new CrashableFileSystem();
        var operations = 0;
        clean.BeforeOperation = _ => Interlocked.Increment(ref operations);
        var full = new Workload(clean);
        full.Run();
        Verify(clean, full, "the run without a crash");
        Assert.True(operations > 50, $"the workload made only {operations} file operations");

        var crashes = 0;
        for (var point = 0; point < operations; point++)
        {
            // First with every pending name change undone; that run also tells how many there were to combine.
            var pending = CrashAt(point, mask: 0);
            crashes++;
            foreach (var mask in Masks(pending.Count))
            {
                CrashAt(point, mask);
                crashes++;
            }
        }

        Assert.True(crashes > operations, $"{crashes} crashes for {operations} crash points: no combination of pending name changes was tried");
    }

    /// <summary>
    /// Runs the workload, crashes before its operation number <paramref name="point"/> keeping the pending name changes
    /// whose bits are set in <paramref name="mask"/> (in <see cref="CrashableFileSystem.PendingNames"/> order), verifies
    /// the recovery and returns the pending names.
    /// </summary>
    private static IReadOnlyList<string> CrashAt(int point, int mask)
    {
        var fs = new CrashableFileSystem();
        var workload = new Workload(fs);
        var count = -1;
        IReadOnlyList<string> pending = [];
        var what = "(after the last operation)";
        fs.BeforeOperation = operation =>
        {
            if (Interlocked.Increment(ref count) != point)
            {
                return;
            }

            what = operation.ToString();
            pending = fs.PendingNames;
            var names = pending;
            fs.Crash(name => (mask & (1 << IndexOf(names, name))) != 0);
        };

        workload.Run();
        fs.BeforeOperation = null;
        if (fs.Crashes == 0)
        {
            // Background deletes may make a run shorter than the counted one: crash after its end instead.
            pending = fs.PendingNames;
            var names = pending;
            fs.Crash(name => (mask & (1 << IndexOf(names, name))) != 0);
        }

        var kept = new List<string>();
        for (var i = 0; i < pending.Count; i++)
        {
            if ((mask & (1 << i)) != 0)
            {
                kept.Add(pending[i]);
            }
        }

        var described = $"power lost before operation {point} ({what}) in step '{workload.Current}', keeping the name changes of [{string.Join(", ", kept)}] of [{string.Join(", ", pending)}]";
        Verify(fs, workload, described);
        return pending;
    }

    /// <summary>
    /// The combinations of <paramref name="pending"/> name changes to try besides none: all of them when few; else
    /// all, each alone and all but each.
    /// </summary>
    private static List<int> Masks(int pending)
    {
        var masks = new List<int>();
        var all = (1 << pending) - 1;
        if (pending <= 4)
        {
            for (var mask = 1; mask <= all; mask++)
            {
                masks.Add(mask);
            }

            return masks;
        }

        masks.Add(all);
        for (var i = 0; i < pending; i++)
        {
            masks.Add(1 << i);
            masks.Add(all & ~(1 << i));
        }

        return masks;
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return i;
            }
        }

        return 31;
    }

    private static void Verify(CrashableFileSystem fs, Workload workload, string context)
    {
        StorageEngine engine;
        try
        {
            engine = StorageEngine.Open(Workload.Options(fs.Session()));
        }
        catch (Exception e) when (e is RingKVException or System.IO.IOException)
        {
            throw new Xunit.Sdk.XunitException($"recovery failed after {context}: {e.Message}", e);
        }

        using (engine)
        {
            var inFlight = workload.InFlight;
            var applied = 0;
            foreach (var (key, expected) in inFlight)
            {
                var actual = engine.Get(Encoding.UTF8.GetBytes(key));
                if (Same(actual, expected))
                {
                    applied++;
                }
                else
                {
                    Assert.True(Same(actual, workload.Acked.GetValueOrDefault(key)), $"{key} is neither its acknowledged value nor the one in flight after {context}");
                }
            }

            // A batch that overwrites a key with its own value cannot tell; the workload writes none.
            Assert.True(applied == 0 || applied == inFlight.Count, $"the batch in flight was applied in part ({applied} of {inFlight.Count}) after {context}");
            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (key, expected) in workload.Acked)
            {
                written.Add(key);
                if (FindKey(inFlight, key))
                {
                    continue;
                }

                var actual = engine.Get(Encoding.UTF8.GetBytes(key));
                Assert.True(Same(actual, expected), $"acknowledged {(expected is null ? "delete" : "put")} of {key} lost (found {(actual is null ? "nothing" : $"{actual.Length} bytes")}) after {context}");
            }

            foreach (var (key, _) in inFlight)
            {
                written.Add(key);
            }

            using var iterator = engine.NewIterator(TokenRange.All);
            while (iterator.MoveNext())
            {
                var key = Encoding.UTF8.GetString(iterator.Key);
                Assert.True(written.Contains(key), $"{key} appeared, never written, after {context}");
            }
        }
    }

    private static bool FindKey(IReadOnlyList<(string Key, byte[]? Value)> changes, string key)
    {
        foreach (var (k, _) in changes)
        {
            if (k == key)
            {
                return true;
            }
        }

        return false;
    }

    private static bool Same(byte[]? actual, byte[]? expected) =>
        expected is null ? actual is null : actual is not null && actual.AsSpan().SequenceEqual(expected);

    /// <summary>One fixed sequence of writes, flushes, a compaction and a reopen, and what it acknowledged.</summary>
    private sealed class Workload(CrashableFileSystem fs)
    {
        private const int ValueBytes = 500;

        private StorageEngine? _engine;
        private int _version;

        /// <summary>Each written key's last acknowledged value (null: deleted).</summary>
        public Dictionary<string, byte[]?> Acked { get; } = new(StringComparer.Ordinal);

        /// <summary>The changes of the write that failed, when one did.</summary>
        public IReadOnlyList<(string Key, byte[]? Value)> InFlight { get; private set; } = [];

        public string Current { get; private set; } = "";

        /// <summary>
        /// Small segments and a memtable that never fills, so segments switch without a flush and every flush and
        /// compaction is one the workload asks for.
        /// </summary>
        public static StorageOptions Options(IFileSystem fs) => new()
        {
            Directory = Directory,
            FileSystem = fs,
            Sync = SyncPolicy.Always,
            MemtableBytes = 1 << 20,
            LogSegmentBytes = 4096,
            TargetFileBytes = 4096,
            BlockSizeBytes = 1024,
            TombstoneGrace = TimeSpan.Zero,
            CompactionNice = 0,
        };

        /// <summary>Runs to the end or to the first failure (the crash), then abandons the engine.</summary>
        public void Run()
        {
            try
            {
                Step("open", () => _engine = StorageEngine.Open(Options(fs.Session())));
                for (var i = 0; i < 12; i++)
                {
                    Write((Key(i), NextValue())); // about ten records fill a segment: the log switches without a flush
                }

                Write((Key(12), NextValue()), (Key(13), NextValue()), (Key(0), null), (Key(1), NextValue()));
                Step("flush", () => _engine!.Flush());
                for (var i = 2; i < 8; i++)
                {
                    Write((Key(i), i % 3 == 0 ? null : NextValue()));
                }

                Step("flush", () => _engine!.Flush());
                Step("compact all", () => _engine!.CompactAll());
                Ingest([.. Enumerable.Range(30, 10).Select(i => (Key(i), NextValue()))]);
                Write((Key(20), NextValue()), (Key(2), null));
                for (var i = 8; i < 12; i++)
                {
                    Write((Key(i), NextValue()));
                }

                Step("close", () => _engine!.Dispose());
                Step("reopen", () => _engine = StorageEngine.Open(Options(fs.Session())));
                Write((Key(21), NextValue()));
                Write((Key(3), NextValue()), (Key(21), null));
                Step("flush", () => _engine!.Flush());
                Step("close", () => _engine!.Dispose());
                _engine = null;
            }
            catch (Exception e) when (e is RingKVException or System.IO.IOException)
            {
                // The power went: what failed is not acknowledged.
            }
            finally
            {
                Abandon();
            }
        }

        private static string Key(int i) => $"key{i:D2}";

        private void Step(string what, Action action)
        {
            Current = what;
            action();
        }

        /// <summary>New keys stored by an ingest as two runs (two tables, one manifest write): all of them, or none.</summary>
        private void Ingest((string Key, byte[] Value)[] records)
        {
            var sorted = records.OrderBy(r => Token.Of(Encoding.UTF8.GetBytes(r.Key)).Value).ThenBy(r => r.Key, StringComparer.Ordinal)
                .Select(r => new IngestRecord(Encoding.UTF8.GetBytes(r.Key), r.Value, 0)).ToList();
            Current = $"ingest of {records.Length}";
            InFlight = [.. records.Select(r => (r.Key, (byte[]?)r.Value))];
            _engine!.IngestRuns([sorted[..(sorted.Count / 2)], sorted[(sorted.Count / 2)..]], _engine.LastSequence);
            foreach (var (key, value) in records)
            {
                Acked[key] = value;
            }

            InFlight = [];
        }

        private void Write(params (string Key, byte[]? Value)[] changes)
        {
            var batch = new WriteBatch();
            foreach (var (key, value) in changes)
            {
                if (value is null)
                {
                    batch.Delete(Encoding.UTF8.GetBytes(key));
                }
                else
                {
                    batch.Put(Encoding.UTF8.GetBytes(key), value);
                }
            }

            Current = changes.Length == 1 ? $"write {changes[0].Key}" : $"batch of {changes.Length}";
            InFlight = changes;
            _engine!.Write(batch);
            foreach (var (key, value) in changes)
            {
                Acked[key] = value;
            }

            InFlight = [];
        }

        /// <summary>Each value distinct from every other, so a recovered value names the write it came from.</summary>
        private byte[] NextValue() => new SplitMix64(++_version).NextBytes(ValueBytes);

        private void Abandon()
        {
            try
            {
                _engine?.Dispose(); // joins the background threads; what it writes fails after the crash
            }
            catch (Exception e) when (e is RingKVException or System.IO.IOException)
            {
            }

            _engine = null;
        }
    }
}
