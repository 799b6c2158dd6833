using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using RingKV.Testing.Processes;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.Cluster;

/// <summary>
/// Real cuts between real <c>ringkv serve</c> processes (issue 11 §9): the two-observer DOWN rule. Each node listens for
/// peers on its own loopback address (127.0.0.10 + i), and advertises a <see cref="CutProxy"/> in front of it, so a cut
/// of one pair blackholes exactly that pair's connections, both ways.
/// </summary>
[Collection("cluster processes")]
public sealed class CutTests : IAsyncDisposable
{
    private const int Nodes = 3;
    private const int A = 0, B = 1, C = 2;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(40);

    // Rounds C must stay UP after A suspects it: more than the report expiry (10 rounds), so neither a single-observer
    // verdict nor a flickering report could hide in the window, and twice the ~5 rounds the detector takes to suspect.
    private const int UpRounds = 12;

    private CutCluster? _cluster;

    private List<ServerProcess> Servers => _cluster!.Nodes;

    private List<CutProxy> Proxies => _cluster!.Proxies;

    private static IPAddress PeerIp(int i) => CutCluster.PeerIp(i);

    [Fact]
    [Trait("Category", "System")]
    public async Task OnePairCut_PeerStaysUp_SecondCutMarksItDown_HealBringsItBackUp()
    {
        Start();
        var a = Servers[A];
        var b = Servers[B];
        var c = Servers[C];

        // The links leave from each node's own address: the proxies see A's and C's connections by source.
        LocalCluster.WaitUntil(
            () => Proxies[C].ConnectionsFrom(PeerIp(A)) > 0 && Proxies[A].ConnectionsFrom(PeerIp(C)) > 0 && Proxies[B].ConnectionsFrom(PeerIp(C)) > 0,
            Deadline,
            "links from node0 and node2 arrive from 127.0.0.10 and 127.0.0.12");

        var db = a.Connect().GetDatabase();
        const int Keys = 20;
        for (var i = 0; i < Keys; i++)
        {
            Assert.True(await db.StringSetAsync($"cut:{i}", $"w{i}"), $"QUORUM write cut:{i} through node0 before the cut");
        }

        // Cut A <-> C only. Reads through A at once, before A's detector suspects C: the ones that ask C first (C is UP
        // and silent for A) ask B too after the speculative-retry delay, so every one is answered, none times out.
        Cut(A, C);
        var early = System.Diagnostics.Stopwatch.StartNew();
        var first = await Task.WhenAll(Enumerable.Range(0, Keys).Select(i => ReadQuorumAsync(db, $"cut:{i}")));
        early.Stop();
        var suspectedDuring = Field(a, C, "suspected");
        for (var i = 0; i < Keys; i++)
        {
            Assert.True(first[i] == $"w{i}", $"QUORUM read cut:{i} through node0 right after the cut: {first[i]}");
        }

        Log($"QUORUM reads through node0 right after the cut: all {Keys} answered in {early.ElapsedMilliseconds} ms (node0 suspected node2 at the end: {suspectedDuring})");

        LocalCluster.WaitUntil(
            () => Field(a, C, "suspected") == "1" && Field(c, A, "suspected") == "1" && Field(b, C, "observers") == "1" && Field(b, A, "observers") == "1",
            Deadline,
            "node0 and node2 suspect each other, and node1 holds both reports (one observer each)");
        AssertUpEverywhere("right after node0 suspects node2");

        // Requests through A go on: writes at QUORUM have A and B; reads ask A and B first (A suspects C), so every one
        // is answered at once.
        for (var i = 0; i < Keys; i++)
        {
            Assert.True(await db.StringSetAsync($"cut:{i}", $"v{i}"), $"QUORUM write cut:{i} through node0");
        }

        var late = System.Diagnostics.Stopwatch.StartNew();
        var reads = await Task.WhenAll(Enumerable.Range(0, Keys).Select(i => ReadQuorumAsync(db, $"cut:{i}")));
        late.Stop();
        for (var i = 0; i < Keys; i++)
        {
            Assert.True(reads[i] == $"v{i}", $"QUORUM read cut:{i} through node0 while it suspects node2: {reads[i]}");
        }

        Log($"QUORUM reads through node0 while it suspects node2: all {Keys} answered in {late.ElapsedMilliseconds} ms");
        var throughB = b.Connect().GetDatabase();
        for (var i = 0; i < Keys; i++)
        {
            Assert.Equal($"v{i}", (string?)await throughB.StringGetAsync($"cut:{i}"));
        }

        // C stays UP for the cluster, on every node, for UpRounds of A's gossip rounds (its own heartbeat version counts them).
        var start = Heartbeat(a, A);
        var window = System.Diagnostics.Stopwatch.StartNew();
        while (Heartbeat(a, A) is var now && now < start + UpRounds)
        {
            Assert.True(window.Elapsed < Deadline, $"node0 did not do {UpRounds} gossip rounds within {Deadline}");
            AssertUpEverywhere($"{now - start} rounds after the cut was seen");
            Assert.Equal("1", Field(a, C, "suspected"));
            await Task.Delay(100, TestContext.Current.CancellationToken); // polls: the loop ends on the rounds counted, not on time
        }

        Log($"node2 UP everywhere for {UpRounds} rounds of node0 ({window.Elapsed.TotalSeconds:0.0} s) while node0 suspected it");

        // Cut B <-> C too: two observers, so C is DOWN on A and B. A and B, suspected by C alone, stay UP.
        var second = System.Diagnostics.Stopwatch.StartNew();
        Cut(B, C);
        LocalCluster.WaitUntil(
            () => LocalCluster.StatusOf(a, C) == "DOWN" && LocalCluster.StatusOf(b, C) == "DOWN",
            Deadline,
            "node2 DOWN on node0 and node1 once both are cut from it");
        foreach (var (observer, subject) in new[] { (A, B), (B, A), (C, A), (C, B) })
        {
            Assert.Equal("UP", LocalCluster.StatusOf(Servers[observer], subject));
        }

        Assert.Equal("2", Field(a, C, "observers"));
        Log($"node2 DOWN on node0 and node1 {second.Elapsed.TotalSeconds:0.0} s after the second cut");
        var heal = System.Diagnostics.Stopwatch.StartNew();

        // Heal: every node UP on every node again, nobody suspected.
        Heal(A, C);
        Heal(B, C);
        LocalCluster.WaitUntil(
            () => Servers.All(n => LocalCluster.UpNormal(n) == Nodes && LocalCluster.Ring(n).Values.All(f => f["suspected"] == "0")),
            Deadline,
            "every node UP and unsuspected on every node after the heal");
        Log($"every node UP everywhere {heal.Elapsed.TotalSeconds:0.0} s after the heal");
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    private static async Task<string> ReadQuorumAsync(IDatabase db, string key)
    {
        try
        {
            return (string?)await db.StringGetAsync(key) ?? "(nil)";
        }
        catch (RedisServerException e) when (e.Message.StartsWith("TIMEOUT", StringComparison.Ordinal))
        {
            return "TIMEOUT";
        }
    }

    private static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    private static string Field(ServerProcess observer, int subject, string field) =>
        LocalCluster.Ring(observer).TryGetValue($"node{subject}", out var fields) ? fields[field] : "absent";

    private static long Heartbeat(ServerProcess observer, int subject) => long.Parse(Field(observer, subject, "heartbeat"), CultureInfo.InvariantCulture);

    private void Start()
    {
        _cluster = new CutCluster(Nodes);
        Assert.Equal(Proxies[C].EndPoint.ToString(), Field(Servers[A], C, "peer"));
    }

    private void Cut(int x, int y) => _cluster!.Cut(x, y);

    private void Heal(int x, int y) => _cluster!.Heal(x, y);

    private void AssertUpEverywhere(string when)
    {
        for (var observer = 0; observer < Nodes; observer++)
        {
            var ring = LocalCluster.Ring(Servers[observer]);
            for (var subject = 0; subject < Nodes; subject++)
            {
                var status = ring.TryGetValue($"node{subject}", out var f) ? f["status"] : "absent";
                Assert.True(status == "UP", $"{when}: node{subject} is {status} on node{observer} (observers {f?["observers"]})");
            }
        }
    }
}
