using System;
using System.IO;
using System.Linq;
using System.Threading;
using RingKV.Core.Errors;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Engine;

/// <summary>The compaction thread runs at the nice value the options give it (Linux), so request threads win a busy CPU.</summary>
public sealed class CompactionPriorityTests
{
    [Fact]
    public void Open_CompactionThread_RunsAtTheConfiguredNice()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "thread nice values are read from /proc (Linux)");
        using var dir = new TempDirectory();

        // 13: no other engine of this test process uses it (the default is 10), so the thread found is this engine's.
        using var engine = StorageEngine.Open(new StorageOptions { Directory = dir.Path, CompactionNice = 13 });
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!CompactionThreadNices().Contains(13))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no compaction thread at nice 13; found {string.Join(", ", CompactionThreadNices())}");
            Thread.Sleep(10);
        }
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(20)]
    public void Open_NiceOutOfRange_ClearError(int nice)
    {
        using var dir = new TempDirectory();
        var e = Assert.ThrowsAny<RingKVException>(() => StorageEngine.Open(new StorageOptions { Directory = dir.Path, CompactionNice = nice }));
        Assert.Contains("CompactionNice must be between 0 and 19", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Nice values of this process's threads named ringkv-compaction (the kernel keeps 15 characters of it).</summary>
    private static int[] CompactionThreadNices() =>
        Directory.GetDirectories("/proc/self/task")
            .Select(task => TryReadStat(Path.Combine(task, "stat")) ?? "")
            .Where(stat => stat.Contains("(ringkv-compacti)", StringComparison.Ordinal))
            .Select(stat =>
            {
                // Fields after the parenthesized name: state is field 3, nice is field 19.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return int.Parse(fields[19 - 3], System.Globalization.CultureInfo.InvariantCulture);
            })
            .ToArray();

    private static string? TryReadStat(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null; // the thread ended
        }
    }
}
