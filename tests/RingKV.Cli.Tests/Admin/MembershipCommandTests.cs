using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using Xunit;

namespace RingKV.Cli.Tests.Admin;

/// <summary>
/// decommission, removenode, cleanup and status's percent against <see cref="FakeNode"/>s that play the contract of
/// lead-elastic-spec.md: the polling, the end conditions, the plain progress lines and the server's errors passed on.
/// </summary>
public sealed class MembershipCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void Decommission_StreamsToLeft_PlainLinesBytesSentAndExitZero()
    {
        using var cluster = new FakeCluster(3);
        cluster.OnDecommission = _ => FakeNode.Simple("OK");
        var output = new StringWriter();
        var errors = new StringWriter();

        var code = DecommissionCommand.Run("ringkv decommission", cluster.Nodes[2].Address, null, Timeout, live: false, output, errors);

        Assert.True(code == 0, $"stdout: {output}; stderr: {errors}");
        var text = output.ToString();
        Assert.StartsWith("decommission node3: 20.0%, 1000 B, ?/s, ? left\n", text, StringComparison.Ordinal); // the first poll: no rate yet
        Assert.Contains("decommission node3: 100.0%, ", text, StringComparison.Ordinal);
        Assert.Contains("node3 (" + cluster.Nodes[2].Address + ") decommissioned: LEFT after", text, StringComparison.Ordinal);
        Assert.Contains("KiB", text, StringComparison.Ordinal); // bytes sent grow 1000 a poll from the baseline of 5000
        Assert.Equal("", errors.ToString());
    }

    [Fact]
    public void Decommission_Refused_ServersErrorAndExitOne()
    {
        using var cluster = new FakeCluster(3);
        cluster.OnDecommission = _ => FakeNode.Error("ERR a membership change is in flight (node4 JOINING); retry when it has finished");
        var errors = new StringWriter();

        var code = DecommissionCommand.Run("ringkv decommission", cluster.Nodes[0].Address, null, Timeout, live: false, new StringWriter(), errors);

        Assert.Equal(1, code);
        Assert.Equal($"ringkv decommission: node1 ({cluster.Nodes[0].Address}) refused: ERR a membership change is in flight (node4 JOINING); retry when it has finished\n", errors.ToString());
    }

    [Fact]
    public void Decommission_StopsAnsweringBeforeHundred_FailsNamingThePercent()
    {
        using var cluster = new FakeCluster(3) { StopLeaverAt = 40 };
        cluster.OnDecommission = _ => FakeNode.Simple("OK");
        var errors = new StringWriter();

        var code = DecommissionCommand.Run("ringkv decommission", cluster.Nodes[2].Address, null, Timeout, live: false, new StringWriter(), errors);

        Assert.Equal(1, code);
        Assert.Contains("node3 (" + cluster.Nodes[2].Address + ") stopped answering at 40.0% before it left", errors.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Decommission_StopsAnsweringAtHundredBeforeOthersSeeLeft_Succeeds()
    {
        using var cluster = new FakeCluster(3) { StopLeaverAt = 100, NeverLeft = true };
        cluster.OnDecommission = _ => FakeNode.Simple("OK");
        var output = new StringWriter();

        var code = DecommissionCommand.Run("ringkv decommission", cluster.Nodes[2].Address, null, Timeout, live: false, output, new StringWriter());

        Assert.Equal(0, code);
        Assert.Contains("decommissioned", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Decommission_Stalled_TimesOutSayingItGoesOn()
    {
        using var cluster = new FakeCluster(3) { Step = 0 };
        cluster.OnDecommission = _ => FakeNode.Simple("OK");
        var errors = new StringWriter();

        var code = DecommissionCommand.Run("ringkv decommission", cluster.Nodes[2].Address, null, TimeSpan.FromSeconds(1), live: false, new StringWriter(), errors);

        Assert.Equal(1, code);
        Assert.Contains("did not finish within 1 s (at 0.0%)", errors.ToString(), StringComparison.Ordinal);
        Assert.Contains("it goes on leaving", errors.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void RemoveNode_DownNodeToLeft_BytesFromTheGainersAndExitZero()
    {
        using var cluster = new FakeCluster(3);
        cluster.Status[2] = "DOWN";
        cluster.Nodes[2].Stop();
        var output = new StringWriter();
        var errors = new StringWriter();

        var code = RemoveNodeCommand.Run("node3", cluster.Nodes[0].Address, null, Timeout, live: false, output, errors);

        Assert.True(code == 0, $"stdout: {output}; stderr: {errors}");
        Assert.Equal(["node3"], cluster.Removed);
        Assert.Contains("remove node3: 100.0%", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("node3 removed: LEFT after", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void RemoveNode_NodeUp_ServersErrorAndExitOne()
    {
        using var cluster = new FakeCluster(3);
        var errors = new StringWriter();

        var code = RemoveNodeCommand.Run("node2", cluster.Nodes[0].Address, null, Timeout, live: false, new StringWriter(), errors);

        Assert.Equal(1, code);
        Assert.Contains("refused to remove node2: ERR node2 is UP: decommission it instead", errors.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void CleanupAll_EveryMember_KeysPerNodeDownOneFailsLeftOneSkipped()
    {
        using var cluster = new FakeCluster(4);
        cluster.Status[2] = "DOWN";
        cluster.State[3] = "LEFT";
        var output = new StringWriter();
        var errors = new StringWriter();

        var code = CleanupCommand.Run(cluster.Nodes[0].Address, all: true, null, output, errors);

        Assert.Equal(1, code);
        var lines = output.ToString().Split('\n');
        Assert.Equal(4, lines.Length); // in address order, then the total
        Assert.Contains($"node1 ({cluster.Nodes[0].Address}): removed 10 keys", lines);
        Assert.Contains($"node2 ({cluster.Nodes[1].Address}): removed 20 keys", lines);
        Assert.Equal("removed 30 keys on 2 of 3 node(s)", lines[2]);
        Assert.Equal($"ringkv cleanup: node3 ({cluster.Nodes[2].Address}) is DOWN, not cleaned up\n", errors.ToString());
    }

    [Fact]
    public void CleanupOne_Refused_ServersError()
    {
        using var node = new FakeNode(_ => FakeNode.Error("ERR a membership change is in flight (node4 JOINING); retry when it has finished"));
        var errors = new StringWriter();

        Assert.Equal(1, CleanupCommand.Run(node.Address, all: false, null, new StringWriter(), errors));
        Assert.Contains($"{node.Address} refused: ERR a membership change is in flight", errors.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void StatusStreamed_JoiningAndLeavingAsked_UnreachableUnknown()
    {
        using var cluster = new FakeCluster(3);
        cluster.State[1] = "JOINING";
        cluster.State[2] = "LEAVING";
        cluster.Percent = 37.5;
        cluster.Nodes[2].Stop();

        var members = Cli.StatusCommand.AskRing(cluster.Nodes[0].Address, null, Timeout);
        var streamed = Cli.StatusCommand.AskStreamed(members, null);

        Assert.Equal(2, streamed.Count);
        Assert.Equal(37.5, streamed["node2"]);
        Assert.Null(streamed["node3"]);
    }

    /// <summary>
    /// Nodes node1..nodeN on loopback sharing one view. KV.DECOMMISSION (to the node asked) or KV.REMOVENODE makes the
    /// node LEAVING; each INFO streaming of the change's owner then moves <see cref="Step"/> points (and 1000 bytes sent
    /// by the leaver, 500 received by each gainer); at 100 the node is LEFT in every view.
    /// </summary>
    private sealed class FakeCluster : IDisposable
    {
        private readonly Lock _lock = new();
        private int _leaver = -1;
        private long _sent = 5000;

        public FakeCluster(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var index = i;
                State.Add("NORMAL");
                Status.Add("UP");
                Received.Add(100);
                Nodes.Add(new FakeNode(arguments => Handle(index, arguments)));
            }
        }

        public List<FakeNode> Nodes { get; } = [];

        public List<string> State { get; } = [];

        public List<string> Status { get; } = [];

        public List<long> Received { get; } = [];

        public List<string> Removed { get; } = [];

        public double Percent { get; set; }

        public double Step { get; init; } = 20;

        public double StopLeaverAt { get; init; } = double.NaN;

        public bool NeverLeft { get; init; }

        public Func<int, string> OnDecommission { get; set; } = _ => FakeNode.Error("ERR unexpected");

        public void Dispose()
        {
            foreach (var node in Nodes)
            {
                node.Dispose();
            }
        }

        private string Handle(int index, string[] arguments)
        {
            lock (_lock)
            {
                switch (arguments[0].ToUpperInvariant())
                {
                    case "INFO" when arguments.Length > 1 && arguments[1] == "cluster":
                        return FakeNode.ClusterInfo(Id(index));
                    case "INFO":
                        return Streaming(index);
                    case "KV.RING":
                        var nodes = new (string, string, string, string)[Nodes.Count];
                        for (var i = 0; i < Nodes.Count; i++)
                        {
                            nodes[i] = (Id(i), Nodes[i].Address, State[i], Status[i]);
                        }

                        return FakeNode.Ring(nodes);
                    case "KV.DECOMMISSION":
                        var reply = OnDecommission(index);
                        if (reply.StartsWith('+'))
                        {
                            _leaver = index;
                            State[index] = "LEAVING";
                        }

                        return reply;
                    case "KV.REMOVENODE":
                        var target = Nodes.FindIndex(n => Id(Nodes.IndexOf(n)) == arguments[1]);
                        if (Status[target] == "UP")
                        {
                            return FakeNode.Error($"ERR {arguments[1]} is UP: decommission it instead");
                        }

                        Removed.Add(arguments[1]);
                        _leaver = target;
                        State[target] = "LEAVING";
                        return FakeNode.Simple("OK");
                    case "KV.CLEANUP":
                        return FakeNode.Integer((index + 1) * 10);
                    default:
                        return FakeNode.Error($"ERR unknown command '{arguments[0]}'");
                }
            }
        }

        /// <summary>The owner of the change (the leaver, or node1 for a removal) advances it on each INFO.</summary>
        private string Streaming(int index)
        {
            if (_leaver < 0)
            {
                return FakeNode.Streaming("none", 100, Percent, Received[index], index == 2 ? _sent : 0);
            }

            var owner = Status[_leaver] == "UP" ? _leaver : 0;
            if (index == owner && Percent < 100)
            {
                Percent = Math.Min(100, Percent + Step);
                _sent += 1000;
                for (var i = 0; i < Received.Count; i++)
                {
                    Received[i] += i == _leaver ? 0 : 500;
                }

                if (Percent >= 100 && !NeverLeft)
                {
                    State[_leaver] = "LEFT";
                }

                if (Percent >= StopLeaverAt)
                {
                    var node = Nodes[_leaver];
                    ThreadPool.QueueUserWorkItem(_ => node.Stop()); // after this reply
                }
            }

            return FakeNode.Streaming($"leave {Id(_leaver)}", 100, Percent, Received[index], index == _leaver ? _sent : 0);
        }

        private static string Id(int index) => $"node{index + 1}";
    }
}
