using System;
using System.Globalization;
using RingKV.Testing.Processes;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Cli.Tests;

/// <summary>The membership commands' argument checks and unreachable nodes, through the real <c>ringkv</c> executable: message and exit code.</summary>
public sealed class CommandLineTests
{
    [Theory]
    [InlineData(new[] { "decommission", "--host", "nonsense" }, "ringkv decommission: --host 'nonsense' is not host:port")]
    [InlineData(new[] { "decommission", "--host", "127.0.0.1:70000" }, "is not host:port")]
    [InlineData(new[] { "decommission", "--timeout", "0" }, "ringkv decommission: --timeout must be at least 1 second, not 0")]
    [InlineData(new[] { "removenode", " " }, "ringkv removenode: the node id is empty")]
    [InlineData(new[] { "removenode", "node2", "--host", "x:" }, "ringkv removenode: --host 'x:' is not host:port")]
    [InlineData(new[] { "removenode", "node2", "--timeout", "-5" }, "--timeout must be at least 1 second, not -5")]
    [InlineData(new[] { "cleanup", "--host", "127.0.0.1" }, "ringkv cleanup: --host '127.0.0.1' is not host:port")]
    [InlineData(new[] { "cluster", "add", "--nodes", "0" }, "ringkv cluster add: --nodes must be from 1 to 64, not 0")]
    [InlineData(new[] { "cluster", "add", "--timeout", "0" }, "ringkv cluster add: --timeout must be at least 1 second")]
    [InlineData(new[] { "cluster", "remove", "--nodes", "65" }, "ringkv cluster remove: --nodes must be from 1 to 64, not 65")]
    public void BadValue_ClearErrorExitTwo(string[] arguments, string message)
    {
        var run = RingKvRun.Start(arguments);

        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}; stdout: {run.Output}; stderr: {run.Errors}");
        Assert.Contains(message, run.Errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("removenode")]
    [InlineData("cluster add --nodes")]
    [InlineData("decommission --timeout soon")]
    public void MissingOrUnparsableValue_ParseErrorNonZero(string line)
    {
        var run = RingKvRun.Start(line.Split(' '));

        Assert.NotEqual(0, run.ExitCode);
        Assert.NotEqual("", run.Errors.Trim());
    }

    [Theory]
    [InlineData("decommission")]
    [InlineData("removenode node2")]
    [InlineData("cleanup")]
    [InlineData("cleanup --all")]
    public void NodeDoesNotAnswer_NamedExitOne(string line)
    {
        var address = "127.0.0.1:" + FreePorts.BasePort(1).ToString(CultureInfo.InvariantCulture);

        var run = RingKvRun.Start([.. line.Split(' '), "--host", address]);

        Assert.True(run.ExitCode == 1, $"exit {run.ExitCode}; stdout: {run.Output}; stderr: {run.Errors}");
        Assert.Contains($"{address} does not answer", run.Errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("add")]
    [InlineData("remove")]
    public void ClusterAddOrRemove_DirectoryWithoutManifest_SaysClusterUpMadeNone(string verb)
    {
        using var directory = new TempDirectory("ringkv-cli-tests");

        var run = RingKvRun.Start("cluster", verb, "--data-dir", directory.Path);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("cluster.json does not exist", run.Errors, StringComparison.Ordinal);
        Assert.Contains("ringkv cluster up", run.Errors, StringComparison.Ordinal);
    }
}
