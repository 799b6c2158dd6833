using System;
using System.Buffers;
using CsCheck;
using RingKV.Core.Versioning;
using Xunit;

namespace RingKV.Core.Tests.Versioning;

public sealed class SiblingSetFastPathTests
{
    // A random history: puts and deletes by a few actors with full, empty or stale contexts.
    private static readonly Gen<(int Actor, int ContextKind, long Time, bool Delete)[]> GenOps =
        Gen.Select(Gen.Int[0, 4], Gen.Int[0, 2], Gen.Long[-5, 50], Gen.Int[0, 5].Select(i => i == 0), (a, c, t, d) => (a, c, t, d)).Array[0, 12];

    private static SiblingSet Build((int Actor, int ContextKind, long Time, bool Delete)[] ops, int maxEntries)
    {
        var set = SiblingSet.Empty;
        var stale = VersionVector.Empty;
        var i = 0;
        foreach (var (actor, kind, time, delete) in ops)
        {
            var context = kind switch { 0 => set.Context, 1 => VersionVector.Empty, _ => stale };
            stale = set.Context;
            set = delete
                ? set.Delete(context, (ulong)actor * 0x9E3779B97F4A7C15UL, 1000 + time, maxEntries)
                : set.Put(context, new byte[] { (byte)i++, 7 }, (ulong)actor * 0x9E3779B97F4A7C15UL, 1000 + time, maxEntries);
        }

        return set;
    }

    private static byte[] Encode(SiblingSet set)
    {
        var writer = new ArrayBufferWriter<byte>();
        set.Encode(writer);
        return writer.WrittenSpan.ToArray();
    }

    [Fact]
    public void TryGetWinner_RandomSets_AgreesWithDecodedWinner() =>
        Gen.Select(GenOps, Gen.Int[1, 6]).Sample(t =>
        {
            var set = Build(t.Item1, t.Item2);
            Assert.True(SiblingSetFastPath.TryGetWinner(Encode(set), out var value, out var live));
            Assert.Equal(set.TryGetWinnerValue(out var expected), live);
            Assert.True(expected.Span.SequenceEqual(value));
        });

    [Fact]
    public void TryEncodeBlindPut_RandomSets_EqualsObjectPathOrDeclines() =>
        Gen.Select(GenOps, Gen.Int[1, 6], Gen.Int[0, 5], Gen.Long[-10, 80], Gen.ULong[0, 12]).Sample(t =>
        {
            var (ops, max, actorPick, time, minCounter) = t;
            var set = Build(ops, max);
            var actor = (ulong)actorPick * 0x9E3779B97F4A7C15UL;
            var now = 1000 + time;
            var value = new byte[] { 1, 2, 3 };
            var expected = Encode(set.Put(set.Context, value, actor, now, max, minCounter));
            var writer = new ArrayBufferWriter<byte>();
            var existing = set.Count == 0 && set.Context.Count == 0 ? [] : Encode(set);
            if (SiblingSetFastPath.TryEncodeBlindPut(existing, value, actor, now, max, writer, minCounter))
            {
                Assert.Equal(expected, writer.WrittenSpan.ToArray());
            }
            else
            {
                // It may decline only when the object path truncates the context.
                Assert.True(set.Context.Count + (set.Context.Counter(actor) == 0 ? 1 : 0) > max);
            }
        });

    [Fact]
    public void TryEncodeBlindPut_NoExistingSet_WritesOneSibling()
    {
        var writer = new ArrayBufferWriter<byte>();
        Assert.True(SiblingSetFastPath.TryEncodeBlindPut([], "v"u8, 42, 5000, 10, writer));
        Assert.True(SiblingSet.TryDecode(writer.WrittenSpan, out var set, out _));
        Assert.Equal(1, set.Count);
        Assert.True(set.TryGetWinnerValue(out var value));
        Assert.Equal("v"u8.ToArray(), value.ToArray());
    }

    [Fact]
    public void TryGetWinner_DamagedBytes_NeverThrows() =>
        Gen.Byte.Array[0, 40].Sample(bytes =>
        {
            _ = SiblingSetFastPath.TryGetWinner(bytes, out _, out _);
            _ = SiblingSetFastPath.TryEncodeBlindPut(bytes, "x"u8, 1, 1, 4, new ArrayBufferWriter<byte>());
        });
}
