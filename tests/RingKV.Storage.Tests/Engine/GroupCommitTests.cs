using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using RingKV.Core.Errors;
using RingKV.Testing.Faults;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Engine;

/// <summary>Group commit: concurrent writers share fsyncs, and none of them is acknowledged before the fsync of its group.</summary>
public sealed class GroupCommitTests
{
    private const int Writers = 6;

    [Fact]
    public void Put_ManyConcurrentWritersWithSyncAlways_ShareFsyncsAndReopenWithEveryWrite()
    {
        using var dir = new TempDirectory();
        var engine = StorageEngine.Open(new StorageOptions { Directory = dir.Path, Sync = SyncPolicy.Always, MemtableBytes = 64 * 1024 });
        const int Threads = 16;
        const int PerWriter = 300;
        ConcurrentRun.OnThreads(Threads, t =>
        {
            for (var i = 0; i < PerWriter; i++)
            {
                engine.Put(Encoding.UTF8.GetBytes($"w{t}-{i}"), Encoding.UTF8.GetBytes($"value-{t}-{i}"));
            }
        });

        var syncs = engine.Statistics.LogSyncs;
        engine.Dispose();

        // Concurrent writers share fsyncs: fewer syncs than writes proves grouping happened.
        Assert.True(syncs < Threads * PerWriter, $"{syncs} syncs for {Threads * PerWriter} writes");
        using var reopened = StorageEngine.Open(new StorageOptions { Directory = dir.Path, Sync = SyncPolicy.Always });
        for (var t = 0; t < Threads; t++)
        {
            for (var i = 0; i < PerWriter; i++)
            {
                Assert.Equal($"value-{t}-{i}", Encoding.UTF8.GetString(reopened.Get(Encoding.UTF8.GetBytes($"w{t}-{i}")) ?? []));
            }
        }
    }

    [Fact]
    public void Write_PowerLossWhileAGroupOfWritersAwaitsItsFsync_KeepsEveryAcknowledgedWrite()
    {
        // Concurrent writers (single puts and three-key batches) on the crashable file system. The crash comes right
        // after the log append of a group holding the writes of two writers or more, before whatever the file system
        // is asked next: with sync always that is the group's fsync, so no write of the group may have been
        // acknowledged; every unsynced byte is lost. Three rounds, each checked after its crash, the last included.
        var fs = new CrashableFileSystem();
        StorageOptions Options() => new()
        {
            Directory = "/mem/group",
            FileSystem = fs.Session(),
            Sync = SyncPolicy.Always,
            MemtableBytes = 4 << 20,
        };

        var acked = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var round = 0; round < 3; round++)
        {
            var engine = StorageEngine.Open(Options());
            Check(engine, acked, $"round {round}, after recovery");

            var current = new string?[Writers]; // each writer's write in flight: the first key of it
            var done = new ConcurrentBag<(string Key, string Value)>();
            var armed = 0;
            var groupWriters = 0;
            fs.BeforeOperation = operation =>
            {
                if (Volatile.Read(ref armed) == 1)
                {
                    if (Interlocked.Exchange(ref armed, 2) == 1)
                    {
                        fs.Crash(); // before the next call, the group's fsync: all unsynced bytes lost
                    }

                    return;
                }

                if (armed == 0 && operation.Kind == FileOperationKind.Append && operation.Path.EndsWith(".log", StringComparison.Ordinal))
                {
                    var inGroup = 0;
                    for (var w = 0; w < Writers; w++)
                    {
                        if (Volatile.Read(ref current[w]) is { } key && operation.Data.IndexOf(Encoding.UTF8.GetBytes(key)) >= 0)
                        {
                            inGroup++;
                        }
                    }

                    if (inGroup >= 2 && Interlocked.CompareExchange(ref armed, 1, 0) == 0)
                    {
                        groupWriters = inGroup;
                    }
                }
            };

            var deadline = DateTime.UtcNow.AddSeconds(60);
            ConcurrentRun.OnThreads(Writers, w =>
            {
                for (var i = 0; DateTime.UtcNow < deadline; i++)
                {
                    var batch = new WriteBatch();
                    var keys = i % 3 == 0 ? new[] { $"r{round}w{w}-{i:D6}a", $"r{round}w{w}-{i:D6}b", $"r{round}w{w}-{i:D6}c" } : [$"r{round}w{w}-{i:D6}"];
                    foreach (var key in keys)
                    {
                        batch.Put(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes($"value of {key}"));
                    }

                    Volatile.Write(ref current[w], keys[0]);
                    try
                    {
                        engine.Write(batch);
                    }
                    catch (RingKVException)
                    {
                        return; // the power went: this write and every later one fail
                    }

                    foreach (var key in keys)
                    {
                        done.Add((key, $"value of {key}"));
                    }
                }
            });

            fs.BeforeOperation = null;
            Assert.True(fs.Crashes == round + 1, $"round {round}: no group of two writers or more formed within the deadline");
            EngineChecks.AbandonAfterCrash(engine);
            foreach (var (key, value) in done)
            {
                acked[key] = value;
            }

            Assert.True(groupWriters >= 2, $"round {round}: the crash came after a group of {groupWriters} writers");
        }

        using var last = StorageEngine.Open(Options());
        Check(last, acked, "after the last crash");
    }

    private static void Check(StorageEngine engine, Dictionary<string, string> acked, string context)
    {
        foreach (var (key, value) in acked)
        {
            var actual = engine.Get(Encoding.UTF8.GetBytes(key));
            Assert.True(actual is not null, $"acknowledged write of {key} lost, {context}");
            Assert.Equal(value, Encoding.UTF8.GetString(actual));
        }
    }
}
