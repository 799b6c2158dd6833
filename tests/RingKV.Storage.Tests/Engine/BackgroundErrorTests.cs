using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Core.Errors;
using RingKV.Testing.Faults;
using Xunit;

namespace RingKV.Storage.Tests.Engine;

/// <summary>A failed flush or compaction stops background work and becomes the sticky error every later write reports.</summary>
public sealed class BackgroundErrorTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Flush_TableCannotBeCreated_StickyErrorRefusesLaterWrites()
    {
        var fs = new TableFailingFileSystem(new CrashableFileSystem().Session(), tablesBeforeFailure: 0);
        using var engine = StorageEngine.Open(Options(fs, level0Trigger: 4));
        engine.Put("a"u8, "1"u8);

        var flush = Task.Run(engine.Flush, TestContext.Current.CancellationToken);
        var e = await Assert.ThrowsAsync<RingKVException>(() => flush.WaitAsync(Deadline, TestContext.Current.CancellationToken));

        Assert.Equal(ErrorCode.BackgroundFailure, e.Code);
        Assert.IsType<IOException>(engine.BackgroundError);
        Assert.Equal(ErrorCode.BackgroundFailure, Assert.Throws<RingKVException>(() => engine.Put("b"u8, "2"u8)).Code);
        Assert.Equal(1, engine.Statistics.BackgroundErrors);
        Assert.Equal("1"u8.ToArray(), engine.Get("a"u8)); // still served from the frozen memtable
    }

    [Fact]
    public void Compaction_OutputCannotBeCreated_StickyErrorRefusesLaterWrites()
    {
        // Two flushes succeed; the third table is the compaction's output.
        var fs = new TableFailingFileSystem(new CrashableFileSystem().Session(), tablesBeforeFailure: 2);
        using var engine = StorageEngine.Open(Options(fs, level0Trigger: 2));
        engine.Put("a"u8, "1"u8);
        engine.Flush();
        engine.Put("b"u8, "2"u8);
        try
        {
            engine.Flush();
        }
        catch (RingKVException e) when (e.Code == ErrorCode.BackgroundFailure)
        {
            // The compaction this flush started may fail before the flush returns: then the flush reports it.
        }

        var deadline = DateTime.UtcNow + Deadline;
        while (engine.BackgroundError is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the failed compaction never became the background error");
            Thread.Sleep(1);
        }

        Assert.IsType<IOException>(engine.BackgroundError);
        Assert.Equal(0, engine.Statistics.Compactions);
        Assert.Equal(1, engine.Statistics.BackgroundErrors);
        Assert.Equal(ErrorCode.BackgroundFailure, Assert.Throws<RingKVException>(() => engine.Put("c"u8, "3"u8)).Code);
        Assert.Equal("2"u8.ToArray(), engine.Get("b"u8)); // reads still see the level-0 tables
    }

    private static StorageOptions Options(IFileSystem fs, int level0Trigger) => new()
    {
        Directory = "/mem/engine",
        FileSystem = fs,
        Sync = SyncPolicy.None,
        Level0CompactionTrigger = level0Trigger,
        CompactionNice = 0,
    };

    /// <summary>Creates the first <c>tablesBeforeFailure</c> table files, then fails every later one.</summary>
    private sealed class TableFailingFileSystem(IFileSystem inner, int tablesBeforeFailure) : IFileSystem
    {
        private int _tables;

        public IWritableFile Create(string path)
        {
            if (path.EndsWith(".sst", StringComparison.Ordinal) && Interlocked.Increment(ref _tables) > tablesBeforeFailure)
            {
                throw new IOException($"injected: cannot create {path}");
            }

            return inner.Create(path);
        }

        public IRandomAccessFile OpenRead(string path) => inner.OpenRead(path);

        public bool Exists(string path) => inner.Exists(path);

        public void Delete(string path) => inner.Delete(path);

        public void Rename(string from, string to) => inner.Rename(from, to);

        public IReadOnlyList<string> List(string directory) => inner.List(directory);

        public void CreateDirectory(string path) => inner.CreateDirectory(path);

        public void SyncDirectory(string path) => inner.SyncDirectory(path);

        public void Truncate(string path, long length) => inner.Truncate(path, length);

        public IDisposable Lock(string path) => inner.Lock(path);
    }
}
