using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Text.RegularExpressions;
using RingKV.Testing.Processes;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Server.Tests.EndToEnd;

/// <summary><c>ringkv serve</c>'s flags, help and messages for bad values, through the real executable (issue 15).</summary>
public sealed partial class ServeCommandTests
{
    [Fact]
    public void ServeHelp_EverySetting_HasAFlagAndSizesStateUnits()
    {
        var help = RingKvRun.Start("serve", "--help");
        Assert.Equal(0, help.ExitCode);
        var text = Whitespace().Replace(help.Output, " ");

        // Each flag's help ends with the setting's config key: a setting without a flag has no such text.
        foreach (var property in typeof(ServerOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanWrite)
            {
                continue;
            }

            var end = text.IndexOf($"config key {property.Name}.", StringComparison.Ordinal);
            Assert.True(end >= 0, $"ringkv serve --help has no flag for the setting {property.Name}:\n{help.Output}");
            var flag = $"--{ServerOptions.SettingName(property.Name)}";
            var start = text.LastIndexOf(flag, end, StringComparison.Ordinal);
            Assert.True(start >= 0, $"the help of {property.Name} does not name {flag}");
            var entry = text[start..end];
            if (property.Name.EndsWith("Mb", StringComparison.Ordinal))
            {
                Assert.Contains("MiB", entry, StringComparison.Ordinal);
            }
            else if (property.Name.EndsWith("Bytes", StringComparison.Ordinal))
            {
                Assert.Contains("bytes", entry, StringComparison.Ordinal);
            }
        }

        Assert.Contains("--enable-flushall ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("--enable-flushall <", text, StringComparison.Ordinal); // a switch: no value to give
    }

    [Fact]
    public void Serve_EnableFlushAllAlone_TurnsItOn()
    {
        using var server = new ServerProcess("--enable-flushall");
        using var raw = server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("SET", "serve:k", "v"));
        Assert.Equal("+OK", raw.CallText("FLUSHALL"));
        Assert.Equal(":0", raw.CallText("DBSIZE"));
    }

    [Fact]
    public void Serve_EnableFlushAllInFileWithoutTheFlag_FileKeepsIt()
    {
        // The switch, not given, must not override the file with its default.
        using var dir = new TempDirectory("ringkv-serve");
        var path = Path.Combine(dir.Path, "node.json");
        File.WriteAllText(path, """{ "EnableFlushAll": true }""");
        using var server = new ServerProcess("--config", path);
        using var raw = server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("FLUSHALL"));
    }

    [Theory]
    [InlineData("flag", "--memory-mb abc", "memory-mb must be a whole number, not 'abc'")]
    [InlineData("flag", "--max-clients 99999999999", "max-clients '99999999999' is too large")]
    [InlineData("flag", "--max-version-vector-entries 0", "max-version-vector-entries must be at least 1")]
    [InlineData("flag", "--max-version-entries 0", "max-version-vector-entries must be at least 1")]
    [InlineData("flag", "--enable-flushall maybe", "'maybe'")]
    [InlineData("flag", "--memory-mb 4", "memory-mb must be at least 8 (MiB)")]
    [InlineData("flag", "--hint-window 3hours", "hint-window '3hours' is not a duration")]
    [InlineData("flag", "--hint-window 0", "hint-window must be longer than 0")]
    [InlineData("flag", "--hint-rate -1", "hint-rate must be 0 (unthrottled) or more bytes per second")]
    [InlineData("flag", "--tombstone-grace 2h", "tombstone-grace (2h) must be longer than hint-window (3h)")]
    [InlineData("flag", "--tombstone-grace 5x", "tombstone-grace '5x' is not a duration")]
    [InlineData("flag", "--repair-interval soon", "repair-interval 'soon' is not a duration: expected e.g. 0, 30s, 10m, 1h or 500ms")]
    [InlineData("flag", "--repair-interval -5m", "repair-interval '-5m' is not a duration")]
    [InlineData("flag", "--repair-rate 100", "repair-rate must be at least 1024 bytes per second (or 0: not throttled)")]
    [InlineData("flag", "--repair-rate -1", "repair-rate must be 0 (not throttled) or a positive number of bytes per second")]
    [InlineData("env", "RINGKV_REPAIRINTERVAL=1 hour", "repair-interval '1 hour' is not a duration")]
    [InlineData("flag", "--tombstone-grace 4h --hint-window 1h --repair-interval 5h", "tombstone-grace (4h) must be longer than repair-interval (5h)")]
    [InlineData("env", "RINGKV_MAXCLIENTS=lots", "max-clients must be a whole number, not 'lots'")]
    [InlineData("env", "RINGKV_ENABLEFLUSHALL=yes please", "enable-flushall must be true or false, not 'yes please'")]
    [InlineData("file", """{ "MaxKeyBytes": "big" }""", "max-key-bytes must be a whole number, not 'big'")]
    [InlineData("file", """{ "EnableFlushAll": "maybe" }""", "enable-flushall must be true or false, not 'maybe'")]
    public void Serve_BadValue_PlainMessageAndExitCode(string source, string value, string message)
    {
        using var dir = new TempDirectory("ringkv-serve");
        var arguments = new List<string> { "serve", "--listen", "127.0.0.1:0", "--data-dir", Path.Combine(dir.Path, "data") };
        var environment = new Dictionary<string, string>();
        switch (source)
        {
            case "flag":
                arguments.AddRange(value.Split(' '));
                break;
            case "env":
                var (name, text) = (value[..value.IndexOf('=', StringComparison.Ordinal)], value[(value.IndexOf('=', StringComparison.Ordinal) + 1)..]);
                environment[name] = text;
                break;
            default:
                var path = Path.Combine(dir.Path, "node.json");
                File.WriteAllText(path, value);
                arguments.AddRange(["--config", path]);
                break;
        }

        var run = RingKvRun.Start(environment, [.. arguments]);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(message, run.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", run.Errors + run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("serving RESP", run.Output, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
