using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using RingKV.Testing.Processes;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Server.Tests.Cluster;

/// <summary><c>ringkv cluster up/down</c> and <c>ringkv status</c> as a user runs them: the real executable, real processes, loopback.</summary>
[Trait("Category", "System")]
public sealed class ClusterCommandTests
{
    [Fact]
    public void Status_NothingListening_ExitsNonZeroNamingTheNode()
    {
        var address = $"127.0.0.1:{ClosedPort()}";

        var run = RingKvRun.Start("status", "--host", address);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"ringkv status: {address} does not answer", run.Errors, StringComparison.Ordinal);
        Assert.Equal("", run.Output);
    }

    [Fact]
    public void Status_MalformedHost_ExitsTwo()
    {
        var run = RingKvRun.Start("status", "--host", "7379");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("'7379' is not host:port", run.Errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--nodes 0", "--nodes must be from 1 to 64, not 0")]
    [InlineData("--nodes 2 --base-port 60000", "--base-port must be at most 55534")]
    [InlineData("--nodes 2 -- --listen 127.0.0.1:1", "cluster up sets --listen for each node itself")]
    [InlineData("--nodes 2 --timeout 0", "--timeout must be at least 1 second")]
    public void Up_BadArguments_ExitsTwoStartingNothing(string arguments, string expected)
    {
        using var directory = new ClusterDirectory();
        var run = RingKvRun.Start([.. "cluster up --data-dir".Split(' '), directory.Path, .. arguments.Split(' ')]);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, run.Errors, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(directory.Path));
    }

    [Fact]
    public void Up_PortInUse_RefusesNamingThePortAndStartsNothing()
    {
        using var directory = new ClusterDirectory();
        var basePort = FreePorts.BasePort(2);
        var holder = new TcpListener(IPAddress.Loopback, basePort + 1 + 10000);
        holder.Start();
        try
        {
            var run = RingKvRun.Start("cluster", "up", "--nodes", "2", "--base-port", $"{basePort}", "--data-dir", directory.Path);

            Assert.Equal(1, run.ExitCode);
            Assert.Contains($"port {basePort + 1 + 10000} (node2's internode port) is in use", run.Errors, StringComparison.Ordinal);
            Assert.Empty(directory.Pids());
        }
        finally
        {
            holder.Stop();
        }
    }

    [Fact]
    public void Down_NothingThere_SaysSoAndExitsZero()
    {
        using var directory = new ClusterDirectory();
        File.WriteAllText(Path.Combine(directory.Path, "node1.pid"), "999999999\n"); // a pid no process has

        var run = RingKvRun.Start("cluster", "down", "--data-dir", directory.Path);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains($"no running nodes in {directory.Path}", run.Output, StringComparison.Ordinal);
        Assert.Contains("removed 1 pid file(s)", run.Output, StringComparison.Ordinal);
        Assert.Empty(directory.Pids());
    }

    [Fact]
    public void Down_PidFileNamingAnotherProcess_LeavesItAlone()
    {
        using var directory = new ClusterDirectory();
        using var other = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        try
        {
            File.WriteAllText(Path.Combine(directory.Path, "node1.pid"), $"{other.Id}\n"); // a stale pid the system gave to another process

            var run = RingKvRun.Start("cluster", "down", "--data-dir", directory.Path);

            Assert.Equal(0, run.ExitCode);
            Assert.Contains("no running nodes", run.Output, StringComparison.Ordinal);
            Assert.False(other.HasExited, "cluster down signalled a process that is not a node of the directory");
        }
        finally
        {
            other.Kill();
            other.WaitForExit();
        }
    }

    [Fact]
    public void UpAndDown_NodeRunningFromAPidFile_UpRefusesDownStopsItThenIsANoOp()
    {
        using var directory = new ClusterDirectory();
        var node1 = Path.Combine(directory.Path, "node1");
        using var node = StartServe(node1);
        File.WriteAllText(Path.Combine(directory.Path, "node1.pid"), $"{node.Id}\n");
        try
        {
            var up = RingKvRun.Start("cluster", "up", "--nodes", "1", "--base-port", $"{FreePorts.BasePort(1)}", "--data-dir", directory.Path);
            Assert.Equal(1, up.ExitCode);
            Assert.Contains($"already has running nodes: node1 (pid {node.Id})", up.Errors, StringComparison.Ordinal);
            Assert.False(node.HasExited, "cluster up must not touch a running node");

            var down = RingKvRun.Start("cluster", "down", "--data-dir", directory.Path);
            Assert.Equal(0, down.ExitCode);
            Assert.Contains($"node1 (pid {node.Id}) stopped", down.Output, StringComparison.Ordinal);
            Assert.True(node.WaitForExit(TimeSpan.FromSeconds(30)), "the node did not exit after cluster down");
            Assert.Equal(0, node.ExitCode); // SIGTERM: a graceful stop
            Assert.Empty(directory.Pids());

            var again = RingKvRun.Start("cluster", "down", "--data-dir", directory.Path);
            Assert.Equal(0, again.ExitCode);
            Assert.Contains("no running nodes", again.Output, StringComparison.Ordinal);
        }
        finally
        {
            // The pid file may be gone or overwritten when the commands misbehave: the test stops its own node itself.
            if (!node.HasExited)
            {
                node.Kill();
                node.WaitForExit();
            }
        }
    }

    /// <summary>A plain <c>ringkv serve</c> on an OS-chosen port over <paramref name="dataDirectory"/>, started as cluster up would leave one.</summary>
    private static Process StartServe(string dataDirectory)
    {
        var start = new ProcessStartInfo(DotnetHost.Path()) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { ServerProcess.ServerPath(), "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDirectory, "--memory-mb", "64" })
        {
            start.ArgumentList.Add(argument);
        }

        ServerProcess.RemoveRingKvEnvironment(start);
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start ringkv");
        using var serving = new ManualResetEventSlim();
        process.OutputDataReceived += (_, line) =>
        {
            if (line.Data?.Contains("serving RESP on", StringComparison.Ordinal) == true)
            {
                serving.Set();
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Assert.True(serving.Wait(TimeSpan.FromSeconds(60)), "ringkv serve did not log 'serving RESP' within 60 s");
        return process;
    }

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
