using System;
using System.Collections.Generic;
using System.IO;
using System.Text.RegularExpressions;
using Xunit;

namespace RingKV.Cluster.Tests.Lint;

/// <summary>
/// The cluster layer stays a set of state machines called with (event, now): besides the analyzer's ban list
/// (src/RingKV.Cluster/BannedSymbols.txt), no source file there awaits, locks or starts work of its own.
/// </summary>
public sealed partial class DeterminismLintTests
{
    [Fact]
    public void ClusterSources_UseNoAsyncAwaitLockOrThreadStatic()
    {
        var root = Path.Combine(RepositoryRoot(), "src", "RingKV.Cluster");
        var offences = new List<string>();
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                continue;
            }

            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                var code = StripComment(lines[i]);
                if (Forbidden().IsMatch(code))
                {
                    offences.Add($"{Path.GetRelativePath(root, file)}:{i + 1}: {lines[i].Trim()}");
                }
            }
        }

        Assert.True(offences.Count == 0, "cluster code must not await, lock or keep thread-static state:\n" + string.Join('\n', offences));
    }

    [Fact]
    public void BannedSymbols_CoverClockRandomnessThreadsAndTasks()
    {
        var banned = File.ReadAllText(Path.Combine(RepositoryRoot(), "src", "RingKV.Cluster", "BannedSymbols.txt"));
        foreach (var symbol in new[]
        {
            "P:System.DateTime.UtcNow", "P:System.DateTimeOffset.UtcNow", "T:System.Diagnostics.Stopwatch", "P:System.Environment.TickCount64",
            "T:System.Random", "M:System.Guid.NewGuid", "T:System.Threading.Thread", "T:System.Threading.Timer", "T:System.Threading.Tasks.Task",
            "T:System.Threading.Monitor", "T:System.Threading.Lock", "T:System.ThreadStaticAttribute",
        })
        {
            Assert.Contains(symbol + ";", banned, StringComparison.Ordinal);
        }
    }

    private static string StripComment(string line)
    {
        var at = line.IndexOf("//", StringComparison.Ordinal);
        return at < 0 ? line : line[..at];
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RingKV.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("RingKV.slnx not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"\basync\b|\bawait\b|\block\s*\(|\[ThreadStatic\]|Task\.Run|new\s+Thread\b")]
    private static partial Regex Forbidden();
}
