using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Core.Random;
using StackExchange.Redis;

namespace RingKV.System.Tests.Chaos;

/// <summary>
/// Clients writing fresh keys with unique values (write-once) and reading keys written earlier, through every node,
/// recording each operation in a <see cref="History"/>.
/// </summary>
/// <remarks>
/// Write-once because writes of one key through different coordinators are ordered by hybrid-logical stamps, which can
/// order two writes within one millisecond against real time; with overwrites a correct store would look like it lost
/// a write. A read picks a key whose write was acknowledged (mostly) or only sent, so reads race writes in flight too.
/// Each client holds one connection per node and sends one operation (or a pipelined round of them) at a time to a
/// random connected node; a client
/// timeout above the server's request deadline (2 s) lets a TIMEOUT reply arrive as a reply. Bounded: clients x nodes
/// connections, one operation in flight per client, a pause between operations. Thread-safe to start once.
/// </remarks>
public sealed class Workload : IAsyncDisposable
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan Backoff = TimeSpan.FromMilliseconds(100);

    private readonly IReadOnlyList<IPEndPoint> _nodes;
    private readonly History _history;
    private readonly Stopwatch _clock;
    private readonly long _seed;
    private readonly string _prefix;
    private readonly int _pipeline;
    private readonly List<ConnectionMultiplexer[]> _connections = [];
    private readonly Lock _lock = new();

    // Guarded by _lock: keys whose write was sent, and those acknowledged.
    private readonly List<string> _sent = [];
    private readonly List<string> _acked = [];

    /// <summary>A workload over <paramref name="nodes"/>; each client sends <paramref name="pipeline"/> operations at a time on one connection.</summary>
    public Workload(IReadOnlyList<IPEndPoint> nodes, long seed, History history, Stopwatch clock, int pipeline = 1)
    {
        _pipeline = Math.Max(1, pipeline);
        _nodes = nodes;
        _seed = seed;
        _history = history;
        _clock = clock;
        _prefix = $"chaos:{seed.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>Opens <paramref name="clients"/> connections to every node.</summary>
    public async Task ConnectAsync(int clients)
    {
        for (var c = 0; c < clients; c++)
        {
            var connections = new ConnectionMultiplexer[_nodes.Count];
            for (var n = 0; n < _nodes.Count; n++)
            {
                connections[n] = await ConnectionMultiplexer.ConnectAsync(Options(_nodes[n])).ConfigureAwait(false);
            }

            _connections.Add(connections);
        }
    }

    /// <summary>Runs every client until <paramref name="stop"/> is cancelled; each finishes its operation in flight first.</summary>
    public Task RunAsync(CancellationToken stop) =>
        Task.WhenAll(_connections.Select((connections, c) => Task.Run(() => ClientAsync(c, connections, stop), CancellationToken.None)));

    /// <summary>Client settings for one node: short timeouts, no queueing of commands while disconnected.</summary>
    public static ConfigurationOptions Options(IPEndPoint node) => new()
    {
        EndPoints = { node },
        AbortOnConnectFail = false,
        ConnectTimeout = 2000,
        AsyncTimeout = 3000,
        SyncTimeout = 3000,
        ConnectRetry = 1,
        ReconnectRetryPolicy = new LinearRetry(250),
        BacklogPolicy = BacklogPolicy.FailFast, // a command sent while disconnected fails now instead of leaving later
    };

    public ValueTask DisposeAsync()
    {
        foreach (var connections in _connections)
        {
            foreach (var connection in connections)
            {
                connection.Dispose();
            }
        }

        return ValueTask.CompletedTask;
    }

    private async Task ClientAsync(int client, ConnectionMultiplexer[] connections, CancellationToken stop)
    {
        var random = new SplitMix64(_seed + ((client + 1L) * 1_000_003L)); // one stream per client, fixed by the seed
        var written = 0;
        var round = new Task<Operation>[_pipeline];
        while (!stop.IsCancellationRequested)
        {
            var node = PickNode(random, connections);
            if (node < 0)
            {
                await Delay(Backoff, stop).ConfigureAwait(false);
                continue;
            }

            // A round: _pipeline operations sent at once on one connection (pipelined when more than one).
            var db = connections[node].GetDatabase();
            for (var i = 0; i < round.Length; i++)
            {
                var key = random.Chance(50) ? null : PickKey(random);
                if (key is null)
                {
                    key = $"{_prefix}:{client}:{written}";
                    var value = $"v{client}.{written}.{random.NextUInt64():x16}";
                    written++;
                    lock (_lock)
                    {
                        _sent.Add(key);
                    }

                    round[i] = WriteAsync(db, client, node, key, value);
                }
                else
                {
                    round[i] = ReadAsync(db, client, node, key);
                }
            }

            var allOk = true;
            foreach (var done in await Task.WhenAll(round).ConfigureAwait(false))
            {
                if (done.Kind == OperationKind.Write && done.Outcome == Outcome.Ok)
                {
                    lock (_lock)
                    {
                        _acked.Add(done.Key);
                    }
                }

                allOk &= done.Outcome == Outcome.Ok;
                _history.Add(done);
            }

            await Delay(allOk ? Pause : Backoff, stop).ConfigureAwait(false);
        }
    }

    private async Task<Operation> WriteAsync(IDatabase db, int client, int node, string key, string value)
    {
        var invoked = _clock.Elapsed;
        try
        {
            var ok = await db.StringSetAsync(key, value).ConfigureAwait(false);
            return new Operation(client, node, OperationKind.Write, key, value, invoked, _clock.Elapsed, ok ? Outcome.Ok : Outcome.Fail, ok ? null : "SET answered false");
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return new Operation(client, node, OperationKind.Write, key, value, invoked, _clock.Elapsed, Classify(e), Describe(e));
        }
    }

    private async Task<Operation> ReadAsync(IDatabase db, int client, int node, string key)
    {
        var invoked = _clock.Elapsed;
        try
        {
            var value = (string?)await db.StringGetAsync(key).ConfigureAwait(false);
            return new Operation(client, node, OperationKind.Read, key, value, invoked, _clock.Elapsed, Outcome.Ok);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return new Operation(client, node, OperationKind.Read, key, null, invoked, _clock.Elapsed, Classify(e), Describe(e));
        }
    }

    /// <summary>
    /// A definite error reply is a failure; a TIMEOUT reply (the coordinator's deadline passed with too few replies), a
    /// client timeout or a lost connection leave the outcome unknown.
    /// </summary>
    /// <remarks>NOTE: StackExchange.Redis shows some error replies with "ERR " in front ("ERR TIMEOUT QUORUM acked 1 of 2").</remarks>
    public static Outcome Classify(Exception e) => e switch
    {
        RedisServerException s when s.Message.StartsWith("TIMEOUT", StringComparison.Ordinal) || s.Message.StartsWith("ERR TIMEOUT", StringComparison.Ordinal) => Outcome.Unknown,
        RedisServerException => Outcome.Fail,
        _ => Outcome.Unknown,
    };

    private static string Describe(Exception e) => $"{e.GetType().Name}: {e.Message.Split('\n')[0]}";

    private static int PickNode(SplitMix64 random, ConnectionMultiplexer[] connections)
    {
        var start = random.Next(connections.Length);
        for (var i = 0; i < connections.Length; i++)
        {
            var node = (start + i) % connections.Length;
            if (connections[node].IsConnected)
            {
                return node;
            }
        }

        return -1;
    }

    /// <summary>A key written earlier: two in three times one acknowledged, else one only sent; null when none yet.</summary>
    private string? PickKey(SplitMix64 random)
    {
        lock (_lock)
        {
            var from = _acked.Count > 0 && random.Next(3) < 2 ? _acked : _sent;
            if (from.Count == 0)
            {
                return null;
            }

            // Half the reads among the latest 50 keys, where writes are still settling.
            var recent = Math.Min(from.Count, 50);
            return random.Chance(50) ? from[from.Count - 1 - random.Next(recent)] : from[random.Next(from.Count)];
        }
    }

    private static async Task Delay(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(delay, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The run ends; the loop sees the token.
        }
    }
}
