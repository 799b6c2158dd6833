using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using CsCheck;
using RingKV.Core.Random;
using RingKV.Core.Versioning;
using Xunit;

namespace RingKV.Core.Tests.Versioning;

/// <summary>Counters (INCR, DECR, INCRBY, DECRBY): the per-actor counter CRDT alone and inside sibling sets, across replicas and bytes.</summary>
/// <remarks>
/// Replicas follow the cluster's rule: each replica has its own counter actor, which increments only through that
/// replica (<see cref="SiblingSet.TryIncrement"/>'s Requires), and its own node actor, which mints the dots of the plain
/// writes made through it. CsCheck draws the cases and shrinks a failing one; the convergence property draws a seed for
/// our PRNG and names it (<c>RINGKV_SEED</c> replays it).
/// </remarks>
public sealed class CounterPropertyTests
{
    private const int MaxVectorEntries = 16;

    private static readonly ulong[] CounterActors = [0x0000_0000_0000_0001, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF];

    private static readonly ulong[] NodeActors = [0x10, 0x20, 0x30, 0x40];

    private static readonly WriteStamp SomeBase = new(HybridTimestamp.FromUnixMs(1_700_000_000_000), new Dot(0x10, 7));

    private static byte[] Encode(SiblingSet set)
    {
        var writer = new ArrayBufferWriter<byte>();
        set.Encode(writer);
        return writer.WrittenSpan.ToArray();
    }

    private static Int128 Sum(IEnumerable<long> deltas) => deltas.Aggregate(Int128.Zero, (sum, d) => sum + d);

    private static string Decimal(Int128 count) => count.ToString(CultureInfo.InvariantCulture);

    // ---- The counter alone ----

    /// <summary>Each actor's chain of deltas, and three states: for each, how many of each actor's increments it has seen.</summary>
    private static readonly Gen<(long BaseValue, long[][] Chains, int[][] Seen)> GenCounters =
        Gen.Select(Gen.Long[-1_000_000, 1_000_000], Gen.Long[-1_000_000, 1_000_000].Array[0, 8].Array[CounterActors.Length])
            .SelectMany(t => Gen.Select(
                    Gen.Int[0, 8].Array[CounterActors.Length],
                    Gen.Int[0, 8].Array[CounterActors.Length],
                    Gen.Int[0, 8].Array[CounterActors.Length],
                    (a, b, c) => new[] { a, b, c })
                .Select(seen => (t.Item1, t.Item2, seen.Select(s => s.Select((n, actor) => Math.Min(n, t.Item2[actor].Length)).ToArray()).ToArray())));

    /// <summary>The state of a replica that has seen the first <paramref name="seen"/>[a] increments of each actor a.</summary>
    private static CounterState Reach(long baseValue, long[][] chains, int[] seen)
    {
        var state = CounterState.Start(SomeBase, baseValue);
        for (var actor = 0; actor < chains.Length; actor++)
        {
            for (var i = 0; i < seen[actor]; i++)
            {
                Assert.True(state.TryIncrement(CounterActors[actor], chains[actor][i], out state));
            }
        }

        return state;
    }

    private static Int128 Expected(long baseValue, long[][] chains, int[] seen)
    {
        Int128 total = baseValue;
        for (var actor = 0; actor < chains.Length; actor++)
        {
            for (var i = 0; i < seen[actor]; i++)
            {
                total += chains[actor][i];
            }
        }

        return total;
    }

    [Fact]
    public void CounterMerge_ReachableStates_IsCommutativeAssociativeIdempotentAndCountsEachIncrementOnce() =>
        GenCounters.Sample(t =>
        {
            var (a, b, c) = (Reach(t.BaseValue, t.Chains, t.Seen[0]), Reach(t.BaseValue, t.Chains, t.Seen[1]), Reach(t.BaseValue, t.Chains, t.Seen[2]));
            var ab = a.Merge(b);
            Assert.Equal(ab, b.Merge(a));
            Assert.Equal(ab.Merge(c), a.Merge(b.Merge(c)));
            Assert.Equal(a, a.Merge(a));
            Assert.Equal(ab, ab.Merge(a));
            Assert.Equal(ab, ab.Merge(b));

            // The join has seen, of each actor, the longer prefix: each increment counted once.
            var joined = t.Seen[0].Zip(t.Seen[1], Math.Max).ToArray();
            Assert.Equal(Expected(t.BaseValue, t.Chains, joined), ab.Total);
            Assert.Equal(Reach(t.BaseValue, t.Chains, joined), ab);
        });

    /// <summary>Arbitrary entries, same versions with different sums included (what only a faulty actor makes): the join stays a join.</summary>
    private static readonly Gen<CounterState> GenAnyCounter =
        Gen.Select(Gen.Int[0, 3], Gen.ULong[1, 4], Gen.Long[-5, 5]).Array[0, 6].Select(picks =>
        {
            var entries = picks.GroupBy(p => p.Item1).Select(g => new CounterEntry(CounterActors[g.Key], g.First().Item2, g.First().Item3))
                .OrderBy(e => e.Actor).ToArray();
            Assert.True(CounterState.TryCreate(SomeBase, 3, entries, out var counter, out var error), error);
            return counter;
        });

    [Fact]
    public void CounterMerge_ArbitraryEntries_IsCommutativeAssociativeAndIdempotent() =>
        Gen.Select(GenAnyCounter, GenAnyCounter, GenAnyCounter).Sample(t =>
        {
            var (a, b, c) = t;
            Assert.Equal(a.Merge(b), b.Merge(a));
            Assert.Equal(a.Merge(b).Merge(c), a.Merge(b.Merge(c)));
            Assert.Equal(a, a.Merge(a));
            Assert.Equal(a.Merge(b), a.Merge(b).Merge(b));
        });

    // ---- Counters inside sibling sets: random histories ----

    private enum Kind
    {
        Increment,
        Sync,
        SetInteger,
        SetText,
        Delete,
        KvPut,
        IncrementExpired,
    }

    /// <summary>Kind by <see cref="Replica"/> (Sync: replica takes in <see cref="Other"/>'s set).</summary>
    private readonly record struct Op(Kind Kind, int Replica, int Other, long Delta, long TimeStepMs);

    // Increments and syncs dominate, so counters grow across replicas between the plain writes that reset them.
    private static readonly Gen<Kind> GenKind = Gen.Int[0, 39].Select(i => i switch
    {
        < 18 => Kind.Increment,
        < 32 => Kind.Sync,
        < 35 => Kind.SetInteger,
        35 => Kind.SetText,
        36 => Kind.Delete,
        37 => Kind.KvPut,
        _ => Kind.IncrementExpired,
    });

    private static readonly Gen<Op> GenOp =
        Gen.Select(GenKind, Gen.Int[0, 2], Gen.Int[0, 2], Gen.Long[-1000, 1000], Gen.Long[-20, 100], (k, r, o, d, t) => new Op(k, r, o, d, t));

    /// <summary>Runs the ops on three replicas; every set any replica held, in order.</summary>
    private static List<SiblingSet> Run(Op[] ops)
    {
        var replicas = new[] { SiblingSet.Empty, SiblingSet.Empty, SiblingSet.Empty };
        var states = new List<SiblingSet> { SiblingSet.Empty };
        long now = 1_700_000_000_000;
        for (var i = 0; i < ops.Length; i++)
        {
            var op = ops[i];
            now += op.TimeStepMs;
            var time = HybridTimestamp.FromUnixMs(now);
            var set = replicas[op.Replica];
            var actor = NodeActors[op.Replica];
            switch (op.Kind)
            {
                case Kind.Increment or Kind.IncrementExpired:
                    if (set.TryIncrement(CounterActors[op.Replica], op.Delta, op.Kind == Kind.IncrementExpired, out var next, out _))
                    {
                        set = next;
                    }

                    break;
                case Kind.Sync:
                    set = set.Merge(replicas[op.Other]);
                    break;
                case Kind.SetInteger:
                    set = set.PutLww(System.Text.Encoding.ASCII.GetBytes(op.Delta.ToString(CultureInfo.InvariantCulture)), actor, time, MaxVectorEntries);
                    break;
                case Kind.SetText:
                    set = set.PutLww("text"u8.ToArray(), actor, time, MaxVectorEntries);
                    break;
                case Kind.Delete:
                    set = set.DeleteLww(actor, time, MaxVectorEntries);
                    break;
                default:
                    // A KV.PUT that saw the set (a detached floor, the counter kept) or saw nothing (a sibling beside it).
                    set = set.Put((op.Delta & 1) == 0 ? set.Context : VersionVector.Empty, BitConverter.GetBytes(i), actor, time, MaxVectorEntries);
                    break;
            }

            replicas[op.Replica] = set;
            states.Add(set);
        }

        return states;
    }

    private static readonly Gen<(List<SiblingSet> States, int A, int B, int C)> GenStates =
        GenOp.Array[0, 60].Select(Run)
            .SelectMany(s => Gen.Select(Gen.Int[0, s.Count - 1], Gen.Int[0, s.Count - 1], Gen.Int[0, s.Count - 1], (a, b, c) => (s, a, b, c)));

    [Fact]
    public void SiblingSetMerge_StatesWithCounters_IsCommutativeAssociativeAndIdempotent() =>
        GenStates.Sample(t =>
        {
            var (a, b, c) = (t.States[t.A], t.States[t.B], t.States[t.C]);
            var ab = a.Merge(b);
            var ba = b.Merge(a);
            Assert.Equal(ab, ba);
            Assert.Equal(Encode(ab), Encode(ba));
            Assert.Equal(ab.Merge(c), a.Merge(b.Merge(c)));
            Assert.Equal(a, a.Merge(a));
            Assert.Equal(ab, ab.Merge(a));
            Assert.Equal(ab, ab.Merge(b));

            // The count is rendered into the last-writer-wins sibling at its base, whichever way round.
            if (ab.Counter is { } counter)
            {
                Assert.Equal(ab.LwwFloor, counter.Base);
                foreach (var sibling in ab)
                {
                    if (sibling.IsLww)
                    {
                        Assert.Equal(Decimal(counter.Total), System.Text.Encoding.ASCII.GetString(sibling.Value.Span));
                    }
                }
            }
        }, iter: 300);

    [Fact]
    public void SiblingSetMerge_HistoriesReachCounters()
    {
        // Guards the generator: most histories must hold counters of several actors, or the properties above check little.
        var withCounters = 0;
        GenOp.Array[40].Sample(ops => withCounters += Run(ops).Any(s => s.Counter is { Entries.Length: > 1 }) ? 1 : 0, iter: 100, threads: 1);
        Console.WriteLine($"{withCounters} of 100 histories reached a counter of several actors");
        Assert.True(withCounters > 50, $"{withCounters} of 100 histories reached a counter of several actors");
    }

    // ---- Bytes: format 3 round trip and the fast path ----

    [Fact]
    public void Codec_StatesWithCounters_RoundTripExactlyAndTheFastPathReadsTheRenderedCount() =>
        GenOp.Array[0, 60].Select(Run).Sample(states =>
        {
            foreach (var set in states)
            {
                var bytes = Encode(set);
                Assert.Equal(set.Counter is null ? SiblingSetCodec.FormatVersion : SiblingSetCodec.CounterFormatVersion, bytes[0]);
                Assert.True(SiblingSet.TryDecode(bytes, out var decoded, out var error), error);
                Assert.Equal(set, decoded);
                Assert.Equal(set.Counter, decoded.Counter);
                Assert.Equal(bytes, Encode(decoded));

                // The fast path reads what the full decode renders: the winner's value, the count's digits when it is the counted sibling.
                Assert.True(SiblingSetFastPath.TryGetWinner(bytes, out var value, out var live));
                Assert.Equal(decoded.TryGetWinnerValue(out var expected), live);
                Assert.Equal(expected.ToArray(), value.ToArray());
                if (decoded.Counter is { } counter && decoded.Winner is { IsLww: true } winner && winner.Stamp == counter.Base)
                {
                    Assert.True(live);
                    Assert.Equal(Decimal(counter.Total), System.Text.Encoding.ASCII.GetString(value));
                }

                Assert.True(SiblingSetFastPath.TryReadStamps(bytes, out var latest, out _));
                Assert.Equal(decoded.MaxTimestamp, latest);

                // A blind put cannot carry (or knowingly drop) a counter: the object path takes it.
                if (set.Counter is not null)
                {
                    Assert.False(SiblingSetFastPath.TryEncodeBlindPutLww(bytes, "1"u8, NodeActors[0], HybridTimestamp.FromUnixMs(2_000_000_000_000), MaxVectorEntries, new ArrayBufferWriter<byte>()));
                }
            }
        }, iter: 200);

    [Fact]
    public void Codec_IncrementOfAKeyNeverWritten_EncodesAsTheSpecSays()
    {
        // docs/formats/sibling-set.md, version 3: INCRBY k 5 by actor 1 on a key never written.
        Assert.True(SiblingSet.Empty.TryIncrement(1, 5, expired: false, out var set, out var error), error);
        Assert.Equal(
            "03" + "0100" + "0000000000000000" + "0100" + "00" + "01" + "000102010135"
            + "00" + "0000000000000000" + "01" + "00" + "01" + "0100000000000000" + "01" + "0A",
            Convert.ToHexString(Encode(set)));
    }

    [Fact]
    public void Codec_CounterTrailerCutShort_IsRefusedByDecodeAndFastPath()
    {
        var set = SiblingSet.Empty;
        Assert.True(set.TryIncrement(CounterActors[0], 5, expired: false, out set, out _));
        Assert.True(set.TryIncrement(CounterActors[1], -2, expired: false, out set, out _));
        var bytes = Encode(set);
        Assert.Equal(SiblingSetCodec.CounterFormatVersion, bytes[0]);
        Assert.True(SiblingSetFastPath.TryGetWinner(bytes, out var value, out _));
        Assert.Equal("3"u8.ToArray(), value.ToArray());

        // Every cut of the trailer, all of it included (the siblings end before it), leaves bytes neither reader accepts.
        var siblingsEnd = bytes.Length - CounterTrailerLength(set.Counter!);
        for (var cut = siblingsEnd; cut < bytes.Length; cut++)
        {
            Assert.False(SiblingSet.TryDecode(bytes.AsSpan(0, cut), out _, out _));
            Assert.False(SiblingSetFastPath.TryGetWinner(bytes.AsSpan(0, cut), out _, out _));
        }
    }

    private static int CounterTrailerLength(CounterState counter)
    {
        // Base: zigzag timestamp, 8 actor bytes, counter, zigzag value; then the entry count and each entry.
        var length = VarintLength(ZigZag(counter.Base.Timestamp.Value)) + 8 + VarintLength(counter.Base.Dot.Counter)
            + VarintLength(ZigZag(counter.BaseValue)) + VarintLength((ulong)counter.Entries.Length);
        foreach (var entry in counter.Entries)
        {
            length += 8 + VarintLength(entry.Version) + VarintLength(ZigZag(entry.Sum));
        }

        return length;
    }

    private static int VarintLength(ulong value)
    {
        var length = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            length++;
        }

        return length;
    }

    private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    // ---- Replicas converge: increments through several replicas, states exchanged in any order ----

    private static void ForSeeds(string test, int iterations, Action<long> check)
    {
        var replay = Environment.GetEnvironmentVariable("RINGKV_SEED");
        if (replay is not null)
        {
            check(long.Parse(replay, CultureInfo.InvariantCulture));
            return;
        }

        Gen.Long.Sample(seed =>
        {
            try
            {
                check(seed);
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"{test} failed; replay with RINGKV_SEED={seed}: {e.Message}", e);
            }
        }, iter: iterations);
    }

    [Fact]
    public void Replicas_RandomIncrementsAndExchanges_ConvergeOnBasePlusEveryDeltaOnce() =>
        ForSeeds(nameof(Replicas_RandomIncrementsAndExchanges_ConvergeOnBasePlusEveryDeltaOnce), 300, seed =>
        {
            var random = new SplitMix64(seed);
            var replicaCount = random.Next(2, 5);
            var replicas = new SiblingSet[replicaCount];

            // The base every replica has before the increments: a key never written, a plain SET of an integer, or a DEL.
            var start = SiblingSet.Empty;
            long baseValue = 0;
            var time = HybridTimestamp.FromUnixMs(1_700_000_000_000);
            switch (random.Next(3))
            {
                case 1:
                    baseValue = random.Next(-1_000_000, 1_000_000);
                    start = start.PutLww(System.Text.Encoding.ASCII.GetBytes(baseValue.ToString(CultureInfo.InvariantCulture)), NodeActors[0], time, MaxVectorEntries);
                    break;
                case 2:
                    start = start.PutLww("5"u8.ToArray(), NodeActors[0], time, MaxVectorEntries).DeleteLww(NodeActors[0], time.Successor(), MaxVectorEntries);
                    break;
            }

            Array.Fill(replicas, start);

            // seen[r][a]: how many of actor a's increments replica r's state includes; chains[a]: actor a's deltas.
            var seen = new int[replicaCount][];
            for (var r = 0; r < replicaCount; r++)
            {
                seen[r] = new int[replicaCount];
            }

            var chains = new List<long>[replicaCount];
            for (var a = 0; a < replicaCount; a++)
            {
                chains[a] = [];
            }

            // In flight: (to, state, what it includes); delivered in any order, some more than once, none lost at the end.
            var network = new List<(int To, SiblingSet State, int[] Seen)>();
            var steps = random.Next(0, 120);
            for (var step = 0; step < steps; step++)
            {
                var r = random.Next(replicaCount);
                switch (random.Next(10))
                {
                    case < 4:
                        var delta = random.Chance(10) ? random.Next(-1_000_000_000, 1_000_000_000) : random.Next(-20, 21);
                        Assert.True(replicas[r].TryIncrement(CounterActors[r], delta, expired: false, out var next, out var error), error);
                        replicas[r] = next;
                        chains[r].Add(delta);
                        seen[r][r]++;
                        Assert.Equal(chains[r].Count, seen[r][r]);
                        break;
                    case < 7:
                        // Send r's state to another replica (or to every other, as a write's replication does).
                        for (var to = 0; to < replicaCount; to++)
                        {
                            if (to != r && (random.Chance(50) || to == (r + 1) % replicaCount))
                            {
                                network.Add((to, replicas[r], (int[])seen[r].Clone()));
                            }
                        }

                        break;
                    default:
                        if (network.Count > 0)
                        {
                            Deliver(random.Next(network.Count), keep: random.Chance(30));
                        }

                        break;
                }

                CheckCount(r);
            }

            while (network.Count > 0)
            {
                Deliver(random.Next(network.Count), keep: random.Chance(20));
            }

            // Anti-entropy: every replica's final state to every other, merged in a random order.
            var finals = (SiblingSet[])replicas.Clone();
            var finalSeen = seen.Select(s => (int[])s.Clone()).ToArray();
            for (var to = 0; to < replicaCount; to++)
            {
                foreach (var from in Enumerable.Range(0, replicaCount).OrderBy(_ => random.NextUInt64()))
                {
                    network.Add((to, finals[from], finalSeen[from]));
                    Deliver(network.Count - 1, keep: false);
                }
            }

            var expected = (Int128)baseValue + chains.Aggregate(Int128.Zero, (sum, c) => sum + Sum(c));
            var bytes = Encode(replicas[0]);
            for (var r = 0; r < replicaCount; r++)
            {
                Assert.Equal(replicas[0], replicas[r]);
                Assert.Equal(bytes, Encode(replicas[r]));
                if (chains.All(c => c.Count == 0))
                {
                    Assert.Null(replicas[r].Counter);
                    continue;
                }

                var counter = replicas[r].Counter!;
                Assert.Equal(expected, counter.Total);
                for (var a = 0; a < replicaCount; a++)
                {
                    // Each actor's entry: one version per increment, the sum of its deltas.
                    var entry = counter.Entries.ToArray().SingleOrDefault(e => e.Actor == CounterActors[a]);
                    Assert.Equal((ulong)chains[a].Count, entry.Version);
                    Assert.Equal(chains[a].Sum(), entry.Sum);
                }

                Assert.True(replicas[r].TryGetWinnerValue(out var value));
                Assert.Equal(Decimal(expected), System.Text.Encoding.ASCII.GetString(value.Span));
            }

            void Deliver(int index, bool keep)
            {
                var (to, state, included) = network[index];
                if (!keep)
                {
                    network.RemoveAt(index);
                }

                replicas[to] = random.Chance(50) ? replicas[to].Merge(state) : state.Merge(replicas[to]);
                for (var a = 0; a < replicaCount; a++)
                {
                    seen[to][a] = Math.Max(seen[to][a], included[a]);
                }

                CheckCount(to);
            }

            // At every moment a replica's count is the base plus exactly the increments its state includes.
            void CheckCount(int r)
            {
                if (replicas[r].Counter is not { } counter)
                {
                    Assert.True(seen[r].All(n => n == 0), $"replica {r} lost its counter: {replicas[r]}");
                    return;
                }

                var total = (Int128)baseValue;
                for (var a = 0; a < replicaCount; a++)
                {
                    total += Sum(chains[a].Take(seen[r][a]));
                }

                Assert.True(total == counter.Total, $"replica {r} counts {counter.Total}, its increments add up to {total}: {counter}");
            }
        });

    // ---- Expiry: an INCR after the key's TTL passed counts from 0 ----

    [Fact]
    public void TryIncrementExpired_AfterIncrementsItSaw_CountsTheDeltaAndNothingItSawComesBack() =>
        Gen.Select(Gen.Int[0, 2], Gen.Select(Gen.Int[0, 2], Gen.Long[-50, 50], Gen.Bool).Array[0, 20], Gen.Long[-50, 50]).Sample(t =>
        {
            var (baseKind, steps, delta) = t;
            var time = HybridTimestamp.FromUnixMs(1_700_000_000_000);
            var start = baseKind switch
            {
                0 => SiblingSet.Empty,
                1 => SiblingSet.Empty.PutLww("40"u8.ToArray(), NodeActors[0], time, MaxVectorEntries),
                _ => SiblingSet.Empty.PutLww("40"u8.ToArray(), NodeActors[0], time, MaxVectorEntries).DeleteLww(NodeActors[0], time.Successor(), MaxVectorEntries),
            };

            // Three replicas increment (each through its own actor) and replica 0 takes in the others' states now and then.
            var replicas = new[] { start, start, start };
            var history = new List<SiblingSet>();
            foreach (var (replica, d, sync) in steps)
            {
                if (sync)
                {
                    replicas[0] = replicas[0].Merge(replicas[replica]);
                }
                else
                {
                    Assert.True(replicas[replica].TryIncrement(CounterActors[replica], d, expired: false, out var next, out var error), error);
                    replicas[replica] = next;
                }

                history.Add(replicas[replica]);
            }

            // The key's TTL passes; replica 0 increments: the key counts as absent.
            var before = replicas[0];
            Assert.True(before.TryIncrement(CounterActors[0], delta, expired: true, out var after, out var refused), refused);
            Assert.Equal(delta, after.Counter!.Total);

            // What replica 0 had seen before the expiry does not come back, in whatever states it arrives.
            foreach (var earlier in history)
            {
                if (before.Merge(earlier).Equals(before))
                {
                    Assert.Equal(delta, after.Merge(earlier).Counter!.Total);
                    Assert.Equal(delta, earlier.Merge(after).Counter!.Total);
                }
            }
        }, iter: 500);

    // ---- Overflow: refused with Redis's error, never wrapped ----

    private static readonly Gen<long> GenEdgeLong = Gen.OneOf(
        Gen.Long,
        Gen.Long[-3, 3],
        Gen.Long[long.MaxValue - 3, long.MaxValue],
        Gen.Long[long.MinValue, long.MinValue + 3],
        Gen.Long[long.MaxValue / 2 - 2, long.MaxValue / 2 + 2]);

    [Fact]
    public void TryIncrement_AnyBaseAndDeltas_RefusesOverflowWithRedisErrorAndNeverWraps() =>
        Gen.Select(GenEdgeLong, Gen.Select(Gen.Int[0, 2], GenEdgeLong).Array[1, 12]).Sample(t =>
        {
            var (baseValue, increments) = t;
            var set = SiblingSet.Empty.PutLww(System.Text.Encoding.ASCII.GetBytes(baseValue.ToString(CultureInfo.InvariantCulture)), NodeActors[0], HybridTimestamp.FromUnixMs(1000), MaxVectorEntries);
            Int128 total = baseValue;
            var sums = new Int128[3];
            foreach (var (actor, delta) in increments)
            {
                var fits = total + delta is var n && n >= long.MinValue && n <= long.MaxValue
                    && sums[actor] + delta is var s && s >= long.MinValue && s <= long.MaxValue;
                var ok = set.TryIncrement(CounterActors[actor], delta, expired: false, out var next, out var error);
                Assert.Equal(fits, ok);
                if (!ok)
                {
                    Assert.Equal("ERR increment or decrement would overflow", error);
                    Assert.Null(next);
                    continue;
                }

                set = next!;
                total += delta;
                sums[actor] += delta;
                Assert.Equal(total, set.Counter!.Total);
                Assert.True(set.TryGetWinnerValue(out var value));
                Assert.Equal(Decimal(total), System.Text.Encoding.ASCII.GetString(value.Span));
            }
        }, iter: 2000);

    [Theory]
    [InlineData("9223372036854775807", 1)]
    [InlineData("-9223372036854775808", -1)]
    [InlineData("1", long.MaxValue)]
    public void TryIncrement_PastTheRange_RefusesWithRedisError(string value, long delta)
    {
        var set = SiblingSet.Empty.PutLww(System.Text.Encoding.ASCII.GetBytes(value), NodeActors[0], HybridTimestamp.FromUnixMs(1000), MaxVectorEntries);
        Assert.False(set.TryIncrement(CounterActors[0], delta, expired: false, out _, out var error));
        Assert.Equal("ERR increment or decrement would overflow", error);
    }

    [Theory]
    [InlineData("9223372036854775808")]
    [InlineData("12a")]
    [InlineData("")]
    public void TryIncrement_NotAnInteger_RefusesWithRedisError(string value)
    {
        var set = SiblingSet.Empty.PutLww(System.Text.Encoding.ASCII.GetBytes(value), NodeActors[0], HybridTimestamp.FromUnixMs(1000), MaxVectorEntries);
        Assert.False(set.TryIncrement(CounterActors[0], 1, expired: false, out _, out var error));
        Assert.Equal("ERR value is not an integer or out of range", error);
    }
}
