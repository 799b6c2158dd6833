using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Linq;
using CsCheck;
using RingKV.Core.Encoding;
using RingKV.Core.Versioning;
using Xunit;

namespace RingKV.Core.Tests.Versioning;

public sealed class SiblingSetFastPathTests
{
    private enum Kind
    {
        PutFullContext,
        PutEmptyContext,
        PutStaleContext,
        DeleteStaleContext,
        PutLww,
        DeleteLww,
        MergeOtherReplica,
    }

    // A random history: versioned and plain writes by a few actors with full, empty or stale contexts, and merges with
    // a second replica that took writes of its own (which is how a detached floor or a lower-stamped sibling arrives).
    private static readonly Gen<(Kind Kind, int Actor, long TimeStep)[]> GenOps =
        Gen.Select(Gen.Enum<Kind>(), Gen.Int[0, 4], Gen.Long[-5, 50], (k, a, t) => (k, a, t)).Array[0, 14];

    private static ulong Actor(int pick) => (ulong)pick * 0x9E3779B97F4A7C15UL;

    /// <summary>Builds a set; <paramref name="hybrid"/> false uses only the physical-time writes, which version 1 can encode.</summary>
    private static SiblingSet Build((Kind Kind, int Actor, long TimeStep)[] ops, int maxEntries, bool hybrid)
    {
        var set = SiblingSet.Empty;
        var other = SiblingSet.Empty;
        var stale = VersionVector.Empty;
        var i = 0;
        long ms = 1000;
        foreach (var (kind, actorPick, step) in ops)
        {
            // Version 1 holds whole milliseconds: a set raises a write stamped at or before what it holds by a tick.
            ms += hybrid ? step : Math.Abs(step) + 1;
            var actor = Actor(actorPick);
            var time = HybridTimestamp.FromUnixMs(ms);
            var value = new byte[] { (byte)i++, 7 };
            var before = set;
            if (!hybrid)
            {
                set = kind switch
                {
                    Kind.PutFullContext or Kind.PutLww => set.Put(set.Context, value, actor, ms, maxEntries),
                    Kind.PutEmptyContext => set.Put(VersionVector.Empty, value, actor, ms, maxEntries),
                    Kind.PutStaleContext => set.Put(stale, value, actor, ms, maxEntries),
                    _ => set.Delete(stale, actor, ms, maxEntries),
                };
            }
            else
            {
                set = kind switch
                {
                    Kind.PutFullContext => set.Put(set.Context, value, actor, time, maxEntries),
                    Kind.PutEmptyContext => set.Put(VersionVector.Empty, value, actor, time, maxEntries),
                    Kind.PutStaleContext => set.Put(stale, value, actor, time, maxEntries),
                    Kind.DeleteStaleContext => set.Delete(stale, actor, time, maxEntries),
                    Kind.PutLww => set.PutLww(value, actor, time, maxEntries),
                    Kind.DeleteLww => set.DeleteLww(actor, time, maxEntries),
                    _ => set.Merge(other),
                };

                // The other replica's own writes use another actor, so dots stay unique.
                other = kind == Kind.PutLww && actorPick % 2 == 0
                    ? other.PutLww(value, Actor(5), HybridTimestamp.FromUnixMs(ms + step), maxEntries)
                    : other.Put(VersionVector.Empty, value, Actor(5), HybridTimestamp.FromUnixMs(ms - step), maxEntries);
            }

            stale = before.Context;
        }

        return set;
    }

    private static byte[] Encode(SiblingSet set)
    {
        var writer = new ArrayBufferWriter<byte>();
        set.Encode(writer);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>What release 1 wrote for <paramref name="set"/>. Requires: no last-writer-wins sibling or floor, timestamps with logical 0.</summary>
    private static byte[] EncodeVersion1(SiblingSet set)
    {
        var writer = new ArrayBufferWriter<byte>();
        writer.Write<byte>([1]);
        void Varint64(ulong value) => writer.Advance(Varint.Write(writer.GetSpan(10), value));
        static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));
        Varint64((ulong)set.Context.Count);
        Varint64(set.Context.TruncatedCounter);
        var entries = set.Context.Entries;
        foreach (var entry in entries)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(writer.GetSpan(8), entry.Actor);
            writer.Advance(8);
            Varint64(entry.Counter);
            Varint64(ZigZag(entry.LastUpdateUnixMs));
        }

        Varint64((ulong)set.Count);
        foreach (var sibling in set)
        {
            Assert.False(sibling.IsLww);
            Assert.Equal(0, sibling.Timestamp.Logical);
            var index = 0;
            while (entries[index].Actor != sibling.Dot.Actor)
            {
                index++;
            }

            Varint64((ulong)index);
            Varint64(sibling.Dot.Counter);
            writer.Write<byte>([sibling.IsTombstone ? (byte)1 : (byte)0]);
            Varint64(ZigZag(sibling.Timestamp.UnixMs));
            if (!sibling.IsTombstone)
            {
                Varint64((ulong)sibling.Value.Length);
                writer.Write(sibling.Value.Span);
            }
        }

        return writer.WrittenSpan.ToArray();
    }

    private static void AssertWinnerAgrees(SiblingSet set, byte[] encoded)
    {
        Assert.True(SiblingSetFastPath.TryGetWinner(encoded, out var value, out var live));
        Assert.Equal(set.TryGetWinnerValue(out var expected), live);
        Assert.True(expected.Span.SequenceEqual(value));
    }

    [Fact]
    public void TryGetWinner_RandomSets_AgreesWithDecodedWinner() =>
        Gen.Select(GenOps, Gen.Int[1, 6]).Sample(t =>
        {
            var set = Build(t.Item1, t.Item2, hybrid: true);
            var encoded = Encode(set);
            AssertWinnerAgrees(set, encoded);
            Assert.True(SiblingSet.TryDecode(encoded, out var decoded, out var error), error);
            AssertWinnerAgrees(decoded, encoded);
        });

    [Fact]
    public void TryReadStamps_RandomSets_AgreesWithTheSet() =>
        Gen.Select(GenOps, Gen.Int[1, 6]).Sample(t =>
        {
            // Latest: the set's MaxTimestamp; purely last-writer-wins: every sibling flagged so and no detached floor.
            var set = Build(t.Item1, t.Item2, hybrid: true);
            Assert.True(SiblingSetFastPath.TryReadStamps(Encode(set), out var latest, out var lwwOnly));
            Assert.Equal(set.MaxTimestamp, latest);
            var siblings = set.Siblings.ToArray();
            Assert.Equal(siblings.All(s => s.IsLww) && (set.LwwFloor is null || siblings.Any(s => s.IsLww)), lwwOnly);

            // Version 1 knows no last-writer-wins flag: never purely last-writer-wins.
            var plain = Build(t.Item1, t.Item2, hybrid: false);
            Assert.True(SiblingSetFastPath.TryReadStamps(EncodeVersion1(plain), out var latest1, out var lwwOnly1));
            Assert.Equal(plain.MaxTimestamp, latest1);
            Assert.False(lwwOnly1);
        });

    [Fact]
    public void TryReadStamps_DamagedBytes_FalseNeverThrows()
    {
        var encoded = Encode(SiblingSet.Empty.PutLww(new byte[] { 1, 2, 3 }, 7, HybridTimestamp.FromUnixMs(5000), 4));
        for (var cut = 0; cut < encoded.Length; cut++)
        {
            Assert.False(SiblingSetFastPath.TryReadStamps(encoded.AsSpan(0, cut), out _, out _));
        }

        Assert.True(SiblingSetFastPath.TryReadStamps(encoded, out var latest, out var lwwOnly));
        Assert.Equal((HybridTimestamp.FromUnixMs(5000), true), (latest, lwwOnly));
    }

    [Fact]
    public void TryGetWinner_Version1Bytes_AgreesWithDecodedWinner() =>
        Gen.Select(GenOps, Gen.Int[1, 6]).Sample(t =>
        {
            var set = Build(t.Item1, t.Item2, hybrid: false);
            var version1 = EncodeVersion1(set);
            Assert.True(SiblingSet.TryDecode(version1, out var decoded, out var error), error);
            Assert.Equal(set, decoded);
            AssertWinnerAgrees(set, version1);
        });

    [Fact]
    public void TryEncodeBlindPut_RandomSets_EqualsObjectPathOrDeclines() =>
        Gen.Select(GenOps, Gen.Int[1, 6], Gen.Int[0, 5], Gen.Long[-10, 80], Gen.ULong[0, 12]).Sample(t =>
        {
            var (ops, max, actorPick, time, minCounter) = t;
            foreach (var hybrid in new[] { true, false })
            {
                var set = Build(ops, max, hybrid);
                var actor = Actor(actorPick);
                var now = 1000 + time;
                var value = new byte[] { 1, 2, 3 };
                var expected = Encode(set.Put(set.Context, value, actor, now, max, minCounter));
                var existing = set.Count == 0 && set.Context.Count == 0 && set.LwwFloor is null ? [] : hybrid ? Encode(set) : EncodeVersion1(set);
                var writer = new ArrayBufferWriter<byte>();
                if (SiblingSetFastPath.TryEncodeBlindPut(existing, value, actor, now, max, writer, minCounter))
                {
                    Assert.Equal(expected, writer.WrittenSpan.ToArray());
                }
                else
                {
                    // It may decline only when the object path truncates the context.
                    Assert.True(set.Context.Count + (set.Context.Counter(actor) == 0 ? 1 : 0) > max);
                }
            }
        });

    [Fact]
    public void TryEncodeBlindPutLww_RandomSets_EqualsObjectPathOrDeclines() =>
        Gen.Select(GenOps, Gen.Int[1, 6], Gen.Int[0, 5], Gen.Long[-10, 80], Gen.ULong[0, 12]).Sample(t =>
        {
            var (ops, max, actorPick, time, minCounter) = t;
            foreach (var hybrid in new[] { true, false })
            {
                var set = Build(ops, max, hybrid);
                var actor = Actor(actorPick);
                var now = new HybridTimestamp(HybridTimestamp.FromUnixMs(1000 + time).Value + (time & 3));
                var value = new byte[] { 1, 2, 3 };
                var expected = Encode(set.PutLww(value, actor, now, max, minCounter));
                var existing = set.Count == 0 && set.Context.Count == 0 && set.LwwFloor is null ? [] : hybrid ? Encode(set) : EncodeVersion1(set);
                var writer = new ArrayBufferWriter<byte>();
                if (SiblingSetFastPath.TryEncodeBlindPutLww(existing, value, actor, now, max, writer, minCounter))
                {
                    Assert.Equal(expected, writer.WrittenSpan.ToArray());
                }
                else
                {
                    Assert.True(set.Context.Count + (set.Context.Counter(actor) == 0 ? 1 : 0) > max);
                }
            }
        });

    [Fact]
    public void TryEncodeBlindPut_NoExistingSet_WritesOneSibling()
    {
        var writer = new ArrayBufferWriter<byte>();
        Assert.True(SiblingSetFastPath.TryEncodeBlindPut([], "v"u8, 42, 5000, 10, writer));
        Assert.True(SiblingSet.TryDecode(writer.WrittenSpan, out var set, out _));
        Assert.Equal(1, set.Count);
        Assert.False(set[0].IsLww);
        Assert.True(set.TryGetWinnerValue(out var value));
        Assert.Equal("v"u8.ToArray(), value.ToArray());
    }

    [Fact]
    public void TryEncodeBlindPutLww_NoExistingSet_WritesOneLwwSiblingWithCounterFromTheTimestamp()
    {
        var writer = new ArrayBufferWriter<byte>();
        var now = HybridTimestamp.FromUnixMs(1_700_000_000_000);
        Assert.True(SiblingSetFastPath.TryEncodeBlindPutLww([], "v"u8, 42, now, 10, writer));
        Assert.True(SiblingSet.TryDecode(writer.WrittenSpan, out var set, out _));
        Assert.Equal(1, set.Count);
        Assert.True(set[0].IsLww);
        Assert.Equal(new Dot(42, (ulong)now.Value), set[0].Dot);
        Assert.Equal(now, set[0].Timestamp);
        Assert.Equal(set[0].Stamp, set.LwwFloor);
    }

    [Fact]
    public void TryGetWinner_RepeatedCalls_AllocateNothing()
    {
        var set = SiblingSet.Empty.PutLww(new byte[] { 1 }, 3, HybridTimestamp.FromUnixMs(1000), 10);
        set = set.Put(VersionVector.Empty, new byte[] { 2, 2 }, 5, HybridTimestamp.FromUnixMs(1001), 10);
        set = set.Put(set.Context, new byte[] { 3 }, 7, HybridTimestamp.FromUnixMs(1002), 10);
        var encoded = Encode(set);
        Assert.True(set.HasDetachedFloor);
        var found = 0;
        for (var i = 0; i < 10; i++)
        {
            found += SiblingSetFastPath.TryGetWinner(encoded, out _, out _) ? 1 : 0;
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            found += SiblingSetFastPath.TryGetWinner(encoded, out _, out var live) && live ? 1 : 0;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1010, found);
    }

    [Fact]
    public void TryEncodeBlindPutLww_IntoAReusedBuffer_AllocatesNothing()
    {
        var existing = Encode(SiblingSet.Empty.PutLww(new byte[] { 1 }, 3, HybridTimestamp.FromUnixMs(1000), 10));
        var writer = new ArrayBufferWriter<byte>(256);
        var now = HybridTimestamp.FromUnixMs(2000);
        var written = 0;
        for (var i = 0; i < 10; i++)
        {
            writer.ResetWrittenCount();
            written += SiblingSetFastPath.TryEncodeBlindPutLww(existing, "value"u8, 9, now, 10, writer) ? 1 : 0;
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            writer.ResetWrittenCount();
            written += SiblingSetFastPath.TryEncodeBlindPutLww(existing, "value"u8, 9, now, 10, writer) ? 1 : 0;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1010, written);
    }

    [Fact]
    public void TryGetWinner_DamagedBytes_NeverThrows() =>
        Gen.Byte.Array[0, 40].Sample(bytes =>
        {
            if (bytes.Length > 0 && bytes[0] < 200)
            {
                bytes[0] = (byte)(1 + (bytes[0] & 1)); // mostly a known version, so parsing gets past it
            }

            _ = SiblingSetFastPath.TryGetWinner(bytes, out _, out _);
            _ = SiblingSetFastPath.TryEncodeBlindPut(bytes, "x"u8, 1, 1, 4, new ArrayBufferWriter<byte>());
            _ = SiblingSetFastPath.TryEncodeBlindPutLww(bytes, "x"u8, 1, new HybridTimestamp(1), 4, new ArrayBufferWriter<byte>());
        });
}
