using System;
using System.Buffers;
using System.Collections.Generic;
using CsCheck;
using RingKV.Core.Versioning;
using Xunit;

namespace RingKV.Core.Tests.Versioning;

/// <summary>Random histories: three actors write with stale contexts through three replicas, replicas sync at random.</summary>
/// <remarks>
/// An actor may coordinate through any replica whose state has absorbed every dot it minted before (the replica may
/// since have truncated them away), as <see cref="VersionVector.Increment"/> requires; otherwise it writes through the
/// replica it last wrote to. Writing through other replicas is what lets truncation drop an actor's
/// own entry, which the truncated counter must survive.
/// </remarks>
public sealed class SiblingSetPropertyTests
{
    private static readonly ulong[] Actors = [0x0000_0000_0000_0001, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF];

    /// <summary>Kind: 0 put or 1 delete by Actor through replica Other, 2 sync replica Actor from replica Other, 3 a client reads replica Other.</summary>
    private readonly record struct Op(int Kind, int Actor, int Other, int ContextPick, long TimeStepMs);

    private sealed record Ack(Dot Dot, bool IsTombstone, byte[] Value, VersionVector ClientContext);

    private sealed record History(SiblingSet[] Replicas, List<SiblingSet> States, List<Ack> Acks, int MaxVectorEntries);

    private static readonly Gen<Op> GenOp =
        Gen.Select(Gen.Int[0, 3], Gen.Int[0, 2], Gen.Int[0, 2], Gen.Int[0, 1000], Gen.Long[-20, 100], (k, a, o, c, t) => new Op(k, a, o, c, t));

    // Bound 1 and 2 truncate with three actors; 16 never does.
    private static readonly Gen<(Op[] Ops, int MaxVectorEntries)> GenHistory =
        Gen.Select(GenOp.Array[0, 60], Gen.Int[0, 3].Select(i => new[] { 1, 2, 3, 16 }[i]));

    private static History Run(Op[] ops, int maxVectorEntries)
    {
        var replicas = new[] { SiblingSet.Empty, SiblingSet.Empty, SiblingSet.Empty };
        var contexts = new List<VersionVector> { VersionVector.Empty };
        var states = new List<SiblingSet> { SiblingSet.Empty };
        var acks = new List<Ack>();
        var lastDot = new Dot[Actors.Length];
        var lastReplica = new int[Actors.Length];

        // absorbed[r, a]: highest counter of actor a that replica r's state has taken in, by a write or a sync.
        var absorbed = new ulong[replicas.Length, Actors.Length];
        long now = 1_700_000_000_000;
        for (var i = 0; i < ops.Length; i++)
        {
            var op = ops[i];

            // Clocks may step backwards: timestamps come from callers and are not trusted to be monotonic.
            now += op.TimeStepMs;
            switch (op.Kind)
            {
                case 0 or 1:
                    var context = contexts[op.ContextPick % contexts.Count];
                    var replica = op.Other;
                    if (absorbed[replica, op.Actor] < lastDot[op.Actor].Counter)
                    {
                        replica = lastReplica[op.Actor];
                    }

                    var before = replicas[replica];
                    var value = BitConverter.GetBytes(i);
                    var after = op.Kind == 0
                        ? before.Put(context, value, Actors[op.Actor], now, maxVectorEntries)
                        : before.Delete(context, Actors[op.Actor], now, maxVectorEntries);
                    var dot = NewDot(before, after);
                    acks.Add(new Ack(dot, op.Kind == 1, op.Kind == 0 ? value : [], context));
                    replicas[replica] = after;
                    lastDot[op.Actor] = dot;
                    lastReplica[op.Actor] = replica;
                    absorbed[replica, op.Actor] = dot.Counter;
                    states.Add(after);
                    continue;
                case 2:
                    replicas[op.Actor] = replicas[op.Actor].Merge(replicas[op.Other]);
                    for (var a = 0; a < Actors.Length; a++)
                    {
                        absorbed[op.Actor, a] = Math.Max(absorbed[op.Actor, a], absorbed[op.Other, a]);
                    }

                    break;
                default:
                    contexts.Add(replicas[op.Other].Context);
                    break;
            }

            states.Add(replicas[op.Actor]);
        }

        return new History(replicas, states, acks, maxVectorEntries);
    }

    private static Dot NewDot(SiblingSet before, SiblingSet after)
    {
        foreach (var sibling in after)
        {
            var isNew = true;
            foreach (var old in before)
            {
                isNew &= old.Dot != sibling.Dot;
            }

            if (isNew)
            {
                return sibling.Dot;
            }
        }

        throw new InvalidOperationException("a write added no sibling");
    }

    private static readonly Gen<(History History, int A, int B, int C)> GenStates =
        GenHistory.Select(h => Run(h.Ops, h.MaxVectorEntries))
            .SelectMany(h => Gen.Select(Gen.Int[0, h.States.Count - 1], Gen.Int[0, h.States.Count - 1], Gen.Int[0, h.States.Count - 1], (a, b, c) => (h, a, b, c)));

    [Fact]
    public void Merge_ReachableStates_IsCommutative() =>
        GenStates.Sample(t =>
        {
            var (a, b) = (t.History.States[t.A], t.History.States[t.B]);
            Assert.Equal(a.Merge(b), b.Merge(a));
        });

    [Fact]
    public void Merge_ReachableStates_IsAssociative() =>
        GenStates.Sample(t =>
        {
            var (a, b, c) = (t.History.States[t.A], t.History.States[t.B], t.History.States[t.C]);
            Assert.Equal(a.Merge(b).Merge(c), a.Merge(b.Merge(c)));
        });

    [Fact]
    public void Merge_ReachableStates_IsIdempotent() =>
        GenStates.Sample(t =>
        {
            var (a, b) = (t.History.States[t.A], t.History.States[t.B]);
            Assert.Equal(a, a.Merge(a));
            var ab = a.Merge(b);
            Assert.Equal(ab, ab.Merge(b));
            Assert.Equal(ab, ab.Merge(a));
        });

    [Fact]
    public void Merge_ReachableStates_ContextCoversEverySibling() =>
        GenStates.Sample(t =>
        {
            var merged = t.History.States[t.A].Merge(t.History.States[t.B]);
            foreach (var sibling in merged)
            {
                Assert.True(merged.Context.Covers(sibling.Dot));
            }
        });

    [Fact]
    public void Put_RandomInterleavings_NoAcknowledgedWriteLost() =>
        GenHistory.Sample(h =>
        {
            var history = Run(h.Ops, h.MaxVectorEntries);
            var final = history.Replicas[0].Merge(history.Replicas[1]).Merge(history.Replicas[2]);

            var expected = new Dictionary<Dot, Ack>();
            foreach (var ack in history.Acks)
            {
                // A dot minted twice would let one write shadow another.
                Assert.DoesNotContain(ack.Dot, expected.Keys);
                expected.Add(ack.Dot, ack);
            }

            foreach (var ack in history.Acks)
            {
                foreach (var later in history.Acks)
                {
                    if (later.ClientContext.Covers(ack.Dot))
                    {
                        expected.Remove(ack.Dot);
                    }
                }
            }

            var actual = new Dictionary<Dot, Sibling>();
            foreach (var sibling in final)
            {
                actual.Add(sibling.Dot, sibling);
            }

            foreach (var (dot, ack) in expected)
            {
                Assert.True(actual.TryGetValue(dot, out var sibling), $"write {dot} lost; final {final}");
                Assert.Equal(ack.IsTombstone, sibling.IsTombstone);
                Assert.Equal(ack.Value, sibling.Value.ToArray());
            }

            // Without truncation nothing superseded comes back either; with it, false conflicts are the documented cost.
            if (history.MaxVectorEntries >= Actors.Length)
            {
                Assert.Equal(expected.Count, actual.Count);
            }
        }, iter: 2000);

    [Fact]
    public void Encode_ReachableStates_RoundTrips() =>
        GenStates.Sample(t =>
        {
            var set = t.History.States[t.A];
            var writer = new ArrayBufferWriter<byte>();
            set.Encode(writer);
            Assert.True(SiblingSet.TryDecode(writer.WrittenSpan, out var decoded, out var error), error);
            Assert.Equal(set, decoded);

            var contextWriter = new ArrayBufferWriter<byte>();
            SiblingSet.EncodeContext(set.Context, "k"u8, contextWriter);
            Assert.True(SiblingSet.TryDecodeContext(contextWriter.WrittenSpan, out var context, out var keyTag, out error), error);
            Assert.Equal(set.Context, context);
            Assert.Equal(SiblingSet.ContextKeyTag("k"u8), keyTag);
        });

    [Fact]
    public void TryDecode_RandomBytes_NeverThrows() =>
        Gen.Byte.Array[0, 64].Sample(bytes =>
        {
            // Mostly start with the right version byte so the decoder gets past it.
            if (bytes.Length > 0 && bytes[0] < 200)
            {
                bytes[0] = 1;
            }

            if (SiblingSet.TryDecode(bytes, out var set, out var error))
            {
                Assert.Null(error);
                foreach (var sibling in set)
                {
                    Assert.True(set.Context.Covers(sibling.Dot));
                }
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(error));
            }

            _ = SiblingSet.TryDecodeContext(bytes, out _, out _, out _);
        });

    [Fact]
    public void TryDecode_MutatedEncoding_NeverThrows() =>
        GenStates.Select(Gen.Int, Gen.Byte).Sample(t =>
        {
            var writer = new ArrayBufferWriter<byte>();
            t.Item1.History.States[t.Item1.A].Encode(writer);
            var bytes = writer.WrittenSpan.ToArray();
            bytes[(int)((uint)t.Item2 % bytes.Length)] ^= (byte)(t.Item3 | 1);
            _ = SiblingSet.TryDecode(bytes, out _, out _);
            _ = SiblingSet.TryDecode(bytes.AsSpan(0, (int)((uint)t.Item2 % bytes.Length)), out _, out _);
        });
}
