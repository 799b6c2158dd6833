using System.Text;
using System.Threading.Tasks;
using RingKV.Storage.Log;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Engine;

/// <summary>Group commit: concurrent writers share fsyncs and every acknowledged write survives a reopen.</summary>
public sealed class GroupCommitTests
{
    [Fact]
    public async Task Put_ManyConcurrentWritersWithSyncAlways_EveryWriteIsDurableAndGrouped()
    {
        using var dir = new TempDirectory();
        var engine = StorageEngine.Open(new StorageOptions { Directory = dir.Path, Sync = SyncPolicy.Always, MemtableBytes = 64 * 1024 });
        const int Writers = 16;
        const int PerWriter = 300;
        var tasks = new Task[Writers];
        for (var t = 0; t < Writers; t++)
        {
            var id = t;
            tasks[t] = Task.Factory.StartNew(() =>
            {
                for (var i = 0; i < PerWriter; i++)
                {
                    engine.Put(Encoding.UTF8.GetBytes($"w{id}-{i}"), Encoding.UTF8.GetBytes($"value-{id}-{i}"));
                }
            }, TestContext.Current.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        await Task.WhenAll(tasks);
        var syncs = engine.Statistics.LogSyncs;
        engine.Dispose();

        // Concurrent writers share fsyncs: fewer syncs than writes proves grouping happened.
        Assert.True(syncs < Writers * PerWriter, $"{syncs} syncs for {Writers * PerWriter} writes");
        using var reopened = StorageEngine.Open(new StorageOptions { Directory = dir.Path, Sync = SyncPolicy.Always });
        for (var t = 0; t < Writers; t++)
        {
            for (var i = 0; i < PerWriter; i++)
            {
                Assert.Equal($"value-{t}-{i}", Encoding.UTF8.GetString(reopened.Get(Encoding.UTF8.GetBytes($"w{t}-{i}")) ?? []));
            }
        }
    }
}
