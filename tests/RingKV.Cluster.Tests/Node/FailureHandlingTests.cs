using System;
using System.Linq;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Consistency;
using Xunit;

namespace RingKV.Cluster.Tests.Node;

/// <summary>
/// Sloppy quorum, hinted handoff and read repair in the state machines (issue 12): a DOWN replica's writes go to a
/// stand-in (or stay with the coordinator) as hints and reach the replica once it is back, at the hint rate; strict
/// quorum refuses instead; reads that find replicas disagreeing send the stale ones the merged record.
/// </summary>
public sealed class FailureHandlingTests
{
    private const int Keys = 30;

    [Fact]
    public void Write_ReplicaDown_StandInKeepsTheHint_AllSucceedsSloppyButNotStrict_HintReachesTheReplicaOnceBack()
    {
        var harness = MachineHarness.FourSpread();
        var (a, c) = (harness["a"], harness["c"]);
        StopUntilDown(harness, c);

        for (var i = 0; i < Keys; i++)
        {
            a.Submit(ClientRequest.WriteOf(100 + (ulong)i, Key(i), WriteOperation.PlainPut, Value(i), consistency: ConsistencyLevel.All));
            a.Submit(ClientRequest.WriteOf(200 + (ulong)i, Key(i), WriteOperation.PlainPut, Value(i), consistency: ConsistencyLevel.All.AsStrict()));
        }

        harness.Pump();
        for (var i = 0; i < Keys; i++)
        {
            // Every key has a replica on c's rack, c alone: ALL needs it, and only its stand-in can count for it.
            Assert.True(harness.Replies[100 + (ulong)i].Status == ClientStatus.Ok, $"sloppy ALL {i}: {harness.Replies[100 + (ulong)i].Message}");
            Assert.Equal(ClientStatus.Unavailable, harness.Replies[200 + (ulong)i].Status);
            Assert.Contains("ALL STRICT needs 3, 2 alive", harness.Replies[200 + (ulong)i].Message, StringComparison.Ordinal);
        }

        // The stand-ins (a or d, whichever is not a natural replica of the key) keep one hint per key for c; c has nothing.
        var hints = harness.Members.Sum(m => m.Store.Hints.Count(h => h.Key.Target == "c"));
        Assert.Equal(Keys, hints);
        Assert.Empty(c.Store.Records);
        Assert.Equal(Keys, harness.Members.Sum(m => m.Machine.Node.Hints.PendingByTarget.Where(p => p.Target == c.Id).Sum(p => p.Pending)));

        c.Running = true;
        harness.Run(TimeSpan.FromSeconds(20));
        Assert.True(a.Machine.Node.IsAlive(c.Id));
        for (var i = 0; i < Keys; i++)
        {
            Assert.Equal(Value(i), c.Store.Get(Text(i))!.Winner!.Value.Value.ToArray());
        }

        Assert.All(harness.Members, m => Assert.Empty(m.Store.Hints));
        Assert.All(harness.Members, m => Assert.Equal(0, m.Machine.Node.Hints.Pending));
        Assert.Equal(Keys, harness.Members.Sum(m => m.Machine.Node.Hints.Delivered));
    }

    [Fact]
    public void Handoff_HintsForARemovedNode_GoToTheKeysCurrentReplicas_AndAreDeleted()
    {
        var (harness, a, c) = FourNodesWithCDownAndHinted();
        Assert.All(Enumerable.Range(0, Keys), i => Assert.Equal(ClientStatus.Ok, harness.Replies[100 + (ulong)i].Status));
        Assert.Equal(Keys, harness.Members.Sum(m => m.Store.Hints.Count(h => h.Key.Target == "c")));

        // c is dead for good: removed, its ranges re-replicated from the survivors; the hints kept for it are not left to
        // expire but handed to each key's replicas on the new ring (a, b and d: every one of them now).
        Assert.True(a.Machine.TryRemoveNode(c.Id, harness.Now, a, out var error), error);
        harness.Run(TimeSpan.FromSeconds(60));
        Assert.All(harness.Members.Where(m => m != c), m => Assert.Equal(3, m.Machine.Node.Ring.MemberCount));

        Assert.All(harness.Members, m => Assert.Empty(m.Store.Hints));
        Assert.All(harness.Members.Where(m => m != c), m => Assert.Equal(0, m.Machine.Node.Hints.Pending));
        Assert.Equal(Keys, harness.Members.Sum(m => m.Machine.Node.Hints.Delivered));
        Assert.All(harness.Members.Where(m => m != c), m => Assert.All(Enumerable.Range(0, Keys),
            i => Assert.Equal(Value(i), m.Store.Get(Text(i))!.Winner!.Value.Value.ToArray())));
    }

    [Fact]
    public void Write_ReplicaDownWithoutStandIn_CoordinatorKeepsTheHint_NotCountedForTheLevel()
    {
        var harness = MachineHarness.ThreeSpread();
        var (a, c) = (harness["a"], harness["c"]);
        StopUntilDown(harness, c);

        for (var i = 0; i < Keys; i++)
        {
            a.Submit(ClientRequest.WriteOf(100 + (ulong)i, Key(i), WriteOperation.PlainPut, Value(i), consistency: ConsistencyLevel.Quorum));
        }

        a.Submit(ClientRequest.WriteOf(99, Key(0), WriteOperation.PlainPut, Value(0), consistency: ConsistencyLevel.All));
        harness.Pump();
        Assert.All(Enumerable.Range(0, Keys), i => Assert.Equal(ClientStatus.Ok, harness.Replies[100 + (ulong)i].Status));
        Assert.Equal(ClientStatus.Unavailable, harness.Replies[99].Status); // three nodes, N=3: no node can stand in
        Assert.Equal(Keys, a.Store.Hints.Count(h => h.Key.Target == "c"));

        c.Running = true;
        harness.Run(TimeSpan.FromSeconds(20));
        Assert.All(Enumerable.Range(0, Keys), i => Assert.Equal(Value(i), c.Store.Get(Text(i))!.Winner!.Value.Value.ToArray()));
        Assert.Empty(a.Store.Hints);
    }

    [Fact]
    public void Handoff_HintRate_PacesTheHandOver()
    {
        const int Rate = 1_000; // bytes per second
        const int Many = 600;
        var harness = MachineHarness.ThreeSpread(s => s with { HintRateBytesPerSecond = Rate });
        var (a, c) = (harness["a"], harness["c"]);
        StopUntilDown(harness, c);
        for (var i = 0; i < Many; i++)
        {
            a.Submit(ClientRequest.WriteOf(100 + (ulong)i, Key(i), WriteOperation.PlainPut, Value(i), consistency: ConsistencyLevel.Quorum));
        }

        harness.Pump();
        var bytes = a.Store.Hints.Sum(h => h.Key.Key.Length + h.Value.Record.Set.Length + 16);
        Assert.True(bytes > 20 * Rate, $"the hints ({bytes} bytes) take several seconds at {Rate} B/s");

        c.Running = true;
        harness.Run(TimeSpan.FromSeconds(12)); // c is UP again within ~1 s (gossip), then hand-over at the rate
        var delivered = a.Machine.Node.Hints.Delivered;
        var sent = harness.Delivered.Where(d => d.From == a.Id && d.To == c.Id && d.Message is ReplicaWriteRequest).ToList();
        var sentBytes = sent.Sum(d => ((ReplicaWriteRequest)d.Message).Key.Length + ((ReplicaWriteRequest)d.Message).Record.Set.Length + 16);

        // At most 12 s of the rate plus one page of overdraft; and not nothing.
        Assert.True(sentBytes <= (12 * Rate) + (64 * 80), $"{sentBytes} bytes of hints sent in 12 s at {Rate} B/s");
        Assert.True(delivered > 0 && delivered < Many, $"{delivered} of {Many} hints handed over in 12 s at {Rate} B/s");

        harness.Run(TimeSpan.FromSeconds(80));
        Assert.Equal(Many, a.Machine.Node.Hints.Delivered);
        Assert.Empty(a.Store.Hints);
    }

    [Fact]
    public void Handoff_HintOlderThanTheWindow_DroppedAndCountedNotSent()
    {
        var harness = MachineHarness.ThreeSpread(s => s with { HintWindow = TimeSpan.FromSeconds(30) });
        var (a, c) = (harness["a"], harness["c"]);
        StopUntilDown(harness, c);
        for (var i = 0; i < Keys; i++)
        {
            a.Submit(ClientRequest.WriteOf(100 + (ulong)i, Key(i), WriteOperation.PlainPut, Value(i), consistency: ConsistencyLevel.Quorum));
        }

        harness.Pump();
        Assert.Equal(Keys, a.Machine.Node.Hints.Pending);

        harness.Run(TimeSpan.FromSeconds(70)); // past the window (and a sweep) while c is still away
        Assert.Equal(Keys, a.Machine.Node.Hints.Dropped);
        Assert.Equal(0, a.Machine.Node.Hints.Pending);
        Assert.Empty(a.Store.Hints);

        c.Running = true;
        harness.Run(TimeSpan.FromSeconds(20));
        Assert.Empty(c.Store.Records); // nothing handed over: anti-entropy's job now
        Assert.Equal(0, a.Machine.Node.Hints.Delivered);
    }

    [Fact]
    public void Read_ReplicasDisagree_StaleOneRepairedInTheBackground()
    {
        var harness = MachineHarness.ThreeSpread();
        var (a, c) = (harness["a"], harness["c"]);
        a.Submit(ClientRequest.WriteOf(1, Key(0), WriteOperation.PlainPut, "old"u8.ToArray(), consistency: ConsistencyLevel.All));
        harness.Pump();

        // c misses the second write (its replica write is lost; c stays UP).
        harness.Filter = (from, to, message) => !(to == c.Id && message is ReplicaWriteRequest);
        a.Submit(ClientRequest.WriteOf(2, Key(0), WriteOperation.PlainPut, "new"u8.ToArray(), consistency: ConsistencyLevel.Quorum));
        harness.Pump();
        harness.Filter = null;
        Assert.Equal("old"u8.ToArray(), c.Store.Get(Text(0))!.Winner!.Value.Value.ToArray());

        var before = a.Machine.Node.ReadRepairs;
        a.Submit(ClientRequest.Read(3, Key(0), ConsistencyLevel.All));
        harness.Pump();
        Assert.Equal("new"u8.ToArray(), harness.Replies[3].Set!.Winner!.Value.Value.ToArray());
        Assert.Equal("new"u8.ToArray(), c.Store.Get(Text(0))!.Winner!.Value.Value.ToArray());
        Assert.Equal(before + 1, a.Machine.Node.ReadRepairs);

        // In sync now: a second read repairs nothing.
        a.Submit(ClientRequest.Read(4, Key(0), ConsistencyLevel.All));
        harness.Pump();
        Assert.Equal(before + 1, a.Machine.Node.ReadRepairs);
    }

    [Fact]
    public void Read_Repair_AnswersOnlyOnceTheStaleReplicaAcknowledged()
    {
        var harness = MachineHarness.ThreeSpread();
        var (a, c) = (harness["a"], harness["c"]);
        harness.Filter = (from, to, message) => !(to == c.Id && message is ReplicaWriteRequest);
        a.Submit(ClientRequest.WriteOf(1, Key(0), WriteOperation.PlainPut, "v"u8.ToArray(), consistency: ConsistencyLevel.Quorum));
        harness.Pump();

        // c's acknowledgement of the repair is lost: a REPAIR read cannot answer OK, a plain one does.
        harness.Filter = (from, to, message) => !(from == c.Id && message is ReplicaWriteReply);
        a.Submit(ClientRequest.Read(2, Key(0), ConsistencyLevel.All.AsRepair()));
        a.Submit(ClientRequest.Read(3, Key(0), ConsistencyLevel.All));
        harness.Pump();
        Assert.False(harness.Replies.ContainsKey(2), "the REPAIR read answered before the stale replica acknowledged");
        Assert.Equal(ClientStatus.Ok, harness.Replies[3].Status);
        harness.Run(TimeSpan.FromSeconds(3));
        Assert.Equal(ClientStatus.Timeout, harness.Replies[2].Status);
        Assert.Contains("REPAIR", harness.Replies[2].Message, StringComparison.Ordinal);

        // With the acknowledgements flowing, a REPAIR read of a stale key answers OK, and the replica holds the value.
        harness.Filter = (from, to, message) => !(to == c.Id && message is ReplicaWriteRequest);
        a.Submit(ClientRequest.WriteOf(4, Key(1), WriteOperation.PlainPut, "w"u8.ToArray(), consistency: ConsistencyLevel.Quorum));
        harness.Pump();
        harness.Filter = null;
        a.Submit(ClientRequest.Read(5, Key(1), ConsistencyLevel.All.AsRepair()));
        harness.Pump();
        Assert.Equal(ClientStatus.Ok, harness.Replies[5].Status);
        Assert.Equal("w"u8.ToArray(), c.Store.Get(Text(1))!.Winner!.Value.Value.ToArray());
    }

    [Fact]
    public void Read_Sloppy_AsksTheStandInForTheDownReplicasHint()
    {
        var (harness, a, c) = FourNodesWithCDownAndHinted();

        // A sloppy read at ALL asks the stand-in, which answers with the hint it keeps; a strict one cannot be served.
        for (var i = 0; i < Keys; i++)
        {
            a.Submit(ClientRequest.Read(200 + (ulong)i, Key(i), ConsistencyLevel.All));
            a.Submit(ClientRequest.Read(300 + (ulong)i, Key(i), ConsistencyLevel.All.AsStrict()));
        }

        harness.Pump();
        Assert.True(harness.Delivered.Any(d => d.Message is HintedReadRequest), "no read asked a stand-in over the network");
        for (var i = 0; i < Keys; i++)
        {
            Assert.Equal(Value(i), harness.Replies[200 + (ulong)i].Set!.Winner!.Value.Value.ToArray());
            Assert.Equal(ClientStatus.Unavailable, harness.Replies[300 + (ulong)i].Status);
        }
    }

    private static void StopUntilDown(MachineHarness harness, MachineHarness.Member node)
    {
        node.Running = false;
        harness.Run(TimeSpan.FromSeconds(20));
        Assert.All(harness.Members.Where(m => m != node), m => Assert.False(m.Machine.Node.IsAlive(node.Id), $"{m.Id} still counts {node.Id} UP"));
    }

    /// <summary>Four nodes, c DOWN, and through a sloppy ALL write of every key (ids 100 + i) a hint for c kept by each key's stand-in.</summary>
    private static (MachineHarness Harness, MachineHarness.Member A, MachineHarness.Member C) FourNodesWithCDownAndHinted()
    {
        var harness = MachineHarness.FourSpread();
        var (a, c) = (harness["a"], harness["c"]);
        StopUntilDown(harness, c);
        for (var i = 0; i < Keys; i++)
        {
            a.Submit(ClientRequest.WriteOf(100 + (ulong)i, Key(i), WriteOperation.PlainPut, Value(i), consistency: ConsistencyLevel.All));
        }

        harness.Pump();
        return (harness, a, c);
    }



    private static byte[] Key(int i) => System.Text.Encoding.UTF8.GetBytes(Text(i));

    private static string Text(int i) => $"key:{i}";

    private static byte[] Value(int i) => System.Text.Encoding.UTF8.GetBytes($"value-{i}");
}
