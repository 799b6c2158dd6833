using System;
using System.Collections.Generic;
using System.Linq;
using RingKV.Cluster.Membership;
using RingKV.Core.Random;
using Xunit;

namespace RingKV.Cluster.Tests.Membership;

public sealed class GossiperTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Tick_SeedNotYetIdentified_GetsASynByAddressUntilItAnswers()
    {
        var a = New("a", "b:7380");
        var b = New("b");
        var outbox = new RecordingOutbox();

        a.Tick(T0, outbox);

        var (address, node, message) = Assert.Single(outbox.Sent);
        Assert.Equal("b:7380", address);
        Assert.Null(node);
        var syn = Assert.IsType<GossipSyn>(message);
        Assert.Equal("b:7380", syn.SeedAddress);
        Assert.Equal([a.LocalRecord.Digest], syn.Digests.ToArray());

        // b answers: the ack names b, echoes the seed address and carries b's record; b asks for a's.
        var fromB = new RecordingOutbox();
        b.Handle(syn, T0, fromB);
        var ack = Assert.IsType<GossipAck>(Assert.Single(fromB.Sent).Message);
        Assert.Equal("a:7380", fromB.Sent[0].Address);
        Assert.Equal("b:7380", ack.SeedAddress);
        Assert.Equal([b.LocalRecord], ack.Records.ToArray());
        Assert.Equal([new GossipDigest(a.LocalId, 0, 0)], ack.Requests.ToArray());

        var fromA = new RecordingOutbox();
        a.Handle(ack, T0, fromA);
        Assert.Empty(a.View.UnresolvedSeeds);
        Assert.True(a.View.TryGet(b.LocalId, out var seen) && seen.Record.Equals(b.LocalRecord));
        var ack2 = Assert.IsType<GossipAck2>(Assert.Single(fromA.Sent).Message);
        Assert.Equal([a.LocalRecord], ack2.Records.ToArray());

        b.Handle(ack2, T0, new RecordingOutbox());
        Assert.True(b.View.TryGet(a.LocalId, out var seenByB) && seenByB.Record.Equals(a.LocalRecord));

        // From now on a pings b by node id and gossips with it, and no longer syns the seed address.
        var next = new RecordingOutbox();
        a.Tick(T0 + TimeSpan.FromSeconds(1), next);
        Assert.Contains(next.Sent, s => s.Message is GossipPing && s.Node == b.LocalId && s.Address == "b:7380");
        Assert.DoesNotContain(next.Sent, s => s.Node is null);
    }

    [Fact]
    public void Tick_EveryHundredMilliseconds_PingsEveryPeerNotLeftOncePerIntervalAndSynsFanoutDistinctUnsuspectedOnes()
    {
        var a = New("a", settings: new GossipSettings { Fanout = 2 });
        foreach (var name in new[] { "b", "c", "d" })
        {
            Learn(a, MembershipSamples.Record(name));
        }

        Learn(a, MembershipSamples.Record("e", state: NodeState.Left));
        var rounds = new List<List<(string Address, NodeId? Node, GossipMessage Message)>>();
        for (var ms = 0; ms < 20_000; ms += 100)
        {
            var now = T0 + TimeSpan.FromMilliseconds(ms);
            var outbox = new RecordingOutbox();
            a.Tick(now, outbox);
            if (outbox.Sent.Count > 0)
            {
                rounds.Add(outbox.Sent);
            }

            // b and c answer every ping; d never does.
            foreach (var ping in outbox.Sent.Where(s => s.Message is GossipPing && s.Node != new NodeId("d")))
            {
                a.Handle(new GossipPong(new HeartbeatUpdate(ping.Node!.Value, 1, 1, 1, default, []), ping.Address, now.UtcTicks), now, new RecordingOutbox());
            }
        }

        Assert.Equal(20, rounds.Count);
        Assert.True(Suspected(a, "d") && !Suspected(a, "b") && !Suspected(a, "c"));
        foreach (var round in rounds)
        {
            Assert.Equal(["b", "c", "d"], round.Where(s => s.Message is GossipPing).Select(s => s.Node!.Value.Name).ToArray());
            var syns = round.Where(s => s.Message is GossipSyn).Select(s => s.Node!.Value.Name).ToArray();
            Assert.Equal(2, syns.Distinct().Count());
        }

        // Once d is suspected (phi 8 about 5.3 s after it became known), exchanges go to b and c only.
        Assert.All(rounds.Skip(6), round => Assert.Equal(["b", "c"], round.Where(s => s.Message is GossipSyn).Select(s => s.Node!.Value.Name).Order(StringComparer.Ordinal).ToArray()));
        Assert.Contains(rounds.Take(5), round => round.Any(s => s.Message is GossipSyn && s.Node == new NodeId("d")));
    }

    [Fact]
    public void Handle_RecordOfAHigherGeneration_WinsOverAnyVersionOfTheOlder()
    {
        var a = New("a");
        Learn(a, MembershipSamples.Record("b", generation: 5, version: 900));

        Learn(a, MembershipSamples.Record("b", generation: 6, version: 1, state: NodeState.Joining));
        Assert.True(a.View.TryGet(new NodeId("b"), out var now));
        Assert.Equal((6UL, 1UL, NodeState.Joining), (now.Record.Generation, now.Record.Version, now.Record.State));

        // The old incarnation's later gossip, however high its version, is stale.
        Learn(a, MembershipSamples.Record("b", generation: 5, version: 5000));
        Assert.True(a.View.TryGet(new NodeId("b"), out var after));
        Assert.Equal((6UL, 1UL), (after.Record.Generation, after.Record.Version));
    }

    [Fact]
    public void Handle_HeartbeatForAnotherDescription_IsIgnoredUntilTheWholeRecordComes()
    {
        var a = New("a");
        Learn(a, MembershipSamples.Record("b", generation: 1, version: 10));
        var load = new LoadFigures(7, 7, 7);

        // b changed its description at version 11; a heartbeat of version 12 for state version 11 must not hide that.
        var heartbeat = new HeartbeatUpdate(new NodeId("b"), 1, 12, 11, load, []);
        a.Handle(new GossipAck2(new NodeId("b"), "b:7380", [], [heartbeat]), T0, new RecordingOutbox());
        Assert.True(a.View.TryGet(new NodeId("b"), out var held));
        Assert.Equal(10UL, held.Record.Version);

        // The same heartbeat for the description a holds is taken.
        var matching = new HeartbeatUpdate(new NodeId("b"), 1, 12, 1, load, []);
        a.Handle(new GossipAck2(new NodeId("b"), "b:7380", [], [matching]), T0, new RecordingOutbox());
        Assert.True(a.View.TryGet(new NodeId("b"), out var updated));
        Assert.Equal((12UL, load), (updated.Record.Version, updated.Record.Load));
    }

    [Fact]
    public void Handle_SynListingAnOlderVersion_GetsTheHeartbeatOrTheWholeRecordAsNeeded()
    {
        var a = New("a");
        var b = MembershipSamples.Record("b", generation: 1, version: 10);
        Learn(a, b);
        var outbox = new RecordingOutbox();

        a.Handle(new GossipSyn(new NodeId("c"), "c:7380", "", [new GossipDigest(b.Id, 1, 4), new GossipDigest(a.LocalId, a.LocalRecord.Generation, a.LocalRecord.Version)]), T0, outbox);

        // c holds b's current description (state version 1 <= 4): the heartbeat suffices; c holds a's current
        // record: nothing. c did not list itself, so a has nothing to ask for.
        var ack = Assert.IsType<GossipAck>(Assert.Single(outbox.Sent).Message);
        Assert.Empty(ack.Records);
        Assert.Equal(10UL, Assert.Single(ack.Heartbeats).Version);
        Assert.Empty(ack.Requests);

        var older = new RecordingOutbox();
        a.Handle(new GossipSyn(new NodeId("c"), "c:7380", "", [new GossipDigest(b.Id, 0, 0), new GossipDigest(new NodeId("c"), 3, 3)]), T0, older);
        var second = Assert.IsType<GossipAck>(Assert.Single(older.Sent).Message);

        // b unknown to c: the whole record; a unlisted: its whole record; c unknown to a: a requests it.
        Assert.Equal(["a", "b"], second.Records.Select(r => r.Id.Name).Order(StringComparer.Ordinal).ToArray());
        Assert.Empty(second.Heartbeats);
        Assert.Equal([new GossipDigest(new NodeId("c"), 0, 0)], second.Requests.ToArray());
    }

    [Fact]
    public void Handle_RecordOfItselfNewerThanItsOwn_IsIgnoredAndCounted()
    {
        var a = New("a");
        var before = a.LocalRecord;

        Learn(a, MembershipSamples.Record("a", generation: 99, version: 1));

        Assert.Same(before, a.LocalRecord);
        Assert.Equal(1, a.ConflictingSelfRecords);
    }

    [Fact]
    public void Handle_Ping_IsAnsweredWithAPongEvenFromAnUnknownNode()
    {
        var a = New("a");
        var outbox = new RecordingOutbox();
        var ping = new GossipPing(new HeartbeatUpdate(new NodeId("z"), 1, 1, 1, default, []), "z:7380", 12345);

        a.Handle(ping, T0, outbox);

        var (address, node, message) = Assert.Single(outbox.Sent);
        Assert.Equal(("z:7380", new NodeId("z")), (address, node));
        var pong = Assert.IsType<GossipPong>(message);
        Assert.Equal(12345, pong.EchoSentAtTicks);
        Assert.Equal(a.LocalId, pong.From);
    }

    [Fact]
    public void Pong_FeedsTheDetectorOnlyWhenFreshAndNewerThanTheLast()
    {
        var a = New("a");
        Learn(a, MembershipSamples.Record("b"));
        var bHeartbeat = new HeartbeatUpdate(new NodeId("b"), 1, 1, 1, default, []);

        // Pings every second; b's pongs come back at once; phi stays low.
        var outbox = new RecordingOutbox();
        var t = T0;
        for (var i = 0; i < 10; i++)
        {
            t = T0 + TimeSpan.FromSeconds(i);
            a.Tick(t, outbox);
            a.Handle(new GossipPong(bHeartbeat, "b:7380", t.UtcTicks), t + TimeSpan.FromMilliseconds(5), outbox);
        }

        var last = t + TimeSpan.FromMilliseconds(5);
        Assert.True(Phi(a, "b") < 1);

        // Six seconds of silence; then a duplicate of the last pong and a pong answering a ping sent 5 s ago: neither is fresh evidence.
        var later = last + TimeSpan.FromSeconds(6);
        a.Tick(later, outbox);
        Assert.True(Suspected(a, "b"));
        a.Handle(new GossipPong(bHeartbeat, "b:7380", t.UtcTicks), later, outbox);
        a.Handle(new GossipPong(bHeartbeat, "b:7380", (later - TimeSpan.FromSeconds(5)).UtcTicks), later, outbox);
        Assert.True(Suspected(a, "b"));

        // A pong answering the ping of this round clears the suspicion at once, and a's record says so.
        a.Handle(new GossipPong(bHeartbeat, "b:7380", later.UtcTicks), later + TimeSpan.FromMilliseconds(5), outbox);
        Assert.False(Suspected(a, "b"));
        Assert.Empty(a.LocalRecord.Suspects);
    }

    [Fact]
    public void Pong_FromANewGeneration_StartsTheDetectorOverButGossipOfItDoesNot()
    {
        var a = New("a");
        Learn(a, MembershipSamples.Record("b"));
        var outbox = new RecordingOutbox();
        var old = new HeartbeatUpdate(new NodeId("b"), 1, 1, 1, default, []);
        var t = T0;
        for (var i = 0; i < 20; i++)
        {
            t = T0 + TimeSpan.FromSeconds(i);
            a.Tick(t, outbox);
            a.Handle(new GossipPong(old, "b:7380", t.UtcTicks), t, outbox);
        }

        // b restarts; a hears of generation 2 through gossip while b is silent: no direct evidence, so still suspected.
        var restart = t + TimeSpan.FromSeconds(6);
        a.Tick(restart, outbox);
        Assert.True(Suspected(a, "b"));
        Learn(a, MembershipSamples.Record("b", generation: 2), restart);
        a.Tick(restart, outbox);
        Assert.True(Suspected(a, "b"));

        // Its first pong starts the detector over: the old, perfectly regular rhythm (phi 8 after 4.5 s) is forgotten,
        // and the first-interval estimate (deviation 250 ms, phi 8 after about 5.3 s) stands in.
        var renewed = new HeartbeatUpdate(new NodeId("b"), 2, 1, 1, default, []);
        a.Handle(new GossipPong(renewed, "b:7380", restart.UtcTicks), restart, outbox);
        Assert.False(Suspected(a, "b"));
        a.Tick(restart + TimeSpan.FromSeconds(5), new RecordingOutbox());
        Assert.False(Suspected(a, "b"));
        a.Tick(restart + TimeSpan.FromSeconds(6), new RecordingOutbox());
        Assert.True(Suspected(a, "b"));

        // A late pong of the dead incarnation feeds nothing.
        a.Handle(new GossipPong(old, "b:7380", (restart + TimeSpan.FromSeconds(6)).UtcTicks), restart + TimeSpan.FromSeconds(6), outbox);
        Assert.True(Suspected(a, "b"));
    }

    [Fact]
    public void Tick_SuspicionChanges_AreCarriedByTheLocalRecordAtANewVersion()
    {
        var a = New("a");
        Learn(a, MembershipSamples.Record("b"));
        Learn(a, MembershipSamples.Record("c"));
        a.Tick(T0, new RecordingOutbox());
        var version = a.LocalRecord.Version;

        a.Tick(T0 + TimeSpan.FromSeconds(8), new RecordingOutbox());

        Assert.Equal(["b", "c"], a.LocalRecord.Suspects.Select(s => s.Name).ToArray());
        Assert.True(a.LocalRecord.Version > version);
        var ping = new RecordingOutbox();
        a.Tick(T0 + TimeSpan.FromSeconds(9), ping);
        var sent = ping.Sent.Select(s => s.Message).OfType<GossipPing>().First();
        Assert.Equal(["b", "c"], sent.Heartbeat.Suspects.Select(s => s.Name).ToArray());

        // a alone suspects them: neither is DOWN.
        Assert.All(a.View.Members.Where(m => !m.IsLocal), m => Assert.False(m.Down));
    }

    [Fact]
    public void View_PeerReportAndLocalSuspicion_MakeTheNodeDown()
    {
        var a = New("a");
        Learn(a, MembershipSamples.Record("b", version: 1));
        Learn(a, MembershipSamples.Record("x"));
        a.Tick(T0 + TimeSpan.FromSeconds(8), new RecordingOutbox());
        Assert.False(a.View.IsDown(new NodeId("x")));
        var epoch = a.View.Epoch;

        // b, fresh, reports x too.
        Learn(a, MembershipSamples.Record("b", version: 2, suspects: "x"), T0 + TimeSpan.FromSeconds(8));

        Assert.True(a.View.IsDown(new NodeId("x")));
        Assert.True(a.View.TryGet(new NodeId("x"), out var x) && x.Observers == 2);
        Assert.True(a.View.Epoch > epoch);
    }

    [Fact]
    public void SetLocalState_AfterLeft_Throws()
    {
        var a = New("a");
        a.SetLocalState(NodeState.Left);

        Assert.Throws<InvalidOperationException>(() => a.SetLocalState(NodeState.Normal));
    }

    [Fact]
    public void SetLocalState_RaisesVersionAndStateVersion()
    {
        var a = New("a");
        var before = a.LocalRecord;

        a.SetLocalState(NodeState.Normal);

        Assert.Equal(before.Version + 1, a.LocalRecord.Version);
        Assert.Equal(a.LocalRecord.Version, a.LocalRecord.StateVersion);
        Assert.Equal(NodeState.Normal, a.LocalRecord.State);
    }

    private static Gossiper New(string name, params string[] seeds) => New(name, new GossipSettings(), seeds);

    private static Gossiper New(string name, GossipSettings settings, params string[] seeds)
        => new(
            new NodeRecord(new NodeId(name), 1, 1, 1, NodeState.Joining, [], "dc1", "rack1", 1, name + ":7379", name + ":7380", default, []),
            seeds,
            settings,
            new SplitMix64(1));

    private static void Learn(Gossiper gossiper, NodeRecord record, DateTimeOffset? at = null)
        => gossiper.Handle(new GossipAck2(new NodeId("relay"), "relay:7380", [record], []), at ?? T0, new RecordingOutbox());

    private static double Phi(Gossiper gossiper, string node)
        => gossiper.View.TryGet(new NodeId(node), out var status) ? status.Phi : throw new InvalidOperationException(node + " unknown");

    private static bool Suspected(Gossiper gossiper, string node)
        => gossiper.View.TryGet(new NodeId(node), out var status) ? status.SuspectedLocally : throw new InvalidOperationException(node + " unknown");

    private sealed class RecordingOutbox : IGossipOutbox
    {
        public List<(string Address, NodeId? Node, GossipMessage Message)> Sent { get; } = [];

        public void Send(string peerAddress, NodeId? node, GossipMessage message) => Sent.Add((peerAddress, node, message));
    }
}
