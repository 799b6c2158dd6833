using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Testing.Processes;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.Cluster;

/// <summary>
/// Membership changes with real processes (issue 13): a node joins and streams its ranges while QUORUM writes go on,
/// a joiner killed mid-stream resumes where it was, a node decommissions and exits, a dead node is removed and its
/// ranges re-replicated from the survivors, a dead node is replaced. After each, every acknowledged write reads back.
/// </summary>
[Collection("cluster processes")]
public sealed class ElasticityProcessTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    [Trait("Category", "System")]
    public async Task Join_UnderQuorumWrites_StreamsItsRanges_NoAcknowledgedWriteLost_CleanupRemovesWhatMoved()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        void Phase(string what) => TestContext.Current.TestOutputHelper?.WriteLine($"{watch.Elapsed.TotalSeconds,6:F1} s {what}");
        using var cluster = new LocalCluster(3);
        Phase("3 nodes NORMAL");
        var acked = await WriteAsync(cluster.Nodes[0], "before", 3000, valueBytes: 200);
        Phase("3000 keys written");

        // Slow enough that the stream and the writes overlap: writes made during the join reach the joiner as a pending replica.
        using var writer = new Writer(cluster.Nodes[1], "during");
        var joiner = cluster.AddNode("--stream-rate", "131072");
        LocalCluster.WaitUntil(() => joiner.IsRunning && LocalCluster.InfoField(joiner, "streaming_change") == "join node3", Deadline, "node3 streaming its ranges in");
        Phase("node3 streaming");
        LocalCluster.WaitUntil(() => cluster.Nodes.All(n => LocalCluster.UpNormal(n) == 4), Deadline, "node3 NORMAL and UP on every node");
        Phase($"node3 NORMAL everywhere, {LocalCluster.InfoField(joiner, "streaming_keys_received")} keys received");
        var during = await writer.StopAsync();
        Phase($"{during.Count} writes during the join");
        Assert.True(during.Count > 100, $"only {during.Count} writes were acknowledged during the join");
        Assert.True(writer.Failed == 0, $"{writer.Failed} QUORUM writes failed during the join: {writer.FirstError}");

        var received = long.Parse(LocalCluster.InfoField(joiner, "streaming_keys_received")!, CultureInfo.InvariantCulture);
        Assert.True(received > 0, "node3 streamed nothing in");
        Assert.Equal("100.0", LocalCluster.InfoField(joiner, "streaming_percent"));

        await AssertAllReadAsync(joiner, acked.Concat(during), "ALL");
        Phase("all read back at ALL");

        // The old owners gave ranges away: cleanup removes them, and nothing acknowledged is lost; a second cleanup removes nothing.
        long removed = 0;
        foreach (var node in cluster.Nodes.Take(3))
        {
            removed += Cleanup(node);
        }

        Assert.True(removed > 0, "cleanup removed nothing from the nodes that gave ranges to node3");
        Assert.Equal(0L, Cleanup(joiner));

        await AssertAllReadAsync(cluster.Nodes[0], acked.Concat(during), "ALL");
    }

    [Fact]
    [Trait("Category", "System")]
    public async Task Join_JoinerKilledMidStream_ResumesWhereItWas()
    {
        using var cluster = new LocalCluster(3);
        var acked = await WriteAsync(cluster.Nodes[0], "k", 6000, valueBytes: 400);
        var joiner = cluster.AddNode("--stream-rate", "262144");
        LocalCluster.WaitUntil(() => Percent(joiner) >= 30, Deadline, "node3 30 % streamed");
        Thread.Sleep(1500); // the checkpoint is saved about once a second
        var before = KeysReceived(joiner);
        joiner.Kill();
        joiner.Restart();
        LocalCluster.WaitUntil(() => cluster.Nodes.All(n => LocalCluster.UpNormal(n) == 4), Deadline, "node3 NORMAL and UP on every node after its restart");
        var after = KeysReceived(joiner);

        // What node3 holds now is what it gained; decommissioning it sends all of it back: the stream's full size.
        using (var raw = joiner.ConnectRaw())
        {
            Assert.Equal("+OK", raw.CallText("KV.DECOMMISSION"));
        }

        LocalCluster.WaitUntil(() => !joiner.IsRunning, Deadline, "node3 exits after LEFT");
        var full = cluster.Nodes.Take(3).Sum(n => KeysReceived(n));
        Assert.True(after < full - (before / 2), $"the restarted joiner streamed {after} records again of {full} (it had {before} before the kill): it started over instead of resuming");
        await AssertAllReadAsync(cluster.Nodes[1], acked, "ALL");
    }

    [Fact]
    [Trait("Category", "System")]
    public async Task Decommission_StreamsToTheNewOwners_NodeLeavesAndExits_ItsDataDirectoryIsRefusedAfter()
    {
        using var cluster = new LocalCluster(4);
        var acked = await WriteAsync(cluster.Nodes[0], "d", 2000);
        using var writer = new Writer(cluster.Nodes[0], "during");
        var leaver = cluster.Nodes[3];
        using (var raw = leaver.ConnectRaw())
        {
            Assert.Equal("+OK", raw.CallText("KV.DECOMMISSION"));
            Assert.StartsWith("-ERR node3 is LEAVING: only a NORMAL node can be decommissioned", raw.CallText("KV.DECOMMISSION"), StringComparison.Ordinal);
        }

        LocalCluster.WaitUntil(() => State(cluster.Nodes[0], "node3") == "LEFT", Deadline, "node3 LEFT on node0");
        LocalCluster.WaitUntil(() => !leaver.IsRunning, Deadline, "node3 exits after LEFT");
        var during = await writer.StopAsync();
        Assert.True(writer.Failed == 0, $"{writer.Failed} QUORUM writes failed during the decommission: {writer.FirstError}");

        // Three nodes and N=3: every node holds every key; a read at ONE through a node asks its own replica first.
        foreach (var node in cluster.Nodes.Take(3))
        {
            await AssertAllReadAsync(node, acked.Concat(during), "ONE");
        }

        // Below the replication factor: refused.
        using (var raw = cluster.Nodes[2].ConnectRaw())
        {
            Assert.Contains("fewer than its 3 replicas", raw.CallText("KV.DECOMMISSION"), StringComparison.Ordinal);
        }

        // Its data directory does not serve again (it would come back NORMAL with the tokens it gave away and no data).
        var refused = Assert.ThrowsAny<Exception>(leaver.Restart);
        Assert.Contains("was decommissioned and has left the cluster", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "System")]
    public async Task RemoveNode_DeadNode_ItsRangesReReplicatedFromTheSurvivors()
    {
        using var cluster = new LocalCluster(4);
        var acked = await WriteAsync(cluster.Nodes[0], "r", 2000);
        var dead = cluster.Nodes[3];
        using (var raw = cluster.Nodes[1].ConnectRaw())
        {
            Assert.Contains("is UP: decommission it instead", raw.CallText("KV.REMOVENODE", "node3"), StringComparison.Ordinal);
            Assert.Contains("unknown node nodeX", raw.CallText("KV.REMOVENODE", "nodeX"), StringComparison.Ordinal);
        }

        dead.Kill();
        LocalCluster.WaitUntil(() => LocalCluster.StatusOf(cluster.Nodes[1], 3) == "DOWN", Deadline, "node3 DOWN on node1");
        using (var raw = cluster.Nodes[1].ConnectRaw())
        {
            Assert.Equal("+OK", raw.CallText("KV.REMOVENODE", "node3"));
        }

        LocalCluster.WaitUntil(() => cluster.Nodes.Take(3).All(n => State(n, "node3") == "LEFT"), Deadline, "node3 LEFT on every node");
        foreach (var node in cluster.Nodes.Take(3))
        {
            await AssertAllReadAsync(node, acked, "ONE");
        }
    }

    [Fact]
    [Trait("Category", "System")]
    public async Task Replace_DeadNode_TheNewNodeTakesItsTokensAndStreamsItsRanges()
    {
        using var cluster = new LocalCluster(4);
        var acked = await WriteAsync(cluster.Nodes[0], "p", 2000);
        var tokens = LocalCluster.Ring(cluster.Nodes[0])["node2"]["tokens"];
        cluster.Nodes[2].Kill();
        LocalCluster.WaitUntil(() => LocalCluster.StatusOf(cluster.Nodes[0], 2) == "DOWN", Deadline, "node2 DOWN on node0");
        var replacement = cluster.AddNode("--replace", "node2");
        LocalCluster.WaitUntil(() => State(cluster.Nodes[0], "node2") == "LEFT" && State(cluster.Nodes[0], "node4") == "NORMAL", Deadline, "node4 NORMAL, node2 LEFT on node0");
        Assert.Equal(tokens, LocalCluster.Ring(cluster.Nodes[0])["node4"]["tokens"]);
        Assert.True(KeysReceived(replacement) > 0, "node4 streamed nothing in");
        await AssertAllReadAsync(cluster.Nodes[1], acked, "ALL");
        await AssertAllReadAsync(replacement, acked, "QUORUM");
    }

    /// <summary>KV.CLEANUP, retried while the change's grace refuses it (writes still reach the previous replicas for a few seconds).</summary>
    private static long Cleanup(ServerProcess node)
    {
        using var raw = node.ConnectRaw();
        object? reply = null;
        LocalCluster.WaitUntil(() => (reply = raw.Call("KV.CLEANUP")) is long, TimeSpan.FromSeconds(30), $"KV.CLEANUP accepted on {node.EndPoint}: {RawClient.Describe(reply)}");
        return (long)reply!;
    }

    private static string State(ServerProcess observer, string node) =>
        LocalCluster.Ring(observer).TryGetValue(node, out var fields) ? fields["state"] : "absent";

    private static double Percent(ServerProcess node) =>
        double.TryParse(LocalCluster.InfoField(node, "streaming_percent"), NumberStyles.Float, CultureInfo.InvariantCulture, out var p) && LocalCluster.InfoField(node, "streaming_change") != "none" ? p : 0;

    private static long KeysReceived(ServerProcess node) =>
        long.Parse(LocalCluster.InfoField(node, "streaming_keys_received") ?? "0", CultureInfo.InvariantCulture);

    private static async Task<List<(string Key, string Value)>> WriteAsync(ServerProcess node, string prefix, int count, int valueBytes = 32)
    {
        using var connection = node.Connect();
        var db = connection.GetDatabase();
        var pad = new string('x', valueBytes);
        var written = Enumerable.Range(0, count).Select(i => ($"{prefix}:{i}", $"{prefix}-{i}-{pad}")).ToList();
        foreach (var chunk in written.Chunk(256))
        {
            var results = await Task.WhenAll(chunk.Select(w => db.StringSetAsync(w.Item1, w.Item2)));
            Assert.All(results, Assert.True);
        }

        return written;
    }

    /// <summary>Reads every pair through <paramref name="node"/> at <paramref name="level"/> and fails listing the first missing ones.</summary>
    private static async Task AssertAllReadAsync(ServerProcess node, IEnumerable<(string Key, string Value)> pairs, string level)
    {
        using var connection = node.Connect();
        var db = connection.GetDatabase();
        var list = pairs.ToList();
        var reads = new List<RedisResult>(list.Count);
        foreach (var chunk in list.Chunk(256))
        {
            reads.AddRange(await Task.WhenAll(chunk.Select(p => db.ExecuteAsync("KV.GET", p.Key, "CONSISTENCY", level))));
        }

        var missing = new List<string>();
        for (var i = 0; i < list.Count; i++)
        {
            var values = reads[i].Resp2Type == ResultType.Array && (RedisResult[])reads[i]! is { Length: 2 } reply
                ? ((RedisResult[])reply[1]!).Select(v => (string?)v).ToList()
                : [];
            if (!values.Contains(list[i].Value))
            {
                missing.Add(list[i].Key);
            }
        }

        Assert.True(missing.Count == 0, $"{missing.Count} of {list.Count} acknowledged writes not read back at {level} through {node.EndPoint}: {string.Join(", ", missing.Take(10))}");
    }

    /// <summary>Writes unique pairs at QUORUM through one node until stopped, 8 at a time, keeping the acknowledged ones.</summary>
    private sealed class Writer : IDisposable
    {
        private readonly ConnectionMultiplexer _connection;
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentBag<(string, string)> _acked = [];
        private readonly Task _loop;
        private int _failed;

        public Writer(ServerProcess node, string prefix)
        {
            _connection = node.Connect();
            var db = _connection.GetDatabase();
            _loop = Task.Run(async () =>
            {
                for (var i = 0; !_stop.IsCancellationRequested; i += 8)
                {
                    var batch = Enumerable.Range(i, 8).Select(j => ($"{prefix}:{j}", $"{prefix}-{j}")).ToList();
                    var sets = batch.Select(b => db.StringSetAsync(b.Item1, b.Item2)).ToList();
                    for (var b = 0; b < batch.Count; b++)
                    {
                        try
                        {
                            if (await sets[b])
                            {
                                _acked.Add(batch[b]);
                            }
                        }
                        catch (RedisException e)
                        {
                            Interlocked.Increment(ref _failed);
                            FirstError ??= e.Message;
                        }
                    }

                    // Paced (about 1,500 writes a second at most): the point is writes throughout the change, not as many as
                    // the machine takes; unpaced, the 170,000 writes of a join took a minute to read back.
                    await Task.Delay(5);
                }
            });
        }

        public int Failed => _failed;

        public string? FirstError { get; private set; }

        public async Task<List<(string Key, string Value)>> StopAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            return [.. _acked];
        }

        public void Dispose()
        {
            _stop.Cancel();
            _connection.Dispose();
            _stop.Dispose();
        }
    }
}
