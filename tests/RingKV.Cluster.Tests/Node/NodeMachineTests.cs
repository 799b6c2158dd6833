using System;
using System.Linq;
using RingKV.Cluster.Messages;
using Xunit;

namespace RingKV.Cluster.Tests.Node;

public sealed class NodeMachineTests
{
    [Fact]
    public void Receive_TwoMembersClaimOneToken_BuildsOneRingWithTheTokenAtTheLowerId()
    {
        // Two nodes that joined at once against the same view choose the same tokens (the allocator is deterministic
        // over the ring it sees): found by the simulator (seed 112613390). A third node hearing both must not throw.
        var harness = new MachineHarness();
        harness.Add("a", "r0", [100, 200, 300]);
        harness.Add("b", "r1", [150, 250, 350]);
        harness.Add("c", "r2", [150, 260, 360]);

        harness.Run(TimeSpan.FromSeconds(10));

        foreach (var member in harness.Members)
        {
            var ring = member.Machine.Node.Ring;
            Assert.Equal(3, ring.MemberCount);
            Assert.Equal("b", ring.OwnerOf(new Core.Hashing.Token(150)).Name);
            Assert.Equal([260UL, 360UL], ring.TokensOf(new NodeId("c")).Select(t => t.Value));
        }
    }

    [Fact]
    public void Submit_RestartedNodeHasNotHeardTheCluster_AnswersUnavailable()
    {
        // A restarted node has its tokens, so it is NORMAL at once, but until gossip tells it of the others its ring is
        // itself alone: a write at ALL was acknowledged by its own replica only (simulator seeds 620439463, 620439464).
        var harness = ThreeNodesOnThreeRacks();
        Assert.All(harness.Members, m => Assert.Equal(3, m.Machine.Node.Ring.MemberCount));

        var c = harness.Add("c", "r2", [180, 280, 380], generation: 2, store: harness["c"].Store);
        harness.Filter = (from, to, _) => from != c.Id && to != c.Id; // c hears nobody yet
        harness.Run(TimeSpan.FromMilliseconds(500));
        c.Submit(Coordination.ClientRequest.WriteOf(1, "k"u8.ToArray(), Coordination.WriteOperation.PlainPut, "v"u8.ToArray(), consistency: Core.Consistency.ConsistencyLevel.All));
        harness.Pump();

        Assert.Equal(Coordination.ClientStatus.Unavailable, harness.Replies[1].Status);
        Assert.Null(harness["a"].Store.Get("k"));
    }

    [Fact]
    public void Tick_NodesJoinTogether_ChooseDistinctTokensOneAfterAnother()
    {
        // Nodes that join at once against the same view chose the same tokens (the allocator is deterministic over the
        // ring it sees), so after the lower id kept the shared tokens the others had none left: a ring of 2 out of 5
        // members (simulator seeds 1050688847, 1050688849).
        var harness = new MachineHarness();
        harness.Add("a", "r0", []);
        harness.Add("b", "r1", []);
        harness.Add("c", "r2", []);
        harness.Add("d", "r0", []);

        harness.Run(TimeSpan.FromSeconds(30));

        foreach (var member in harness.Members)
        {
            var ring = member.Machine.Node.Ring;
            Assert.True(4 == ring.MemberCount, string.Join("; ", harness.Members.Select(m => $"{m.Id} {m.Machine.State} [{string.Join(",", m.Machine.Tokens)}] sees {string.Join(",", m.Machine.View.Members.Select(v => $"{v.Id}:{v.Record.State}:{v.Record.Tokens.Length}"))}")));
            Assert.All(harness.Members, m => Assert.Equal(4, ring.TokensOf(m.Id).Count));
        }
    }

    [Fact]
    public void Submit_ReplicasAnswerBusy_ClientGetsBusyAtOnce()
    {
        // A replica whose link or queue is full answers BUSY (the host answers for a peer it could not send to): the
        // client hears BUSY when the level can no longer be met, not TIMEOUT at the deadline.
        var harness = ThreeNodesOnThreeRacks();
        var held = new System.Collections.Generic.List<(NodeId To, ReplicaWriteRequest Request)>();
        harness.Filter = (from, to, message) =>
        {
            if (message is ReplicaWriteRequest write)
            {
                held.Add((to, write));
                return false;
            }

            return true;
        };

        var a = harness["a"];
        a.Submit(Coordination.ClientRequest.WriteOf(7, "k"u8.ToArray(), Coordination.WriteOperation.PlainPut, "v"u8.ToArray(), consistency: Core.Consistency.ConsistencyLevel.Quorum));
        harness.Pump();
        Assert.Equal(2, held.Count);
        Assert.False(harness.Replies.ContainsKey(7));
        foreach (var (to, request) in held)
        {
            a.Machine.Receive(to, new ReplicaWriteReply(request.RequestId, ReplicaStatus.Busy, "queue full"), harness.Now, a);
        }

        var reply = harness.Replies[7];
        Assert.Equal(Coordination.ClientStatus.Busy, reply.Status);
        Assert.StartsWith("BUSY QUORUM acked 1 of 2", reply.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Submit_OneKeyAtSeveralLevelsInTurn_EachCountsItsOwnLevel()
    {
        // Requests to one key's replicas share their quorum plan per level: an ALL after a QUORUM (and the other way) must
        // each need its own count. c drops the writes sent to it, so QUORUM succeeds and ALL times out.
        var harness = ThreeNodesOnThreeRacks();
        var c = harness["c"].Id;
        harness.Filter = (from, to, message) => !(message is ReplicaWriteRequest && to == c);
        var a = harness["a"];
        var levels = new[] { Core.Consistency.ConsistencyLevel.Quorum, Core.Consistency.ConsistencyLevel.All, Core.Consistency.ConsistencyLevel.Quorum, Core.Consistency.ConsistencyLevel.All };
        for (var i = 0; i < levels.Length; i++)
        {
            a.Submit(Coordination.ClientRequest.WriteOf(10 + (ulong)i, "k"u8.ToArray(), Coordination.WriteOperation.PlainPut, "v"u8.ToArray(), consistency: levels[i]));
        }

        harness.Run(TimeSpan.FromSeconds(10));
        Assert.Equal(
            [Coordination.ClientStatus.Ok, Coordination.ClientStatus.Timeout, Coordination.ClientStatus.Ok, Coordination.ClientStatus.Timeout],
            Enumerable.Range(0, levels.Length).Select(i => harness.Replies[10 + (ulong)i].Status).ToArray());
    }

    /// <summary>Nodes a, b and c on racks r0-r2, three tokens each, after 10 s of gossip: every key on all three.</summary>
    private static MachineHarness ThreeNodesOnThreeRacks()
    {
        var harness = new MachineHarness();
        harness.Add("a", "r0", [100, 200, 300]);
        harness.Add("b", "r1", [150, 250, 350]);
        harness.Add("c", "r2", [180, 280, 380]);
        harness.Run(TimeSpan.FromSeconds(10));
        return harness;
    }
}
