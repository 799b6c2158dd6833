using System;
using System.IO;
using RingKV.Testing.Processes;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Server.Tests.Cluster;

/// <summary><c>--peer-advertise</c>: bad values are refused at start with a message naming the setting.</summary>
public sealed class PeerAdvertiseOptionTests
{
    [Theory]
    [InlineData("nonsense", "invalid peer-advertise address 'nonsense': expected host:port")]
    [InlineData("127.0.0.1:0", "invalid peer-advertise address '127.0.0.1:0': expected host:port")]
    [InlineData("0.0.0.0:17000", "a wildcard address is not one other nodes can reach")]
    [InlineData("[::]:17000", "a wildcard address is not one other nodes can reach")]
    public void Serve_BadPeerAdvertise_RefusedWithAPlainMessage(string value, string message)
    {
        using var dir = new TempDirectory("ringkv-advertise");
        var run = RingKvRun.Start(
            "serve", "--listen", "127.0.0.1:6999", "--peer-listen", "127.0.0.1:16999", "--peer-advertise", value, "--data-dir", Path.Combine(dir.Path, "data"));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(message, run.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", run.Errors + run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("serving RESP", run.Output, StringComparison.Ordinal);
    }
}
