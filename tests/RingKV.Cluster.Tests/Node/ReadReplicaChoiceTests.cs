using System;
using System.Collections.Generic;
using System.Linq;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Consistency;
using Xunit;

namespace RingKV.Cluster.Tests.Node;

/// <summary>
/// Which replicas a QUORUM read asks, how their answers combine, and when it asks one more: a replica that is UP for the cluster but silent for
/// the coordinator (only the link between the two is cut) must not make reads time out (found by CutTests: 11 to 16 of
/// 20 reads through node0 answered TIMEOUT while node0 was cut from node2 alone).
/// </summary>
public sealed class ReadReplicaChoiceTests
{
    private const int Keys = 20;

    [Fact]
    public void Read_ReplicaSilentButNotSuspected_AnsweredAfterTheRetryDelayByTheNextReplica()
    {
        var harness = MachineHarness.ThreeSpread();
        var a = harness["a"];
        var b = harness["b"];
        var c = harness["c"];
        Write(harness, a);

        // c drops the reads a sends it, and nothing else: gossip flows, so no one suspects c.
        var askedC = new HashSet<ulong>();
        var askedB = new HashSet<ulong>();
        harness.Filter = (from, to, message) =>
        {
            if (from == a.Id && message is ReplicaReadRequest read)
            {
                (to == c.Id ? askedC : askedB).Add(read.RequestId);
                return to != c.Id;
            }

            return true;
        };

        for (var i = 0; i < Keys; i++)
        {
            a.Submit(ClientRequest.Read(100 + (ulong)i, Key(i), ConsistencyLevel.Quorum));
        }

        harness.Pump();
        Assert.Empty(a.Machine.Node.Suspected);
        var waiting = Enumerable.Range(0, Keys).Count(i => !harness.Replies.ContainsKey(100 + (ulong)i));
        Assert.True(waiting > 0, "no read asked c first: the test proves nothing"); // a asks itself and one more
        Assert.Equal(waiting, askedC.Count);

        // Before the retry delay (100 ms) nothing more is asked; one tick after it, b is.
        harness.Run(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50));
        Assert.Equal(Keys - waiting, askedB.Count);
        harness.Run(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(50));

        for (var i = 0; i < Keys; i++)
        {
            var reply = harness.Replies[100 + (ulong)i];
            Assert.True(reply.Status == ClientStatus.Ok, $"read {i}: {reply.Status} {reply.Message}");
            Assert.Equal(Value(i), reply.Set!.Winner!.Value.Value.ToArray());
        }

        Assert.Equal(Keys, askedB.Count);
        Assert.True(askedC.IsSubsetOf(askedB), "the reads c did not answer were asked of b");
    }

    [Fact]
    public void Read_ReplicaSuspectedLocally_NotAmongTheFirstAsked()
    {
        var harness = MachineHarness.ThreeSpread();
        var a = harness["a"];
        var b = harness["b"];
        var c = harness["c"];
        Write(harness, a);

        // Cut a <-> c only: a suspects c, b still hears c, so c stays UP (one observer is never enough).
        var askedC = 0;
        harness.Filter = (from, to, message) =>
        {
            var cut = (from == a.Id && to == c.Id) || (from == c.Id && to == a.Id);
            if (cut && message is ReplicaReadRequest)
            {
                askedC++;
            }

            return !cut;
        };

        harness.Run(TimeSpan.FromSeconds(20));
        Assert.Contains(c.Id, a.Machine.Node.Suspected);
        Assert.True(a.Machine.Node.IsAlive(c.Id), "c is UP for the cluster: b still hears it");
        Assert.DoesNotContain(c.Id, b.Machine.Node.Suspected);

        for (var i = 0; i < Keys; i++)
        {
            a.Submit(ClientRequest.Read(100 + (ulong)i, Key(i), ConsistencyLevel.Quorum));
        }

        harness.Pump(); // no tick: only the replicas asked first answer

        Assert.Equal(0, askedC);
        for (var i = 0; i < Keys; i++)
        {
            Assert.True(harness.Replies.TryGetValue(100 + (ulong)i, out var reply), $"read {i} still waits");
            Assert.Equal(ClientStatus.Ok, reply.Status);
        }

        // At ALL the suspected replica is still asked: it is UP, and the level needs it.
        a.Submit(ClientRequest.Read(200, Key(0), ConsistencyLevel.All));
        harness.Pump();
        Assert.Equal(1, askedC);
    }

    [Fact]
    public void Scan_ReplicaSilentButNotSuspected_PageAnsweredAfterTheRetryDelay()
    {
        var harness = MachineHarness.ThreeSpread();
        var a = harness["a"];
        var c = harness["c"];
        Write(harness, a);
        harness.Filter = (from, to, message) => !(from == a.Id && to == c.Id && message is ReplicaScanRequest);

        // Every page of a full scan through a: each asks a and one more, and the ones that ask c need the retry.
        var cursor = 0UL;
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var id = 1000UL;
        do
        {
            a.Submit(new ClientRequest(id, ClientOperation.Scan, ConsistencyLevel.Quorum) { Cursor = cursor, Count = 100 });
            harness.Pump();
            if (!harness.Replies.ContainsKey(id))
            {
                harness.Run(TimeSpan.FromMilliseconds(200));
            }

            var reply = harness.Replies[id++];
            Assert.True(reply.Status == ClientStatus.Ok, $"page at {cursor}: {reply.Status} {reply.Message}");
            keys.UnionWith(reply.Entries.Select(e => System.Text.Encoding.UTF8.GetString(e.Key)));
            cursor = reply.NextCursor;
        }
        while (cursor != 0);

        Assert.Equal(Keys, keys.Count);
    }

    [Fact]
    public void Read_ReplicasAgreeOrNot_AgreeingRecordPassedUndecodedDifferingOnesMerged()
    {
        var harness = MachineHarness.ThreeSpread();
        var a = harness["a"];
        Write(harness, a);

        // Every replica holds the same record: the reply carries it as it came, and its set is that record's.
        a.Submit(ClientRequest.Read(200, Key(0), ConsistencyLevel.All));
        harness.Pump();
        var agreed = harness.Replies[200];
        Assert.Equal(ClientStatus.Ok, agreed.Status);
        Assert.NotNull(agreed.Record);
        Assert.Equal(a.Store.Records["k0"].Set, agreed.Record!.Value.Set);
        Assert.Equal(Value(0), agreed.Set!.Winner!.Value.Value.ToArray());

        // One replica holds a later plain write the others missed: the reply is the merge, the later write wins.
        var later = RingKV.Core.Versioning.SiblingSet.Empty.PutLww(
            System.Text.Encoding.UTF8.GetBytes("later"), 99, RingKV.Core.Versioning.HybridTimestamp.FromUnixMs(harness.Now.ToUnixTimeMilliseconds() + 60_000), 10);
        var merged = RingKV.Core.Versioning.SiblingSet.TryDecode(harness["c"].Store.Records["k0"].Set, out var stored, out _) ? stored.Merge(later) : later;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        merged.Encode(buffer);
        harness["c"].Store.Records["k0"] = new ReplicaRecord(buffer.WrittenSpan.ToArray(), 0);

        a.Submit(ClientRequest.Read(201, Key(0), ConsistencyLevel.All));
        harness.Pump();
        var differed = harness.Replies[201];
        Assert.Equal(ClientStatus.Ok, differed.Status);
        Assert.Null(differed.Record);
        Assert.Equal("later", System.Text.Encoding.UTF8.GetString(differed.Set!.Winner!.Value.Value.Span));
    }


    private static void Write(MachineHarness harness, MachineHarness.Member through)
    {
        for (var i = 0; i < Keys; i++)
        {
            through.Submit(ClientRequest.WriteOf((ulong)i + 1, Key(i), WriteOperation.PlainPut, Value(i), consistency: ConsistencyLevel.All));
        }

        harness.Pump();
        Assert.All(Enumerable.Range(1, Keys), i => Assert.Equal(ClientStatus.Ok, harness.Replies[(ulong)i].Status));
    }

    private static byte[] Key(int i) => System.Text.Encoding.UTF8.GetBytes($"k{i}");

    private static byte[] Value(int i) => System.Text.Encoding.UTF8.GetBytes($"v{i}");
}
