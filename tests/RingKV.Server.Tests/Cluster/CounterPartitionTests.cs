using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Threading.Tasks;
using StackExchange.Redis;
using Xunit;

namespace RingKV.Server.Tests.Cluster;

/// <summary>
/// Issue 14's proof with real processes: concurrent INCRBYs through all three coordinators, before, during and after a
/// partition that cuts node2 off from node0 and node1, all count exactly once once the replicas converge.
/// </summary>
/// <remarks>
/// The clients write at ONE (each coordinator's own replica acknowledges, so every increment of the minority side is
/// acknowledged too, and each one's fate is known: no ambiguous TIMEOUTs to account for) and the check reads at ALL,
/// whose read repair merges every replica's counter. A read at ONE through each node afterwards then answers the same.
/// </remarks>
[Collection("cluster processes")]
public sealed class CounterPartitionTests : IAsyncDisposable
{
    private const int A = 0, B = 1, C = 2;
    private static readonly string[] Keys = ["pctr:0", "pctr:1", "pctr:2"];

    private CutCluster? _cluster;

    [Fact]
    [Trait("Category", "System")]
    public async Task ConcurrentIncrements_ThroughThreeCoordinators_AcrossAPartition_CountExactlyOnce()
    {
        _cluster = new CutCluster(3);
        var connections = _cluster.Nodes.Select(n => n.Connect()).ToArray();
        try
        {
            var dbs = connections.Select(c => c.GetDatabase()).ToArray();
            foreach (var db in dbs)
            {
                Assert.Equal("OK", (string?)await db.ExecuteAsync("KV.CONSISTENCY", "READ", "ONE", "WRITE", "ONE"));
            }

            // One connection per node for the clients, so the KV.CONSISTENCY above holds for them (a multiplexer pipelines on one link).
            var acked = new ConcurrentDictionary<string, long>();
            var failures = new ConcurrentQueue<string>();
            async Task Phase(string name, int perClient)
            {
                var clients = Enumerable.Range(0, 6).Select(client => Task.Run(async () =>
                {
                    var db = dbs[client % dbs.Length];
                    for (var i = 0; i < perClient; i++)
                    {
                        var key = Keys[(client + i) % Keys.Length];
                        var delta = ((client + i) % 5) + 1;
                        try
                        {
                            await db.ExecuteAsync("INCRBY", key, delta);
                            acked.AddOrUpdate(key, delta, (_, sum) => sum + delta);
                        }
                        catch (RedisException e)
                        {
                            failures.Enqueue($"{name}: INCRBY {key} through node{client % dbs.Length}: {e.Message}");
                        }
                    }
                }));
                await Task.WhenAll(clients);
            }

            await Phase("before", 40);
            _cluster.Cut(A, C);
            _cluster.Cut(B, C);
            await Phase("partitioned", 40);
            _cluster.Heal(A, C);
            _cluster.Heal(B, C);
            await Phase("healed", 20);
            Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(5)));

            // Reads at ALL wait for node2 to be reachable again (its links come back within a few gossip rounds).
            foreach (var db in dbs)
            {
                Assert.Equal("OK", (string?)await db.ExecuteAsync("KV.CONSISTENCY", "READ", "ALL", "WRITE", "ONE"));
            }

            foreach (var key in Keys)
            {
                string? value = null;
                LocalCluster.WaitUntil(
                    () =>
                    {
                        try
                        {
                            value = dbs[A].StringGet(key);
                            return true;
                        }
                        catch (RedisServerException)
                        {
                            return false; // UNAVAILABLE or TIMEOUT while node2 is still DOWN for node0
                        }
                    },
                    TimeSpan.FromSeconds(60),
                    $"a read of {key} at ALL through node0");
                Assert.Equal(acked[key], long.Parse(value!, System.Globalization.CultureInfo.InvariantCulture));
            }

            // Read repair at ALL wrote the merged count back: every node's own replica now answers it at ONE.
            foreach (var db in dbs)
            {
                Assert.Equal("OK", (string?)await db.ExecuteAsync("KV.CONSISTENCY", "READ", "ONE", "WRITE", "ONE"));
            }

            for (var node = 0; node < dbs.Length; node++)
            {
                foreach (var key in Keys)
                {
                    var expected = acked[key];
                    var db = dbs[node];
                    LocalCluster.WaitUntil(() => (long)db.StringGet(key) == expected, TimeSpan.FromSeconds(20), $"{key} at ONE through node{node} is {expected}");
                }
            }
        }
        finally
        {
            foreach (var c in connections)
            {
                c.Dispose();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
