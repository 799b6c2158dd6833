using System;
using System.IO;
using System.IO.Hashing;
using System.Linq;
using System.Text;
using RingKV.Core.Errors;
using RingKV.Core.Random;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Engine;

/// <summary>Damaged bytes in the log tail, a data block or a table footer: a clear error naming the file, intact data still served, never wrong data.</summary>
public sealed class CorruptionTests
{
    private const int Records = 200;

    [Fact]
    public void Open_LogTailFlipped_ServesEverythingBeforeTheDamage()
    {
        using var dir = new TempDirectory();
        var clock = new ManualTimeProvider();
        var options = LogOptions(dir.Path, clock);
        using (var engine = StorageEngine.Open(options))
        {
            for (var i = 0; i < Records; i++)
            {
                engine.Put(Key("log", i), Value("log", i, 100));
            }
        }

        var log = NewestNonEmpty(dir.Path, "*.log");
        using (var file = File.Open(log, FileMode.Open, FileAccess.ReadWrite))
        {
            // The last record holds a 100-byte value: these bytes lie inside it.
            FlipByte(file, file.Length - 3);
            FlipByte(file, file.Length - 9);
        }

        using var reopened = StorageEngine.Open(options);
        Assert.True(reopened.Statistics.CorruptLogBytesDropped > 0, $"CorruptLogBytesDropped = {reopened.Statistics.CorruptLogBytesDropped} after damaging {Path.GetFileName(log)}");
        AssertIntactBeforeDamage(reopened, "log");
    }

    [Fact]
    public void Open_LogTailTorn_ServesEverythingBeforeTheTear()
    {
        using var dir = new TempDirectory();
        var clock = new ManualTimeProvider();
        var options = LogOptions(dir.Path, clock);
        using (var engine = StorageEngine.Open(options))
        {
            for (var i = 0; i < Records; i++)
            {
                engine.Put(Key("torn", i), Value("torn", i, 100));
            }
        }

        var log = NewestNonEmpty(dir.Path, "*.log");
        using (var file = File.Open(log, FileMode.Open, FileAccess.ReadWrite))
        {
            file.SetLength(file.Length - 7);
        }

        using var reopened = StorageEngine.Open(options);
        Assert.True(reopened.Statistics.CorruptLogBytesDropped > 0, $"CorruptLogBytesDropped = {reopened.Statistics.CorruptLogBytesDropped} after tearing {Path.GetFileName(log)}");
        AssertIntactBeforeDamage(reopened, "torn");

        // The engine keeps working after recovery: new writes survive another reopen.
        reopened.Put("after"u8, "tear"u8);
        reopened.Dispose();
        using var again = StorageEngine.Open(options);
        Assert.Equal("tear"u8.ToArray(), again.Get("after"u8));
        AssertIntactBeforeDamage(again, "torn");
    }

    [Fact]
    public void Get_DataBlockFlipped_ThrowsCorruptionNamingTableAndServesOtherBlocks()
    {
        using var dir = new TempDirectory();
        var clock = new ManualTimeProvider();
        var options = TableOptions(dir.Path, clock);
        string damagedTable;
        using (var engine = StorageEngine.Open(options))
        {
            damagedTable = WriteTable(engine, dir.Path, "damaged");
            WriteTable(engine, dir.Path, "intact");
        }

        using (var file = File.Open(damagedTable, FileMode.Open, FileAccess.ReadWrite))
        {
            // Data blocks come first in a table; offset 10 lies inside the first one.
            FlipByte(file, 10);
        }

        using var reopened = StorageEngine.Open(options);
        var order = Enumerable.Range(0, Records).OrderBy(i => Key("damaged", i), KeyOrder.Instance).ToList();
        var fileName = Path.GetFileName(damagedTable);

        // The first key in (token, key) order lives in the first block.
        var first = Assert.Throws<CorruptionException>(() => reopened.Get(Key("damaged", order[0])));
        Assert.Contains(fileName, first.Message, StringComparison.Ordinal);

        // The last key lives in the last data block, which is intact.
        Assert.Equal(Value("damaged", order[^1], 100), reopened.Get(Key("damaged", order[^1])));

        // Every key of the damaged table is either served right or reported; never wrong, never missing.
        var failed = 0;
        foreach (var i in order)
        {
            try
            {
                Assert.Equal(Value("damaged", i, 100), reopened.Get(Key("damaged", i)));
            }
            catch (CorruptionException e)
            {
                Assert.Contains(fileName, e.Message, StringComparison.Ordinal);
                failed++;
            }
        }

        Assert.InRange(failed, 1, Records / 2);

        // The other table reads fine.
        for (var i = 0; i < Records; i++)
        {
            Assert.Equal(Value("intact", i, 100), reopened.Get(Key("intact", i)));
        }
    }

    [Fact]
    public void Open_TableFooterFlipped_ReportsCorruptionNamingTable()
    {
        using var dir = new TempDirectory();
        var clock = new ManualTimeProvider();
        var options = TableOptions(dir.Path, clock);
        string damagedTable;
        using (var engine = StorageEngine.Open(options))
        {
            damagedTable = WriteTable(engine, dir.Path, "footer");
        }

        using (var file = File.Open(damagedTable, FileMode.Open, FileAccess.ReadWrite))
        {
            // 40 bytes from the end lies in the footer's block offsets, which its checksum covers.
            FlipByte(file, file.Length - 40);
        }

        var fileName = Path.GetFileName(damagedTable);
        StorageEngine? reopened = null;
        try
        {
            // Either Open refuses the table, or the first read of it does; no read returns wrong data.
            try
            {
                reopened = StorageEngine.Open(options);
            }
            catch (CorruptionException e)
            {
                Assert.Contains(fileName, e.Message, StringComparison.Ordinal);
                return;
            }

            var reported = 0;
            for (var i = 0; i < Records; i++)
            {
                try
                {
                    var value = reopened.Get(Key("footer", i));
                    Assert.Equal(Value("footer", i, 100), value);
                }
                catch (CorruptionException e)
                {
                    Assert.Contains(fileName, e.Message, StringComparison.Ordinal);
                    reported++;
                }
            }

            Assert.True(reported > 0, $"no read reported the damaged footer of {fileName}");
        }
        finally
        {
            reopened?.Dispose();
        }
    }

    private static StorageOptions LogOptions(string directory, TimeProvider clock) => new()
    {
        Directory = directory,
        Sync = SyncPolicy.Always,
        MemtableBytes = 4 << 20, // the records stay in the log: no flush
        Time = clock,
    };

    private static StorageOptions TableOptions(string directory, TimeProvider clock) => new()
    {
        Directory = directory,
        Sync = SyncPolicy.Always,
        BlockSizeBytes = 1024,
        Level0CompactionTrigger = 8, // two tables stay two tables
        Time = clock,
    };

    /// <summary>Writes <see cref="Records"/> keys, flushes, and returns the table file that flush created.</summary>
    private static string WriteTable(StorageEngine engine, string directory, string prefix)
    {
        var before = Directory.GetFiles(directory, "*.sst", SearchOption.AllDirectories).ToHashSet();
        for (var i = 0; i < Records; i++)
        {
            engine.Put(Key(prefix, i), Value(prefix, i, 100));
        }

        engine.Flush();
        var created = Directory.GetFiles(directory, "*.sst", SearchOption.AllDirectories).Where(f => !before.Contains(f)).ToList();
        Assert.True(created.Count == 1, $"flush created {created.Count} .sst files: {string.Join(", ", created)}");
        return created[0];
    }

    private static void AssertIntactBeforeDamage(StorageEngine engine, string prefix)
    {
        // Every record but the last lies wholly before the damage.
        for (var i = 0; i < Records - 1; i++)
        {
            Assert.Equal(Value(prefix, i, 100), engine.Get(Key(prefix, i)));
        }

        // The damaged last record is dropped, or (if the damage missed it) intact; never wrong.
        var last = engine.Get(Key(prefix, Records - 1));
        Assert.True(last is null || last.AsSpan().SequenceEqual(Value(prefix, Records - 1, 100)), "the damaged record came back with a wrong value");
    }

    private static string NewestNonEmpty(string directory, string pattern)
    {
        var files = new DirectoryInfo(directory).GetFiles(pattern, SearchOption.AllDirectories)
            .Where(f => f.Length > 0)
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
        Assert.True(files.Count > 0, $"no non-empty {pattern} file in {directory}: {string.Join(", ", Directory.GetFiles(directory).Select(Path.GetFileName))}");
        return files[^1].FullName;
    }

    private static void FlipByte(FileStream file, long offset)
    {
        Assert.InRange(offset, 0, file.Length - 1);
        file.Position = offset;
        var b = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(b ^ 0x5A));
    }

    private static byte[] Key(string prefix, int i) => Encoding.ASCII.GetBytes($"{prefix}-{i:D5}");

    private static byte[] Value(string prefix, int i, int length)
    {
        var value = new byte[length];
        new SplitMix64((long)XxHash64.HashToUInt64(Encoding.ASCII.GetBytes(prefix)) + i).NextBytes(value);
        return value;
    }
}
