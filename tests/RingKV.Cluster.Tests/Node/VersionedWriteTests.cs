using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Consistency;
using RingKV.Core.Hashing;
using RingKV.Core.Versioning;
using Xunit;

namespace RingKV.Cluster.Tests.Node;

/// <summary>
/// Versioned writes (KV.PUT, KV.DEL) are coordinated at a replica of the key, which applies them to its stored set: two
/// concurrent ones through one node stay siblings (the dot's actor holds every dot it minted for the key).
/// </summary>
public sealed class VersionedWriteTests
{
    [Fact]
    public void Submit_TwoVersionedPutsWithoutContextThroughOneReplica_KeepsBothAsSiblings()
    {
        var harness = ThreeNodes();
        var a = harness["a"];

        // Both submitted before anything is delivered: concurrent, as two clients' KV.PUTs are.
        a.Submit(Put(1, "k", "x"));
        a.Submit(Put(2, "k", "y"));
        harness.Pump();

        Assert.Equal(ClientStatus.Ok, harness.Replies[1].Status);
        Assert.Equal(ClientStatus.Ok, harness.Replies[2].Status);
        foreach (var member in harness.Members)
        {
            Assert.Equal(["x", "y"], Values(member.Store.Get("k")));
        }

        Assert.Equal(["x", "y"], Values(ReadAll(harness, harness["b"], 3, "k")));
    }

    [Fact]
    public void Submit_TwoVersionedPutsWithOneContextThroughOneReplica_SupersedeWhatItSawAndKeepEachOther()
    {
        var harness = ThreeNodes();
        var a = harness["a"];
        a.Submit(Put(1, "k", "v0"));
        harness.Pump();
        var seen = ReadAll(harness, a, 2, "k")!.Context;

        a.Submit(Put(3, "k", "x", seen));
        a.Submit(Put(4, "k", "y", seen));
        harness.Pump();

        Assert.Equal(["x", "y"], Values(ReadAll(harness, harness["c"], 5, "k")));
    }

    [Fact]
    public void Submit_VersionedPutsThroughANodeThatIsNoReplica_ForwardedToTheFirstLiveReplicaAndKeptAsSiblings()
    {
        var harness = FourNodes();
        var d = harness["d"];
        var (key, replicas) = KeyNotOn(d);

        d.Submit(Put(1, key, "x"));
        d.Submit(Put(2, key, "y", consistency: ConsistencyLevel.All));
        harness.Pump();

        Assert.Equal(ClientStatus.Ok, harness.Replies[1].Status);
        Assert.Equal(ClientStatus.Ok, harness.Replies[2].Status);
        var forwards = harness.Delivered.Where(m => m.Message is CoordinateWriteRequest).ToList();
        Assert.Equal(2, forwards.Count);
        Assert.All(forwards, f => Assert.Equal((d.Id, replicas[0]), (f.From, f.To)));
        Assert.Equal(ConsistencyLevel.Quorum, ((CoordinateWriteRequest)forwards[0].Message).Consistency); // the default, resolved where the client asked
        Assert.Null(d.Store.Get(key));
        foreach (var replica in replicas)
        {
            Assert.Equal(["x", "y"], Values(harness[replica.Name].Store.Get(key)));
        }
    }

    [Fact]
    public void Submit_FirstReplicaDown_ForwardsToTheNextLiveOne()
    {
        var harness = FourNodes();
        var d = harness["d"];
        var (key, replicas) = KeyNotOn(d);
        harness[replicas[0].Name].Running = false;
        harness.Run(TimeSpan.FromSeconds(30)); // until the others mark it DOWN
        Assert.False(d.Machine.Node.IsAlive(replicas[0]));

        d.Submit(Put(1, key, "x"));
        harness.Pump();

        Assert.Equal(ClientStatus.Ok, harness.Replies[1].Status);
        Assert.Equal(replicas[1], harness.Delivered.Single(m => m.Message is CoordinateWriteRequest).To);
    }

    [Fact]
    public void Submit_ForwardedWriteNeverAnswered_ClientGetsOneTimeoutAtTheForwardersDeadline()
    {
        var harness = FourNodes();
        var d = harness["d"];
        var (key, replicas) = KeyNotOn(d);
        harness.Filter = (_, _, message) => message is not CoordinateWriteReply;

        d.Submit(Put(1, key, "x"));
        harness.Pump();
        Assert.False(harness.Replies.ContainsKey(1));
        harness.Run(TimeSpan.FromSeconds(3)); // the harness fails on a second reply

        var reply = harness.Replies[1];
        Assert.Equal(ClientStatus.Timeout, reply.Status);
        Assert.StartsWith("TIMEOUT QUORUM", reply.Message, StringComparison.Ordinal);
        Assert.Equal(["x"], Values(harness[replicas[0].Name].Store.Get(key))); // written, just not acknowledged
    }

    [Fact]
    public void Receive_ForwardedWriteDeliveredTwice_AppliedOnce()
    {
        var harness = FourNodes();
        var d = harness["d"];
        var (key, replicas) = KeyNotOn(d);
        CoordinateWriteRequest? forward = null;
        harness.Filter = (_, _, message) =>
        {
            forward ??= message as CoordinateWriteRequest;
            return true;
        };

        d.Submit(Put(1, key, "x"));
        harness.Pump();
        var target = harness[replicas[0].Name];
        target.Machine.Receive(d.Id, forward!, harness.Now, target); // the network duplicated it
        harness.Pump();

        Assert.Equal(ClientStatus.Ok, harness.Replies[1].Status);
        Assert.Equal(["x"], Values(target.Store.Get(key)));
    }

    [Fact]
    public void Submit_VersionedDeleteThroughANodeThatIsNoReplica_SupersedesWhatItsContextSaw()
    {
        var harness = FourNodes();
        var d = harness["d"];
        var (key, replicas) = KeyNotOn(d);
        d.Submit(Put(1, key, "x"));
        harness.Pump();
        var seen = ReadAll(harness, d, 2, key)!.Context;

        d.Submit(ClientRequest.WriteOf(3, Encoding.UTF8.GetBytes(key), WriteOperation.VersionedDelete, [], context: seen));
        d.Submit(Put(4, key, "y"));
        harness.Pump();

        Assert.Equal(ClientStatus.Ok, harness.Replies[3].Status);
        var set = ReadAll(harness, harness[replicas[2].Name], 5, key)!;
        Assert.Equal(2, set.Count);
        Assert.Single(set.Siblings.ToArray(), s => s.IsTombstone);
        Assert.Equal(["y"], Values(set));
    }

    private static MachineHarness ThreeNodes()
    {
        var harness = new MachineHarness();
        harness.Add("a", "r0", [100, 200, 300]);
        harness.Add("b", "r1", [150, 250, 350]);
        harness.Add("c", "r2", [180, 280, 380]);
        harness.Run(TimeSpan.FromSeconds(10));
        Assert.All(harness.Members, m => Assert.Equal(3, m.Machine.Node.Ring.MemberCount));
        return harness;
    }

    private static MachineHarness FourNodes()
    {
        var harness = new MachineHarness();
        harness.Add("a", "r0", [100, 200, 300]);
        harness.Add("b", "r1", [150, 250, 350]);
        harness.Add("c", "r2", [180, 280, 380]);
        harness.Add("d", "r0", [120, 220, 320]);
        harness.Run(TimeSpan.FromSeconds(10));
        Assert.All(harness.Members, m => Assert.Equal(4, m.Machine.Node.Ring.MemberCount));
        return harness;
    }

    /// <summary>A key whose replicas (in preference order) do not include <paramref name="node"/>.</summary>
    private static (string Key, NodeId[] Replicas) KeyNotOn(MachineHarness.Member node)
    {
        for (var i = 0; ; i++)
        {
            var key = $"key{i}";
            var replicas = node.Machine.Node.Placement.For(Token.Of(Encoding.UTF8.GetBytes(key))).ToArray();
            if (Array.IndexOf(replicas, node.Id) < 0)
            {
                Assert.Equal(3, replicas.Length);
                return (key, replicas);
            }
        }
    }

    private static ClientRequest Put(ulong id, string key, string value, VersionVector? context = null, ConsistencyLevel consistency = default) =>
        ClientRequest.WriteOf(id, Encoding.UTF8.GetBytes(key), WriteOperation.VersionedPut, Encoding.UTF8.GetBytes(value), context: context, consistency: consistency);

    private static SiblingSet? ReadAll(MachineHarness harness, MachineHarness.Member via, ulong id, string key)
    {
        via.Submit(ClientRequest.Read(id, Encoding.UTF8.GetBytes(key), ConsistencyLevel.All));
        harness.Pump();
        Assert.Equal(ClientStatus.Ok, harness.Replies[id].Status);
        return harness.Replies[id].Set;
    }

    private static List<string> Values(SiblingSet? set) =>
        set is null ? [] : [.. set.Siblings.ToArray().Where(s => !s.IsTombstone).Select(s => Encoding.UTF8.GetString(s.Value.Span)).Order(StringComparer.Ordinal)];
}
