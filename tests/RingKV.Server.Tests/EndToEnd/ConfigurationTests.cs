using System;
using System.IO;
using RingKV.Testing.Processes;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Server.Tests.EndToEnd;

/// <summary>Options from a JSON file, the environment and flags, with flags winning.</summary>
public sealed class ConfigurationTests
{
    [Fact]
    public void Serve_JsonConfigFile_AppliesItsLimitsAndPassword()
    {
        using var dir = new TempDirectory("ringkv-config");
        var path = Path.Combine(dir.Path, "node.json");
        File.WriteAllText(path, """{ "MaxValueBytes": 500, "Password": "from-file" }""");
        using var server = new ServerProcess("--config", path);
        using var raw = server.ConnectRaw();
        Assert.StartsWith("-NOAUTH", raw.CallText("PING"), StringComparison.Ordinal);
        Assert.Equal("+OK", raw.CallText("AUTH", "from-file"));
        var reply = raw.CallText("SET", "k", new byte[501]);
        Assert.Contains("max-value-bytes 500", reply, StringComparison.Ordinal);
        Assert.Equal("+OK", raw.CallText("SET", "k", new byte[500]));
    }

    [Fact]
    public void Serve_FlagAndConfigFile_FlagWins()
    {
        using var dir = new TempDirectory("ringkv-config");
        var path = Path.Combine(dir.Path, "node.json");
        File.WriteAllText(path, """{ "MaxValueBytes": 500 }""");
        using var server = new ServerProcess("--config", path, "--max-value-bytes", "2000");
        using var raw = server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("SET", "k", new byte[1500]));
        Assert.Contains("max-value-bytes 2000", raw.CallText("SET", "k", new byte[2001]), StringComparison.Ordinal);
    }
}
