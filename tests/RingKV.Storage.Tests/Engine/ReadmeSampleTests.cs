using System;
using System.Collections.Generic;
using RingKV.Core.Hashing;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Engine;

/// <summary>The "Using the engine" sample of README.md, kept compiling and working.</summary>
public sealed class ReadmeSampleTests
{
    [Fact]
    public void ReadmeSample_AsWritten_StoresReadsAndIterates()
    {
        using var dir = new TempDirectory();

        // --- as in README.md, with the directory and a record of what the loop saw ---
        using var engine = StorageEngine.Open(new StorageOptions
        {
            Directory = dir.Path,
            Sync = SyncPolicy.Always,          // fsync before acknowledging (group commit)
            MemoryBudgetBytes = 256L << 20,    // memtables + block cache + filters + indexes
        });

        engine.Put("user:1"u8, "alice"u8);
        engine.Put("session:9"u8, "token"u8, DateTimeOffset.UtcNow.AddMinutes(30)); // expires
        byte[]? value = engine.Get("user:1"u8);                                      // null when absent
        engine.Delete("user:1"u8);

        var batch = new WriteBatch().Put("a"u8, "1"u8).Put("b"u8, "2"u8).Delete("c"u8);
        engine.Write(batch);                                                         // all or nothing

        var seen = new List<string>();
        using var snapshot = engine.GetSnapshot();                                   // a consistent point in time
        using var iterator = engine.NewIterator(TokenRange.All, snapshot);           // (token, key) order
        while (iterator.MoveNext())
        {
            seen.Add(System.Text.Encoding.ASCII.GetString(iterator.Key));
        }

        // --- end of sample ---
        Assert.Equal("alice"u8.ToArray(), value);
        Assert.Null(engine.Get("user:1"u8));
        var expected = new List<string> { "a", "b", "session:9" };
        expected.Sort((x, y) => KeyOrder.Instance.Compare(System.Text.Encoding.ASCII.GetBytes(x), System.Text.Encoding.ASCII.GetBytes(y)));
        Assert.Equal(expected, seen);
    }
}
