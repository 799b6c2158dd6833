using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Core.Random;
using RingKV.Testing.Faults;
using Xunit;

namespace RingKV.Storage.Tests.Commit;

/// <summary>The commit pipeline: asynchronous writes never park their caller, complete exactly once, after their fsync.</summary>
public sealed class CommitPipelineTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WriteAsync_SyncAlways_ReturnsBeforeTheFsyncAndCompletesAfterIt()
    {
        var gate = new GatedFileSystem(new CrashableFileSystem().Session());
        using var engine = StorageEngine.Open(Options(gate, SyncPolicy.Always));
        using (gate.HoldSyncs())
        {
            var batch = new WriteBatch().Put("k"u8, "v"u8);
            var pending = engine.WriteAsync(batch);

            // The caller got its task back while the fsync is held: its thread was not parked on it.
            Assert.False(pending.IsCompleted);
            Assert.True(gate.WaitForHeldSync(Deadline), "the commit thread never began the fsync");
            Assert.False(pending.IsCompleted);
            gate.ReleaseSyncs();
            await pending.AsTask().WaitAsync(Deadline, TestContext.Current.CancellationToken);
        }

        Assert.Equal("v"u8.ToArray(), engine.Get("k"u8));
    }

    [Fact]
    public async Task WriteAsync_PeriodicSyncAndRoom_CompletesInlineWithoutTheCommitThread()
    {
        var fs = new CrashableFileSystem().Session();
        using var engine = StorageEngine.Open(Options(fs, SyncPolicy.Periodic(3_600_000)));
        var batch = new WriteBatch().Put("k"u8, "v"u8);
        var task = engine.WriteAsync(batch);
        Assert.True(task.IsCompletedSuccessfully); // no fsync and no stall: led by the caller itself
        await task;
        Assert.Equal("v"u8.ToArray(), engine.Get("k"u8));
    }

    [Fact]
    public async Task WriteAsync_NewLogSegmentNeeded_CallerDoesNoFileIO()
    {
        var gate = new GatedFileSystem(new CrashableFileSystem().Session());
        using var engine = StorageEngine.Open(Options(gate, SyncPolicy.Periodic(3_600_000), logSegmentBytes: 4096));
        var value = new byte[1000];
        for (var i = 0; i < 8; i++)
        {
            await engine.WriteAsync(new WriteBatch().Put(Encoding.UTF8.GetBytes($"fill{i}"), value)); // past one segment
        }

        using (gate.HoldCreates())
        {
            var pending = engine.WriteAsync(new WriteBatch().Put("after"u8, value));
            Assert.False(pending.IsCompleted); // the segment switch went to the commit thread
            Assert.True(gate.WaitForHeldCreate(Deadline), "the commit thread never created the new segment");
            gate.ReleaseCreates();
            await pending.AsTask().WaitAsync(Deadline, TestContext.Current.CancellationToken);
        }

        Assert.Equal(value, engine.Get("after"u8));
    }

    [Fact]
    public async Task WriteAsync_ManyConcurrentWritersUnderPeriodicSync_FollowersSpunForOrAwaitedAllCompleteOnce()
    {
        // Followers spin for an inline leader and are claimed by it, or give up and await; small log segments make
        // leaders hand groups to the commit thread often, which must then complete (not claim) a request nobody spins for.
        var fs = new CrashableFileSystem().Session();
        using var engine = StorageEngine.Open(Options(fs, SyncPolicy.Periodic(3_600_000), logSegmentBytes: 16 * 1024));
        const int Writers = 16;
        const int PerWriter = 400;
        var tasks = new Task[Writers];
        for (var t = 0; t < Writers; t++)
        {
            var id = t;
            tasks[t] = Task.Run(async () =>
            {
                for (var i = 0; i < PerWriter; i++)
                {
                    await engine.WriteAsync(new WriteBatch().Put(Encoding.UTF8.GetBytes($"s{id}-{i}"), Encoding.UTF8.GetBytes($"v{id}-{i}")));
                }
            }, TestContext.Current.CancellationToken);
        }

        await Task.WhenAll(tasks).WaitAsync(Deadline, TestContext.Current.CancellationToken);
        for (var t = 0; t < Writers; t++)
        {
            for (var i = 0; i < PerWriter; i++)
            {
                Assert.Equal(Encoding.UTF8.GetBytes($"v{t}-{i}"), engine.Get(Encoding.UTF8.GetBytes($"s{t}-{i}")));
            }
        }
    }

    [Fact]
    public async Task WriteAsync_ManyConcurrentWritersUnderSyncAlways_EveryAcknowledgedWriteSurvivesPowerLoss()
    {
        var crashable = new CrashableFileSystem();
        var engine = StorageEngine.Open(Options(crashable.Session(), SyncPolicy.Always));
        const int Writers = 32;
        const int PerWriter = 50;
        var acknowledged = new List<string>[Writers];
        var tasks = new Task[Writers];
        for (var t = 0; t < Writers; t++)
        {
            var id = t;
            acknowledged[id] = [];
            tasks[t] = Task.Run(async () =>
            {
                for (var i = 0; i < PerWriter; i++)
                {
                    var key = $"w{id}-{i}";
                    await engine.WriteAsync(new WriteBatch().Put(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(key + "-value")).Put(Encoding.UTF8.GetBytes(key + "-pair"), "p"u8));
                    lock (acknowledged[id])
                    {
                        acknowledged[id].Add(key);
                    }
                }
            }, TestContext.Current.CancellationToken);
        }

        // Power fails while the writers are mid-stream, not after they finish: some groups are in flight.
        while (CountAll(acknowledged) < Writers * PerWriter / 2)
        {
            await Task.Delay(1, TestContext.Current.CancellationToken);
        }

        var snapshot = new List<string>();
        foreach (var list in acknowledged)
        {
            lock (list)
            {
                snapshot.AddRange(list);
            }
        }

        crashable.Crash(new SplitMix64(1));
        try
        {
            await Task.WhenAll(tasks).WaitAsync(Deadline, TestContext.Current.CancellationToken);
        }
        catch (Exception e) when (e is IOException or Core.Errors.RingKVException)
        {
            // Writes after the power loss fail: the old session's files are gone.
        }

        using var reopened = StorageEngine.Open(Options(crashable.Session(), SyncPolicy.Always));
        Assert.True(engine.Statistics.LogSyncs < Writers * PerWriter, "async writers under sync always shared no fsync");
        foreach (var key in snapshot)
        {
            Assert.Equal(Encoding.UTF8.GetBytes(key + "-value"), reopened.Get(Encoding.UTF8.GetBytes(key)));
            Assert.Equal("p"u8.ToArray(), reopened.Get(Encoding.UTF8.GetBytes(key + "-pair")));
        }
    }

    [Fact]
    public async Task WriteAsync_FsyncFails_EveryWriterOfTheGroupGetsTheErrorAndLaterWritesAreRefused()
    {
        var gate = new GatedFileSystem(new CrashableFileSystem().Session());
        using var engine = StorageEngine.Open(Options(gate, SyncPolicy.Always));
        using var held = gate.HoldSyncs();
        var first = engine.WriteAsync(new WriteBatch().Put("a"u8, "1"u8)).AsTask();
        Assert.True(gate.WaitForHeldSync(Deadline));
        var followers = new List<Task>();
        for (var i = 0; i < 5; i++)
        {
            followers.Add(engine.WriteAsync(new WriteBatch().Put(Encoding.UTF8.GetBytes($"b{i}"), "2"u8)).AsTask());
        }

        gate.FailSyncs = true;
        gate.ReleaseSyncs();
        await Assert.ThrowsAnyAsync<Exception>(() => first.WaitAsync(Deadline, TestContext.Current.CancellationToken));
        foreach (var follower in followers)
        {
            await Assert.ThrowsAnyAsync<Exception>(() => follower.WaitAsync(Deadline, TestContext.Current.CancellationToken));
        }

        Assert.Null(engine.Get("a"u8)); // never acknowledged, never visible
        Assert.NotNull(engine.BackgroundError);
        await Assert.ThrowsAnyAsync<Core.Errors.RingKVException>(async () => await engine.WriteAsync(new WriteBatch().Put("c"u8, "3"u8)));
    }

    [Fact]
    public void Write_MixedSynchronousAndAsynchronousWriters_AllCompleteAndAreVisible()
    {
        var fs = new CrashableFileSystem().Session();
        using var engine = StorageEngine.Open(Options(fs, SyncPolicy.Periodic(5), memtableBytes: 16 << 10));
        const int Threads = 8;
        const int PerThread = 400;
        var threads = new Thread[Threads];
        var failures = 0;
        for (var t = 0; t < Threads; t++)
        {
            var id = t;
            threads[t] = new Thread(() =>
            {
                try
                {
                    for (var i = 0; i < PerThread; i++)
                    {
                        var key = Encoding.UTF8.GetBytes($"t{id}-{i}");
                        if ((id + i) % 2 == 0)
                        {
                            engine.Put(key, key);
                        }
                        else
                        {
                            engine.WriteAsync(new WriteBatch().Put(key, key)).AsTask().GetAwaiter().GetResult();
                        }
                    }
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failures);
                    throw;
                }
            });
            threads[t].Start();
        }

        foreach (var thread in threads)
        {
            Assert.True(thread.Join(Deadline));
        }

        Assert.Equal(0, failures);
        for (var t = 0; t < Threads; t++)
        {
            for (var i = 0; i < PerThread; i++)
            {
                var key = Encoding.UTF8.GetBytes($"t{t}-{i}");
                Assert.Equal(key, engine.Get(key));
            }
        }
    }

    private static int CountAll(List<string>[] lists)
    {
        var total = 0;
        foreach (var list in lists)
        {
            lock (list)
            {
                total += list.Count;
            }
        }

        return total;
    }

    private static StorageOptions Options(IFileSystem fs, SyncPolicy sync, long memtableBytes = 64 << 10, long logSegmentBytes = 64 << 20) => new()
    {
        Directory = "/mem/engine",
        FileSystem = fs,
        Sync = sync,
        MemtableBytes = memtableBytes,
        BlockCacheBytes = 64 << 10,
        LogSegmentBytes = logSegmentBytes,
    };

    /// <summary>Holds fsyncs of files, or file creations, until released; can fail the fsyncs it releases.</summary>
    private sealed class GatedFileSystem(IFileSystem inner) : IFileSystem
    {
        private readonly ManualResetEventSlim _syncOpen = new(true);
        private readonly ManualResetEventSlim _createOpen = new(true);
        private readonly SemaphoreSlim _syncHeld = new(0);
        private readonly SemaphoreSlim _createHeld = new(0);

        public volatile bool FailSyncs;

        /// <summary>Holds fsyncs until <see cref="ReleaseSyncs"/> or the returned scope ends (a failing test must not hang the engine's Dispose).</summary>
        public IDisposable HoldSyncs()
        {
            _syncOpen.Reset();
            return new Scope(() =>
            {
                FailSyncs = false;
                _syncOpen.Set();
            });
        }

        public void ReleaseSyncs() => _syncOpen.Set();

        public bool WaitForHeldSync(TimeSpan timeout) => _syncHeld.Wait(timeout);

        public IDisposable HoldCreates()
        {
            _createOpen.Reset();
            return new Scope(_createOpen.Set);
        }

        public void ReleaseCreates() => _createOpen.Set();

        public bool WaitForHeldCreate(TimeSpan timeout) => _createHeld.Wait(timeout);

        public IWritableFile Create(string path)
        {
            if (!_createOpen.IsSet)
            {
                _createHeld.Release();
                _createOpen.Wait();
            }

            return new GatedFile(this, inner.Create(path));
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

        private void BeforeSync()
        {
            if (!_syncOpen.IsSet)
            {
                _syncHeld.Release();
                _syncOpen.Wait();
            }

            if (FailSyncs)
            {
                throw new IOException("fsync failed (injected)");
            }
        }

        private sealed class Scope(Action end) : IDisposable
        {
            public void Dispose() => end();
        }

        private sealed class GatedFile(GatedFileSystem fs, IWritableFile inner) : IWritableFile
        {
            public string Path => inner.Path;

            public long Length => inner.Length;

            public void Append(ReadOnlySpan<byte> data) => inner.Append(data);

            public void Flush() => inner.Flush();

            public void Sync()
            {
                fs.BeforeSync();
                inner.Sync();
            }

            public void SyncFlushed()
            {
                fs.BeforeSync();
                inner.SyncFlushed();
            }

            public void Dispose() => inner.Dispose();
        }
    }
}
