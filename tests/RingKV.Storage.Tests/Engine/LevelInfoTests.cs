using RingKV.Testing.Faults;
using Xunit;

namespace RingKV.Storage.Tests.Engine;

/// <summary>Per-level entry and tombstone counts come from the tables themselves, also after a reopen (the manifest does not keep them).</summary>
public sealed class LevelInfoTests
{
    [Fact]
    public void GetLevels_FlushedPutsAndDeletes_CountsSurviveReopen()
    {
        var fs = new CrashableFileSystem();
        using (var engine = StorageEngine.Open(Options(fs.Session())))
        {
            for (var i = 0; i < 10; i++)
            {
                engine.Put([(byte)i], "v"u8);
            }

            for (var i = 0; i < 4; i++)
            {
                engine.Delete([(byte)(20 + i)]);
            }

            engine.Flush();
            AssertLevel0(engine);
        }

        using var reopened = StorageEngine.Open(Options(fs.Session()));
        AssertLevel0(reopened);

        static void AssertLevel0(StorageEngine engine)
        {
            var level0 = engine.GetLevels()[0];
            Assert.Equal(1, level0.Files);
            Assert.Equal(14, level0.Entries);
            Assert.Equal(4, level0.Tombstones);
        }
    }

    private static StorageOptions Options(IFileSystem fs) => new()
    {
        Directory = "/mem/engine",
        FileSystem = fs,
        Sync = SyncPolicy.None,
        Level0CompactionTrigger = 4,
    };
}
