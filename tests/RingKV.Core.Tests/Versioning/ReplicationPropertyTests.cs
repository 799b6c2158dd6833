using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using CsCheck;
using RingKV.Core.Versioning;
using Xunit;

namespace RingKV.Core.Tests.Versioning;

/// <summary>Versions across replicas: random histories (<see cref="ReplicaHistory"/>) converge and lose nothing they must keep.</summary>
/// <remarks>
/// CsCheck draws the seeds (and shrinks a failing one); a failure names <c>RINGKV_SEED</c>, and with that variable set
/// a test replays exactly that history.
/// </remarks>
public sealed class ReplicationPropertyTests
{
    private static void ForSeeds(string test, int iterations, Action<long> check)
    {
        var replay = Environment.GetEnvironmentVariable("RINGKV_SEED");
        if (replay is not null)
        {
            var seed = long.Parse(replay, CultureInfo.InvariantCulture);
            Console.WriteLine($"{test}: RINGKV_SEED={seed}");
            Checked(test, seed, check);
            return;
        }

        Gen.Long.Sample(seed => Checked(test, seed, check), iter: iterations);
    }

    private static void Checked(string test, long seed, Action<long> check)
    {
        try
        {
            check(seed);
        }
        catch (Exception e)
        {
            throw new HistoryFailure($"{test} failed; replay with RINGKV_SEED={seed}: {e.Message}", e);
        }
    }

    private static void Fail(ReplicaHistory history, string what) =>
        throw new HistoryFailure(what + Environment.NewLine + string.Join(Environment.NewLine, history.Log.TakeLast(60)), null);

    private static byte[] Encode(SiblingSet set)
    {
        var writer = new ArrayBufferWriter<byte>();
        set.Encode(writer);
        return writer.WrittenSpan.ToArray();
    }

    private static Dictionary<Dot, Sibling> ByDot(SiblingSet set)
    {
        var siblings = new Dictionary<Dot, Sibling>();
        foreach (var sibling in set)
        {
            siblings.Add(sibling.Dot, sibling);
        }

        return siblings;
    }

    /// <summary>Checks every history must pass, whatever its mix.</summary>
    private static void CheckConvergedAndNothingLost(ReplicaHistory history)
    {
        var final = history.Replicas[0];
        var bytes = Encode(final);
        foreach (var replica in history.Replicas)
        {
            if (!replica.Equals(final) || !Encode(replica).AsSpan().SequenceEqual(bytes))
            {
                Fail(history, $"replicas differ after the exchange: {replica} vs {final}");
            }
        }

        // Order and grouping do not matter: folding the pre-exchange replicas another way gives the same set.
        var others = history.Shuffle(history.BeforeExchange);
        var folded = others.Aggregate(SiblingSet.Empty, (acc, s) => history.Next(2) == 0 ? acc.Merge(s) : s.Merge(acc));
        if (!folded.Equals(final))
        {
            Fail(history, $"another merge order gives {folded}, the exchange {final}");
        }

        var writes = new Dictionary<Dot, ReplicaHistory.Write>();
        foreach (var write in history.Writes)
        {
            if (!writes.TryAdd(write.Dot, write))
            {
                Fail(history, $"dot {write.Dot} minted twice (w{writes[write.Dot].Index}, w{write.Index})");
            }
        }

        var actual = ByDot(final);
        foreach (var (dot, sibling) in actual)
        {
            if (!writes.TryGetValue(dot, out var write)
                || write.Stamp != sibling.Stamp || write.IsLww != sibling.IsLww || write.IsTombstone != sibling.IsTombstone
                || !write.Value.AsSpan().SequenceEqual(sibling.Value.Span))
            {
                Fail(history, $"sibling {dot} is no acknowledged write as written");
            }
        }

        var survivors = history.Survivors();
        foreach (var write in survivors)
        {
            if (!actual.ContainsKey(write.Dot))
            {
                Fail(history, $"write w{write.Index} {write.Dot} lost: no context covers it and no plain write is later; final {final}");
            }
        }

        // Truncation may bring back a write a context superseded (an apparent sibling), never one a plain write did.
        foreach (var (dot, _) in actual)
        {
            var write = writes[dot];
            if (history.IsBelowAPlainWrite(write))
            {
                Fail(history, $"w{write.Index} survived a later plain write");
            }

            if (!survivors.Contains(write) && !history.MayTruncate)
            {
                Fail(history, $"w{write.Index} survived the context that covered it, without truncation");
            }
        }

        WriteStamp? floor = null;
        foreach (var write in history.Writes.Where(w => w.IsLww))
        {
            floor = floor is { } f && f >= write.Stamp ? f : write.Stamp;
        }

        if (final.LwwFloor != floor)
        {
            Fail(history, $"floor {final.LwwFloor}, the highest plain write {floor}");
        }
    }

    [Fact]
    public void Replicas_RandomHistories_ConvergeAndKeepExactlyTheUnsupersededWrites() =>
        ForSeeds(nameof(Replicas_RandomHistories_ConvergeAndKeepExactlyTheUnsupersededWrites), 400, seed =>
            CheckConvergedAndNothingLost(ReplicaHistory.Run(seed, ReplicaHistory.WriteMix.Everything)));

    [Fact]
    public void Replicas_PlainWritesOnly_KeepOneSiblingTheStampMaximum() =>
        ForSeeds(nameof(Replicas_PlainWritesOnly_KeepOneSiblingTheStampMaximum), 300, seed =>
        {
            var history = ReplicaHistory.Run(seed, ReplicaHistory.WriteMix.PlainOnly);
            CheckConvergedAndNothingLost(history);
            var final = history.Replicas[0];
            if (history.Writes.Count == 0)
            {
                Assert.Equal(0, final.Count);
                return;
            }

            var latest = history.Writes.MaxBy(w => w.Stamp)!;
            if (final.Count != 1 || final[0].Dot != latest.Dot)
            {
                Fail(history, $"plain writes left {final}, the latest is w{latest.Index} {latest.Stamp}");
            }
        });

    [Fact]
    public void Replicas_KvPutWithAReadsContext_SupersedesExactlyWhatTheReadSaw() =>
        ForSeeds(nameof(Replicas_KvPutWithAReadsContext_SupersedesExactlyWhatTheReadSaw), 300, seed =>
        {
            // Enough entries for every actor: no truncation, so supersession is exact.
            var history = ReplicaHistory.Run(seed, ReplicaHistory.WriteMix.VersionedOnly, maxVectorEntries: 16);
            CheckConvergedAndNothingLost(history);
            var actual = ByDot(history.Replicas[0]);
            foreach (var write in history.Writes.Where(w => w.Read is not null))
            {
                foreach (var seen in write.Read!.Seen)
                {
                    if (actual.ContainsKey(seen))
                    {
                        Fail(history, $"w{write.Index} carried the context of a read that saw {seen}, which survived");
                    }
                }
            }

            // And nothing else went: a write no context covers survives (checked above for every history).
            foreach (var write in history.Writes.Where(w => !history.IsCoveredByAContext(w)))
            {
                Assert.True(actual.ContainsKey(write.Dot));
            }
        });

    [Fact]
    public void Replicas_VectorTruncation_NeverDropsAWriteNoContextSaw() =>
        ForSeeds(nameof(Replicas_VectorTruncation_NeverDropsAWriteNoContextSaw), 300, seed =>
        {
            var history = ReplicaHistory.Run(seed, ReplicaHistory.WriteMix.Everything, maxVectorEntries: 1 + (int)(seed & 1));
            CheckConvergedAndNothingLost(history);
        });

    [Fact]
    public void Merge_ReachableStates_IsCommutativeAssociativeAndIdempotent() =>
        ForSeeds(nameof(Merge_ReachableStates_IsCommutativeAssociativeAndIdempotent), 150, seed =>
        {
            var history = ReplicaHistory.Run(seed, ReplicaHistory.WriteMix.Everything);
            var states = history.States;
            for (var n = 0; n < 30; n++)
            {
                var a = states[history.Next(states.Count)];
                var b = states[history.Next(states.Count)];
                var c = states[history.Next(states.Count)];
                var ab = a.Merge(b);
                if (!ab.Equals(b.Merge(a)) || !Encode(ab).AsSpan().SequenceEqual(Encode(b.Merge(a))))
                {
                    Fail(history, $"not commutative: {a} and {b}");
                }

                if (!ab.Merge(c).Equals(a.Merge(b.Merge(c))))
                {
                    Fail(history, $"not associative: {a}, {b}, {c}");
                }

                if (!a.Merge(a).Equals(a) || !ab.Merge(a).Equals(ab) || !ab.Merge(b).Equals(ab))
                {
                    Fail(history, $"not idempotent: {a} and {b}");
                }

                foreach (var sibling in ab)
                {
                    Assert.True(ab.Context.Covers(sibling.Dot));
                }
            }
        });

    [Fact]
    public void ReachableStates_EncodeAndFastPath_AgreeWithTheObjects() =>
        ForSeeds(nameof(ReachableStates_EncodeAndFastPath_AgreeWithTheObjects), 150, seed =>
        {
            var history = ReplicaHistory.Run(seed, ReplicaHistory.WriteMix.Everything);
            foreach (var set in history.States)
            {
                var bytes = Encode(set);
                Assert.True(SiblingSet.TryDecode(bytes, out var decoded, out var error), error);
                Assert.Equal(set, decoded);
                Assert.True(SiblingSetFastPath.TryGetWinner(bytes, out var value, out var live));
                Assert.Equal(set.TryGetWinnerValue(out var expected), live);
                Assert.True(expected.Span.SequenceEqual(value));
            }
        });

    private sealed class HistoryFailure(string message, Exception? inner) : Exception(message, inner);
}
