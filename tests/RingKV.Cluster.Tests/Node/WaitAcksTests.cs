using System;
using System.Collections.Generic;
using System.Linq;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Consistency;
using RingKV.Core.Hashing;
using Xunit;

namespace RingKV.Cluster.Tests.Node;

/// <summary>
/// WAIT in the state machines (issue 14): a write answered at its level keeps counting the replicas that acknowledge it
/// after the answer, until all have or its deadline passes, so WaitAcks answers how many hold it, waiting for more.
/// </summary>
public sealed class WaitAcksTests
{
    [Fact]
    public void Quorum_ThirdAckHeld_AnsweredWithTwo_WaitForThreeAnsweredWhenTheThirdArrives()
    {
        var harness = MachineHarness.ThreeSpread();
        var (a, c) = (harness["a"], harness["c"]);
        var held = Hold(harness, (from, to, m) => from == c.Id && m is ReplicaWriteReply);

        a.Submit(ClientRequest.WriteOf(100, "k"u8.ToArray(), WriteOperation.PlainPut, "v"u8.ToArray(), consistency: ConsistencyLevel.Quorum));
        harness.Pump();
        Assert.Equal(ClientStatus.Ok, harness.Replies[100].Status);
        Assert.Equal(2, harness.Replies[100].Acked);
        Assert.Single(held);

        a.Submit(ClientRequest.WaitAcks(101, writeId: 100, replicas: 2, TimeSpan.FromSeconds(1)));
        Assert.Equal(2, harness.Replies[101].Acked); // enough already: at once

        a.Submit(ClientRequest.WaitAcks(102, writeId: 100, replicas: 3, TimeSpan.Zero));
        harness.Pump();
        Assert.False(harness.Replies.ContainsKey(102), "waits for the third replica");

        Release(harness, held);
        Assert.Equal(3, harness.Replies[102].Acked);

        // Settled: a later WAIT answers from what the node remembers of the write, at once.
        a.Submit(ClientRequest.WaitAcks(103, writeId: 100, replicas: 3, TimeSpan.Zero));
        Assert.Equal(3, harness.Replies[103].Acked);
    }

    [Fact]
    public void Quorum_ThirdReplicaSilent_WaitAnswersTwoAtItsTimeout_AndTheWriteSettlesAtItsDeadline()
    {
        var harness = MachineHarness.ThreeSpread();
        var (a, c) = (harness["a"], harness["c"]);
        Hold(harness, (from, to, m) => from == c.Id && m is ReplicaWriteReply);

        a.Submit(ClientRequest.WriteOf(100, "k"u8.ToArray(), WriteOperation.PlainPut, "v"u8.ToArray(), consistency: ConsistencyLevel.Quorum));
        harness.Pump();
        a.Submit(ClientRequest.WaitAcks(101, writeId: 100, replicas: 3, TimeSpan.FromMilliseconds(300)));
        harness.Run(TimeSpan.FromMilliseconds(200));
        Assert.False(harness.Replies.ContainsKey(101));
        harness.Run(TimeSpan.FromMilliseconds(200));
        Assert.Equal(2, harness.Replies[101].Acked);

        // Timeout 0 waits as long as the write is waited on: its deadline (the request timeout), then the count stands.
        a.Submit(ClientRequest.WaitAcks(102, writeId: 100, replicas: 3, TimeSpan.Zero));
        harness.Run(TimeSpan.FromSeconds(10));
        Assert.Equal(2, harness.Replies[102].Acked);
        a.Submit(ClientRequest.WaitAcks(103, writeId: 100, replicas: 3, TimeSpan.Zero));
        Assert.Equal(2, harness.Replies[103].Acked);
    }

    [Fact]
    public void UnknownWrite_AnswersMinusOne()
    {
        var harness = MachineHarness.ThreeSpread();
        harness["a"].Submit(ClientRequest.WaitAcks(101, writeId: 12345, replicas: 1, TimeSpan.Zero));
        Assert.Equal(ClientStatus.Ok, harness.Replies[101].Status);
        Assert.Equal(-1, harness.Replies[101].Acked);
    }

    [Fact]
    public void All_AnsweredOnlyOnceEveryReplicaAcked_WithThree()
    {
        var harness = MachineHarness.ThreeSpread();
        harness["a"].Submit(ClientRequest.WriteOf(100, "k"u8.ToArray(), WriteOperation.PlainPut, "v"u8.ToArray(), consistency: ConsistencyLevel.All));
        harness.Pump();
        Assert.Equal(3, harness.Replies[100].Acked);
        harness["a"].Submit(ClientRequest.WaitAcks(101, writeId: 100, replicas: 3, TimeSpan.Zero));
        Assert.Equal(3, harness.Replies[101].Acked);
    }

    [Fact]
    public void ForwardedVersionedWrite_LateAckRelayedByTheCoordinatingReplica_WaitOnTheForwarderCountsIt()
    {
        var harness = MachineHarness.FourSpread();
        var a = harness["a"];

        // A key a holds no replica of: a forwards the KV.PUT to a replica, which coordinates it.
        var key = Enumerable.Range(0, 1000).Select(i => System.Text.Encoding.UTF8.GetBytes($"key:{i}"))
            .First(k => !a.Machine.Node.Placement.For(Token.Of(k)).ToArray().Contains(a.Id));
        var replicas = a.Machine.Node.Placement.For(Token.Of(key)).ToArray();
        var last = replicas[^1];
        var held = Hold(harness, (from, to, m) => m is ReplicaWriteReply && from == last);

        a.Submit(ClientRequest.WriteOf(100, key, WriteOperation.VersionedPut, "v"u8.ToArray(), consistency: ConsistencyLevel.Quorum));
        harness.Pump();
        Assert.Equal(ClientStatus.Ok, harness.Replies[100].Status);
        Assert.Contains(harness.Delivered, d => d.From == a.Id && d.Message is CoordinateWriteRequest);
        var coordinating = harness.Delivered.First(d => d.From == a.Id && d.Message is CoordinateWriteRequest).To;
        Assert.NotEqual(last, coordinating); // the coordinating replica is the first live one, not the held one
        Assert.Equal(2, harness.Replies[100].Acked);

        a.Submit(ClientRequest.WaitAcks(101, writeId: 100, replicas: 3, TimeSpan.FromSeconds(2)));
        harness.Pump();
        Assert.False(harness.Replies.ContainsKey(101));
        Release(harness, held);
        Assert.Equal(3, harness.Replies[101].Acked);
        Assert.Contains(harness.Delivered, d => d.To == a.Id && d.Message is CoordinateWriteReply { Final: true, Acked: 3 });
    }

    /// <summary>Holds back the messages <paramref name="hold"/> picks (they are not delivered) in the list returned.</summary>
    private static List<(NodeId From, NodeId To, ClusterMessage Message)> Hold(MachineHarness harness, Func<NodeId, NodeId, ClusterMessage, bool> hold)
    {
        var held = new List<(NodeId From, NodeId To, ClusterMessage Message)>();
        harness.Filter = (from, to, message) =>
        {
            if (hold(from, to, message))
            {
                held.Add((from, to, message));
                return false;
            }

            return true;
        };
        return held;
    }

    private static void Release(MachineHarness harness, List<(NodeId From, NodeId To, ClusterMessage Message)> held)
    {
        harness.Filter = null;
        foreach (var (from, to, message) in held)
        {
            var member = harness.Members.Single(m => m.Id == to);
            member.Machine.Receive(from, message, harness.Now, member);
        }

        held.Clear();
        harness.Pump();
    }


}
