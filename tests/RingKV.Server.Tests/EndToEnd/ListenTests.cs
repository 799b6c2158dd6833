using System;
using System.Globalization;
using RingKV.Testing.Processes;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Server.Tests.EndToEnd;

/// <summary>Who gets a listening port: one node only, and a restarted node gets it back at once (issue 15).</summary>
public sealed class ListenTests
{
    [Fact]
    public void Serve_PortTakenByAnotherNode_FailsWithAddressInUse()
    {
        using var first = new ServerProcess();
        using var otherData = new TempDirectory("ringkv-listen");
        var address = $"127.0.0.1:{first.Port.ToString(CultureInfo.InvariantCulture)}";

        var second = RingKvRun.Start("serve", "--listen", address, "--data-dir", otherData.Path, "--memory-mb", "16");

        Assert.NotEqual(0, second.ExitCode);
        Assert.Contains($"address {address} is already in use", second.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("serving RESP", second.Output, StringComparison.Ordinal);

        // The first node still has every client.
        using var raw = first.ConnectRaw();
        Assert.Equal("+PONG", raw.CallText("PING"));
    }

    [Fact]
    public void Serve_RestartOnSamePortAfterClientsLeft_Serves()
    {
        // QUIT makes the server close each connection first, so the server's side lingers in TIME_WAIT on its port
        // (a minute on Linux); the next node must bind the port anyway. Guards the fix above: dropping ReuseAddress
        // must not cost restarts their port (SO_REUSEADDR, which .NET sets on every TCP bind on Unix, keeps it).
        int port;
        using (var first = new ServerProcess())
        {
            port = first.Port;
            for (var i = 0; i < 3; i++)
            {
                using var raw = first.ConnectRaw();
                Assert.Equal("+OK", raw.CallText("SET", $"listen:{i}", "v"));
                Assert.Equal("+OK", raw.CallText("QUIT"));
                Assert.True(raw.ReadUntilClosed(TimeSpan.FromSeconds(10)).Closed);
            }

            Assert.Equal(0, first.StopGracefully());
        }

        using var second = ServerProcess.Listening($"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        Assert.Equal(port, second.Port);
        using var client = second.ConnectRaw();
        Assert.Equal("+PONG", client.CallText("PING"));
    }
}
