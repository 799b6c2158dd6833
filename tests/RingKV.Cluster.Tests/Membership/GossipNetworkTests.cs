using System;
using System.Collections.Generic;
using System.Linq;
using RingKV.Cluster.Membership;
using RingKV.Core.Random;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Cluster.Tests.Membership;

/// <summary>Several gossipers on a <see cref="GossipTestNetwork"/>: convergence, detection of a killed node, restart, cuts.</summary>
public sealed class GossipNetworkTests
{
    // DOWN needs a suspicion (phi 8, about 4.5 s after the last pong, which came at most a round before the kill)
    // and a second observer's report (its next ping, a round later): about 6.5 s at worst; the bound leaves room for
    // lost pings and pongs (2% each way).
    private static readonly TimeSpan DetectionBound = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(10);

    [Fact]
    public void Cluster_FiveNodesJoiningThroughOneSeed_ViewsConverge()
    {
        var run = SeededRun.Start(nameof(Cluster_FiveNodesJoiningThroughOneSeed_ViewsConverge));
        run.Run(() =>
        {
            var net = new GossipTestNetwork(run.Random) { DropPercent = 5 };
            for (var i = 1; i <= 5; i++)
            {
                var node = net.Add($"n{i}", "n1:7380");
                node.Gossiper.SetLocalTokens([(ulong)i << 60, ((ulong)i << 60) + 7]);
                node.Gossiper.SetLoad(new LoadFigures((ulong)i * 1000, (ulong)i, (ulong)i * 10));
                node.Gossiper.SetLocalState(NodeState.Normal);
            }

            var took = net.RunUntil(() => Converged(net), TimeSpan.FromSeconds(30), "every view holds every node's current record");
            Console.WriteLine($"5 nodes through one seed: views converged after {took.TotalSeconds:0.00} s; {net.Sent} messages, {net.BytesSent} bytes, {net.Dropped} dropped");
            Assert.All(net.Nodes, n => Assert.Empty(n.View.UnresolvedSeeds));

            // A description change (n4 starts leaving, new tokens) reaches everyone.
            net["n4"].Gossiper.SetLocalState(NodeState.Leaving);
            net["n4"].Gossiper.SetLocalTokens([42UL]);
            var spread = net.RunUntil(() => Converged(net) && net.Nodes.All(n => n.View.TryGet(net["n4"].Id, out var s) && s.Record.State == NodeState.Leaving), TimeSpan.FromSeconds(30), "n4's leaving reaches everyone");
            Console.WriteLine($"a state change reached every view after {spread.TotalSeconds:0.00} s");

            var (sent, bytes) = (net.Sent, net.BytesSent);
            net.RunFor(TimeSpan.FromSeconds(30), () => AssertNoneDown(net));
            Assert.True(Converged(net), net.Describe());
            Console.WriteLine($"steady state, 5 nodes: {(net.Sent - sent) / 30.0 / 5:0.0} messages and {(net.BytesSent - bytes) / 30.0 / 5:0} bytes sent per node per second");
        });
    }

    [Fact]
    public void Cluster_KilledNode_IsDownEverywhereWithinTheBoundThenUpAfterRestartWithHigherGeneration()
    {
        var run = SeededRun.Start(nameof(Cluster_KilledNode_IsDownEverywhereWithinTheBoundThenUpAfterRestartWithHigherGeneration));
        run.Run(() =>
        {
            var net = FiveNodes(run);
            var victim = net["n3"];
            var others = net.Nodes.Where(n => n != victim).ToArray();

            GossipTestNetwork.Kill(victim);
            var detected = MeasureDown(net, victim, others);
            Console.WriteLine($"killed n3: DOWN on every other node after {Describe(detected)}");
            Assert.All(detected.Values, t => Assert.True(t <= DetectionBound, $"detected after {t.TotalSeconds} s"));

            // It stays DOWN while dead: the observers' reports are renewed every round, so they never expire.
            net.RunFor(TimeSpan.FromSeconds(30), () => Assert.All(others, n => Assert.True(n.View.IsDown(victim.Id), net.Describe())));

            net.Restart(victim);
            var back = net.RunUntil(
                () => net.Nodes.All(n => n.View.TryGet(victim.Id, out var s) && s.Record.Generation == 2 && !s.Down && !s.SuspectedLocally)
                    && victim.View.Members.Length == 5,
                RecoveryBound,
                "restarted n3 (generation 2) is UP on every node");
            Console.WriteLine($"restarted n3: UP with generation 2 on every node after {back.TotalSeconds:0.00} s");

            net.RunFor(TimeSpan.FromSeconds(20), () => AssertNoneDown(net));
            Assert.True(Converged(net), net.Describe());
        });
    }

    [Fact]
    public void Cluster_OneSidedCut_LeavesTheNodeUp_TwoSidedCut_MakesItDown()
    {
        var run = SeededRun.Start(nameof(Cluster_OneSidedCut_LeavesTheNodeUp_TwoSidedCut_MakesItDown));
        run.Run(() =>
        {
            var net = FiveNodes(run);
            var (a, b, x) = (net["n1"], net["n2"], net["n5"]);

            // Only a loses x: a suspects x (and x suspects a), but one observer is never enough.
            net.Cut(a, x);
            net.RunFor(TimeSpan.FromSeconds(30), () => AssertNoneDown(net));
            Assert.True(a.View.TryGet(x.Id, out var seenByA) && seenByA.SuspectedLocally, net.Describe());
            Assert.True(x.View.TryGet(a.Id, out var seenByX) && seenByX.SuspectedLocally, net.Describe());
            Assert.All(net.Nodes.Where(n => n != a && n != x), n => Assert.False(n.View.TryGet(x.Id, out var s) && s.SuspectedLocally));

            // b loses x too: two independent observers, so x is DOWN for the whole cluster, x's own view included.
            net.Cut(b, x);
            var detected = MeasureDown(net, x, net.Nodes.ToArray());
            Console.WriteLine($"x cut from a and b: DOWN on every node after {Describe(detected)}");
            Assert.All(detected.Values, t => Assert.True(t <= DetectionBound, $"detected after {t.TotalSeconds} s"));
            Assert.All(net.Nodes, n => Assert.False(n.View.IsDown(a.Id) || n.View.IsDown(b.Id), net.Describe()));

            net.Heal(a, x);
            net.Heal(b, x);
            var healed = net.RunUntil(() => net.Nodes.All(n => !n.View.Members.Any(m => m.Down || m.SuspectedLocally)), RecoveryBound, "x UP again after the cuts heal");
            Console.WriteLine($"cuts healed: x UP on every node after {healed.TotalSeconds:0.00} s");
        });
    }

    [Fact]
    public void Cluster_TwoNodes_DeadPeerIsSuspectedButNeverDown()
    {
        var run = SeededRun.Start(nameof(Cluster_TwoNodes_DeadPeerIsSuspectedButNeverDown));
        run.Run(() =>
        {
            var net = new GossipTestNetwork(run.Random);
            var a = net.Add("a", "b:7380");
            var b = net.Add("b", "a:7380");
            net.RunUntil(() => Converged(net), TimeSpan.FromSeconds(30), "two nodes know each other");

            GossipTestNetwork.Kill(b);
            net.RunUntil(() => a.View.TryGet(b.Id, out var s) && s.SuspectedLocally, DetectionBound, "a suspects b");
            net.RunFor(TimeSpan.FromSeconds(60), () => Assert.False(a.View.IsDown(b.Id), net.Describe()));
            Assert.True(a.View.TryGet(b.Id, out var status) && status.SuspectedLocally && status.Observers == 1 && status.Phi > 8, net.Describe());
        });
    }

    [Fact]
    public void Cluster_ObserversDie_TheirReportsExpireAndTheNodeIsUpAgain()
    {
        var run = SeededRun.Start(nameof(Cluster_ObserversDie_TheirReportsExpireAndTheNodeIsUpAgain));
        run.Run(() =>
        {
            var net = FiveNodes(run);
            var (a, b, x) = (net["n1"], net["n2"], net["n5"]);
            net.Cut(a, x);
            net.Cut(b, x);
            MeasureDown(net, x, [net["n3"], net["n4"]]);

            // a and b die while reporting x: nobody renews their reports, so after the expiry x is UP for n3 and n4
            // (who reach it) and for itself; a and b, suspected by three live observers, are DOWN.
            GossipTestNetwork.Kill(a);
            GossipTestNetwork.Kill(b);
            var expiry = net.Settings.ReportExpiry;
            var freed = net.RunUntil(() => net.Alive.All(n => !n.View.IsDown(x.Id) && n.View.IsDown(a.Id) && n.View.IsDown(b.Id)), expiry + DetectionBound, "x UP once the dead observers' reports expire");
            Console.WriteLine($"observers of x died: x UP again after {freed.TotalSeconds:0.00} s (report expiry {expiry.TotalSeconds} s)");
            Assert.True(freed >= expiry - TimeSpan.FromSeconds(2), $"x was freed after {freed.TotalSeconds} s, before the reports could expire");
        });
    }

    [Fact]
    public void Cluster_SameSeed_ReplaysTheSameRun()
    {
        var seed = TestSeed.Get(nameof(Cluster_SameSeed_ReplaysTheSameRun));

        (ulong Trace, TimeSpan Detection) Once()
        {
            var net = new GossipTestNetwork(new SplitMix64(seed)) { DropPercent = 5 };
            for (var i = 1; i <= 4; i++)
            {
                net.Add($"n{i}", "n1:7380");
            }

            net.RunUntil(() => Converged(net), TimeSpan.FromSeconds(30), "converge");
            GossipTestNetwork.Kill(net["n2"]);
            var detection = net.RunUntil(() => net.Alive.All(n => n.View.IsDown(new NodeId("n2"))), TimeSpan.FromSeconds(30), "n2 DOWN");
            return (net.TraceHash, detection);
        }

        var first = Once();
        var second = Once();

        Assert.Equal(first, second);
    }

    private static GossipTestNetwork FiveNodes(SeededRun run)
    {
        var net = new GossipTestNetwork(run.Random);
        for (var i = 1; i <= 5; i++)
        {
            net.Add($"n{i}", "n1:7380", "n2:7380");
        }

        net.RunUntil(() => Converged(net), TimeSpan.FromSeconds(30), "five nodes converge");

        // Let every detector learn the rhythm of its peers' pongs.
        net.RunFor(TimeSpan.FromSeconds(20), () => AssertNoneDown(net));
        return net;
    }

    /// <summary>Runs until every one of <paramref name="observers"/> sees <paramref name="victim"/> DOWN; returns when each first did, from now.</summary>
    private static Dictionary<string, TimeSpan> MeasureDown(GossipTestNetwork net, GossipTestNetwork.TestNode victim, GossipTestNetwork.TestNode[] observers)
    {
        var from = net.Now;
        var detected = new Dictionary<string, TimeSpan>();
        net.RunUntil(
            () =>
            {
                foreach (var n in observers)
                {
                    if (!detected.ContainsKey(n.Name) && n.View.IsDown(victim.Id))
                    {
                        detected[n.Name] = net.Now - from;
                    }
                }

                // No one else may be called DOWN meanwhile.
                foreach (var n in net.Alive)
                {
                    Assert.DoesNotContain(n.View.Members, m => m.Down && m.Id != victim.Id);
                }

                return detected.Count == observers.Length;
            },
            TimeSpan.FromSeconds(60),
            $"{victim.Name} DOWN on {string.Join(',', observers.Select(o => o.Name))}");
        return detected;
    }

    private static string Describe(Dictionary<string, TimeSpan> detected)
        => string.Join(", ", detected.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"{d.Key} {d.Value.TotalSeconds:0.00} s"))
            + $" (max {detected.Values.Max().TotalSeconds:0.00} s)";

    /// <summary>Every live node holds every live node's current description and load, a recent heartbeat, and suspects no one.</summary>
    private static bool Converged(GossipTestNetwork net)
    {
        var alive = net.Alive.ToArray();
        foreach (var viewer in alive)
        {
            var view = viewer.View;
            if (view.Members.Length != net.Nodes.Count)
            {
                return false;
            }

            foreach (var node in alive)
            {
                var own = node.Gossiper.LocalRecord;
                if (!view.TryGet(node.Id, out var status)
                    || !status.Record.SameDescription(own)
                    || status.Record.Load != own.Load
                    || own.Version - status.Record.Version > 3
                    || status.SuspectedLocally
                    || status.Down)
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static void AssertNoneDown(GossipTestNetwork net)
    {
        foreach (var n in net.Alive)
        {
            Assert.True(!n.View.Members.Any(m => m.Down), $"at {(net.Now - GossipTestNetwork.Start).TotalSeconds:0.00} s someone is DOWN:\n{net.Describe()}");
        }
    }
}
