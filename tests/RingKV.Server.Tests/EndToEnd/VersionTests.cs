using System;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using RingKV.Testing.Processes;
using Xunit;

namespace RingKV.Server.Tests.EndToEnd;

/// <summary>One RingKV version everywhere it is shown, and one Redis version for clients (issue 15).</summary>
public sealed class VersionTests
{
    [Fact]
    public void Version_CliLogInfoAndHello_Agree()
    {
        var expected = typeof(ServerOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

        var cli = RingKvRun.Start("--version");
        Assert.Equal(0, cli.ExitCode);
        Assert.Equal(expected, cli.Output.Trim());

        using var server = new ServerProcess();
        Assert.Contains($"RingKV {expected} serving RESP on", server.Log, StringComparison.Ordinal);

        using var raw = server.ConnectRaw();
        var info = raw.CallText("INFO", "server");
        Assert.Contains($"ringkv_version:{expected}\r\n", info, StringComparison.Ordinal);
        var redisVersion = Regex.Match(info, @"redis_version:(?<v>[^\r]+)\r\n").Groups["v"].Value;
        Assert.Matches(@"^[0-9]+\.[0-9]+\.[0-9]+$", redisVersion);

        var hello = Assert.IsType<object?[]>(raw.Call("HELLO", "3"));
        var fields = Enumerable.Range(0, hello.Length / 2).ToDictionary(i => RawClient.Describe(hello[2 * i]), i => RawClient.Describe(hello[(2 * i) + 1]));
        Assert.Equal(redisVersion, fields["version"]);
    }
}
