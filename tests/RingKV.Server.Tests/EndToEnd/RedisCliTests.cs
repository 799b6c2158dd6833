using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text.RegularExpressions;
using RingKV.Server.Tests.Support;
using Xunit;

namespace RingKV.Server.Tests.EndToEnd;

/// <summary>
/// The stock redis-cli and redis-benchmark (Debian redis-tools) against a real server; skipped when not installed, except
/// under CI, where a missing tool fails.
/// </summary>
[Trait("Category", "System")]
public sealed partial class RedisCliTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan ToolDeadline = TimeSpan.FromSeconds(120);

    [Fact]
    public void RedisCli_SetGetPingKvGet_Works()
    {
        var cli = Tool("redis-cli");
        var port = fixture.Server.Port.ToString(CultureInfo.InvariantCulture);
        Assert.Equal("OK", Run(cli, "-p", port, "set", "cli:k", "v").Trim());
        Assert.Equal("v", Run(cli, "-p", port, "get", "cli:k").Trim());
        Assert.Equal("PONG", Run(cli, "-p", port, "ping").Trim());

        var kv = Run(cli, "-p", port, "--no-raw", "kv.get", "cli:k");
        Assert.Matches(@"^1\) ""[A-Za-z0-9+/=]+""\n2\) 1\) ""v""\n$", kv.Replace("\r", "", StringComparison.Ordinal));

        var unknown = Run(cli, "-p", port, "nosuchcommand");
        Assert.Contains("ERR unknown command", unknown, StringComparison.Ordinal);
    }

    [Fact]
    public void RedisCli_BigKeysAndMemKeys_FindTheBiggestString()
    {
        // --bigkeys sizes strings with STRLEN, --memkeys with MEMORY USAGE: before those existed every key was 0 bytes.
        var cli = Tool("redis-cli");
        var port = fixture.Server.Port.ToString(CultureInfo.InvariantCulture);
        fixture.Db.StringSet("cli:big", new string('b', 5000));
        fixture.Db.StringSet("cli:small", "s");

        var big = Run(cli, "-p", port, "--bigkeys");
        Assert.Contains("Biggest string found '\"cli:big\"' has 5000 bytes", big, StringComparison.Ordinal);

        var memory = Run(cli, "-p", port, "--memkeys");
        var found = Regex.Match(memory, "Biggest string found '\"cli:big\"' has (?<bytes>[0-9]+) bytes");
        Assert.True(found.Success, memory);
        Assert.InRange(long.Parse(found.Groups["bytes"].Value, CultureInfo.InvariantCulture), 5000 + 7, 6000);
    }

    [Fact]
    public void RedisBenchmark_SetGet_ExitsZeroWithBothLines()
    {
        var benchmark = Tool("redis-benchmark");
        var output = Run(benchmark, "-p", fixture.Server.Port.ToString(CultureInfo.InvariantCulture), "-t", "set,get,incr", "-n", "2000", "-c", "4", "-q");
        Assert.Matches(SetLine(), output);
        Assert.Matches(GetLine(), output);
        Assert.Matches(IncrLine(), output);
        Assert.Equal(2000, (long)fixture.Db.StringGet("counter:__rand_int__")); // redis-benchmark's INCR key: every increment kept
        Assert.Equal("PONG", (string?)fixture.Db.Execute("PING"));
    }

    [Fact]
    public void RedisCli_CommandDocsSet_RedisLinesWithoutHistory()
    {
        // What redis-cli prints for a Redis 7.0 server, less its "history" and the arguments' "since" fields.
        const string Expected = "set summary Set the string value of a key since 1.0.0 group string complexity O(1) arguments "
            + "name key type key key_spec_index 0 name value type string "
            + "name condition type oneof flags optional arguments name nx type pure-token token NX name xx type pure-token token XX "
            + "name get type pure-token token GET flags optional "
            + "name expiration type oneof flags optional arguments name seconds type integer token EX "
            + "name milliseconds type integer token PX name unix-time-seconds type unix-time token EXAT "
            + "name unix-time-milliseconds type unix-time token PXAT name keepttl type pure-token token KEEPTTL";
        var cli = Tool("redis-cli");
        var output = Run(cli, "-p", fixture.Server.Port.ToString(CultureInfo.InvariantCulture), "COMMAND", "DOCS", "set");
        Assert.Equal(Expected, string.Join(' ', output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
    }

    [GeneratedRegex(@"(?:^|[\r\n])SET: [0-9.]+ requests per second")]
    private static partial Regex SetLine();

    [GeneratedRegex(@"(?:^|[\r\n])GET: [0-9.]+ requests per second")]
    private static partial Regex GetLine();

    [GeneratedRegex(@"(?:^|[\r\n])INCR: [0-9.]+ requests per second")]
    private static partial Regex IncrLine();

    internal static string Tool(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        // Skipped on a developer's machine without the tools; under CI (CI=true) a missing tool fails the run, so a
        // green CI has really run these tests.
        var missing = $"{name} is not installed (Debian/Ubuntu: apt-get install redis-tools)";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail($"{missing}; CI requires it");
        }

        Assert.Skip(missing);
        return name;
    }

    /// <summary>Runs a tool to its end with a deadline; asserts exit code 0 and returns stdout.</summary>
    internal static string Run(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {tool}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        if (!process.WaitForExit(ToolDeadline))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{tool} {string.Join(' ', arguments)} did not finish within {ToolDeadline}");
        }

        process.WaitForExit();
        var output = stdout.GetAwaiter().GetResult();
        var errors = stderr.GetAwaiter().GetResult();
        Assert.True(process.ExitCode == 0, $"{tool} {string.Join(' ', arguments)} exited with {process.ExitCode}; stdout: {output}; stderr: {errors}");
        return output;
    }

}
