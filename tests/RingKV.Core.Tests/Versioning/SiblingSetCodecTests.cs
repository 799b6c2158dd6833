using System;
using System.Buffers;
using RingKV.Core.Versioning;
using Xunit;

namespace RingKV.Core.Tests.Versioning;

public sealed class SiblingSetCodecTests
{
    private static byte[] Encode(SiblingSet set)
    {
        var writer = new ArrayBufferWriter<byte>();
        set.Encode(writer);
        return writer.WrittenSpan.ToArray();
    }

    private static byte[] EncodeContext(VersionVector context, string key = "k")
    {
        var writer = new ArrayBufferWriter<byte>();
        SiblingSet.EncodeContext(context, System.Text.Encoding.UTF8.GetBytes(key), writer);
        return writer.WrittenSpan.ToArray();
    }

    private static HybridTimestamp T(long value) => new(value);

    /// <summary>A plain SET by actor 2 and a KV.DEL concurrent with it: the floor is carried by the last-writer-wins sibling.</summary>
    private static SiblingSet Sample()
    {
        var set = SiblingSet.Empty.PutLww(new byte[] { 0xAA, 0xBB }, 2, T(1000), 10);
        return set.Delete(VersionVector.Empty, 0x0102_0304_0506_0708, T(1005), 10);
    }

    /// <summary><see cref="Sample"/> after a KV.PUT that saw both: the floor outlives the plain SET, detached.</summary>
    private static SiblingSet DetachedSample()
    {
        var set = Sample();
        return set.Put(set.Context, new byte[] { 0xCC }, 2, T(2000), 10);
    }

    // The format is on disk: these bytes must never change (see docs/formats/sibling-set.md).
    private static readonly byte[] SampleBytes =
    [
        2, // version
        2, 0, // context: 2 entries, truncated counter 0
        2, 0, 0, 0, 0, 0, 0, 0, 0xE8, 0x07, 0, // actor 2, counter 1000, last update 0 ms
        8, 7, 6, 5, 4, 3, 2, 1, 0xED, 0x07, 0, // actor 0x0102030405060708, counter 1005, last update 0 ms
        0, // floor: none detached (the last-writer-wins sibling carries it)
        2, // siblings
        0, 0xE8, 0x07, 2, 0, 2, 0xAA, 0xBB, // actor index 0, counter 1000, last-writer-wins, timestamp = counter, 2 bytes
        1, 0xED, 0x07, 1, 0, // actor index 1, counter 1005, tombstone, timestamp = counter
    ];

    private static readonly byte[] DetachedSampleBytes =
    [
        2,
        2, 0,
        2, 0, 0, 0, 0, 0, 0, 0, 0xD0, 0x0F, 0, // actor 2, counter 2000
        8, 7, 6, 5, 4, 3, 2, 1, 0xED, 0x07, 0,
        1, 0xD0, 0x0F, 2, 0, 0, 0, 0, 0, 0, 0, 0xE8, 0x07, // detached floor: timestamp 1000 (zigzag 2000), actor 2, counter 1000
        1,
        0, 0xD0, 0x0F, 0, 0, 1, 0xCC, // actor index 0, counter 2000, a value, timestamp = counter, 1 byte
    ];

    // What release 1 wrote (format version 1, Unix ms timestamps): it must keep decoding.
    private static readonly byte[] Version1Bytes =
    [
        1, // version
        2, 0, // context: 2 entries, truncated counter 0
        2, 0, 0, 0, 0, 0, 0, 0, 1, 0xD0, 0x0F, // actor 2, counter 1, time 1000 (zigzag 2000)
        8, 7, 6, 5, 4, 3, 2, 1, 1, 5, // actor 0x0102030405060708, counter 1, time -3 (zigzag 5)
        2, // siblings
        0, 1, 0, 0xD0, 0x0F, 2, 0xAA, 0xBB, // actor index 0, counter 1, value, time 1000, 2 bytes
        1, 1, 1, 5, // actor index 1, counter 1, tombstone, time -3
    ];

    [Fact]
    public void Encode_Empty_IsPinned() =>
        Assert.Equal([2, 0, 0, 0, 0], Encode(SiblingSet.Empty));

    [Fact]
    public void Encode_KnownSet_IsPinned() => Assert.Equal(SampleBytes, Encode(Sample()));

    [Fact]
    public void Encode_DetachedFloor_IsPinned()
    {
        var set = DetachedSample();
        Assert.Equal(new WriteStamp(T(1000), new Dot(2, 1000)), set.LwwFloor);
        Assert.Equal(DetachedSampleBytes, Encode(set));
    }

    [Fact]
    public void TryDecode_Encoded_RoundTrips()
    {
        foreach (var set in new[] { Sample(), DetachedSample() })
        {
            Assert.True(SiblingSet.TryDecode(Encode(set), out var decoded, out var error), error);
            Assert.Equal(set, decoded);
            Assert.Equal(set.LwwFloor, decoded.LwwFloor);
        }
    }

    [Fact]
    public void TryDecode_Version1_ReadsUnixMsAsHybridTimestamps()
    {
        Assert.True(SiblingSet.TryDecode(Version1Bytes, out var set, out var error), error);
        Assert.Equal(2, set.Count);
        Assert.Equal(new Sibling(new Dot(2, 1), HybridTimestamp.FromUnixMs(1000), false, new byte[] { 0xAA, 0xBB }), set[0]);
        Assert.Equal(new Sibling(new Dot(0x0102_0304_0506_0708, 1), HybridTimestamp.FromUnixMs(-3), true, ReadOnlyMemory<byte>.Empty), set[1]);
        Assert.Null(set.LwwFloor);
        Assert.Equal([new VersionVectorEntry(2, 1, 1000), new VersionVectorEntry(0x0102_0304_0506_0708, 1, -3)], set.Context.Entries.ToArray());

        // Written again it is version 2, and reads back the same.
        Assert.True(SiblingSet.TryDecode(Encode(set), out var again, out error), error);
        Assert.Equal(set, again);
    }

    [Fact]
    public void TryDecode_Version1EmptySet_IsEmpty()
    {
        Assert.True(SiblingSet.TryDecode([1, 0, 0, 0], out var set, out var error), error);
        Assert.Same(SiblingSet.Empty, set);
    }

    [Fact]
    public void TryDecode_Version1WithLwwFlag_ReturnsFalse()
    {
        var bytes = (byte[])Version1Bytes.Clone();
        bytes[^2] = SiblingSetCodec.TombstoneFlag | SiblingSetCodec.LwwFlag; // version 1 had no such flag
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("flags", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_Version1TimestampBeyondHybridRange_ReturnsFalse()
    {
        // One tombstone at Unix ms 2^47, one past the latest a hybrid timestamp holds.
        var writer = new ArrayBufferWriter<byte>();
        writer.Write<byte>([1, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 1]);
        var span = writer.GetSpan(10);
        writer.Advance(RingKV.Core.Encoding.Varint.Write(span, (ulong)(HybridTimestamp.MaxUnixMs + 1) << 1));
        Assert.False(SiblingSet.TryDecode(writer.WrittenSpan, out _, out var error));
        Assert.Contains("outside", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecodeContext_Encoded_RoundTripsWithTruncatedCounterAndKeyTag()
    {
        var context = VersionVector.FromEntries([new(5, 3, 10), new(9, 1, 20)], truncatedCounter: 17);
        Assert.True(SiblingSet.TryDecodeContext(EncodeContext(context, "user:1"), out var decoded, out var keyTag, out var error), error);
        Assert.Equal(context, decoded);
        Assert.Equal(17UL, decoded.TruncatedCounter);
        Assert.Equal(SiblingSet.ContextKeyTag("user:1"u8), keyTag);
        Assert.NotEqual(SiblingSet.ContextKeyTag("user:2"u8), keyTag);
    }

    [Fact]
    public void EncodeContext_KnownContext_IsPinned()
    {
        // Clients hold contexts across upgrades: these bytes must never change (see docs/formats/sibling-set.md).
        var tag = SiblingSet.ContextKeyTag("k"u8);
        byte[] expected =
        [
            2, // context format version
            (byte)tag, (byte)(tag >> 8), (byte)(tag >> 16), (byte)(tag >> 24), // key tag, little-endian
            1, 0, // 1 entry, truncated counter 0
            5, 0, 0, 0, 0, 0, 0, 0, 3, 20, // actor 5, counter 3, time 10 (zigzag 20)
        ];
        Assert.Equal(expected, EncodeContext(VersionVector.FromEntries([new(5, 3, 10)], truncatedCounter: 0), "k"));
        Assert.Equal((uint)RingKV.Core.Hashing.Token.Of("k"u8).Value, tag);
    }

    [Fact]
    public void TryDecodeContext_VersionOne_DecodesWithoutKeyTag()
    {
        // Version 1 contexts (before key tags) still decode; the caller decides what an untagged context may do.
        byte[] v1 = [1, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 3, 20];
        Assert.True(SiblingSet.TryDecodeContext(v1, out var decoded, out var keyTag, out var error), error);
        Assert.Null(keyTag);
        Assert.Equal(VersionVector.FromEntries([new(5, 3, 10)], truncatedCounter: 0), decoded);
    }

    [Fact]
    public void TryDecodeContext_TruncatedKeyTagOrUnknownVersion_ReturnsFalse()
    {
        Assert.False(SiblingSet.TryDecodeContext([2, 1, 2], out _, out _, out var error));
        Assert.Contains("key tag", error, StringComparison.Ordinal);
        Assert.False(SiblingSet.TryDecodeContext([3, 0, 0, 0, 0, 0, 0], out _, out _, out error));
        Assert.Contains("version 3", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_EveryProperPrefix_ReturnsFalse()
    {
        foreach (var bytes in new[] { SampleBytes, DetachedSampleBytes, Version1Bytes })
        {
            for (var length = 0; length < bytes.Length; length++)
            {
                Assert.False(SiblingSet.TryDecode(bytes.AsSpan(0, length), out _, out var error));
                Assert.False(string.IsNullOrEmpty(error));
            }
        }
    }

    [Fact]
    public void TryDecode_UnknownVersion_ReturnsFalseNamingIt()
    {
        var bytes = Encode(Sample());
        bytes[0] = 4;
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("version 4", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_TrailingByte_ReturnsFalse()
    {
        byte[] bytes = [.. Encode(Sample()), 0];
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("trailing", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_HugeCount_ReturnsFalseBeforeAllocating()
    {
        // Entry count 2^32 with almost no bytes behind it.
        byte[] bytes = [2, 0x80, 0x80, 0x80, 0x80, 0x10, 0];
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("limit", error, StringComparison.Ordinal);

        byte[] siblings = [2, 0, 0, 0, 100];
        Assert.False(SiblingSet.TryDecode(siblings, out _, out error));
        Assert.Contains("remaining", error, StringComparison.Ordinal);

        byte[] version1 = [1, 0, 0, 100];
        Assert.False(SiblingSet.TryDecode(version1, out _, out error));
        Assert.Contains("remaining", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_SiblingCounterAboveContext_ReturnsFalse()
    {
        var bytes = (byte[])SampleBytes.Clone();
        bytes[^4] = 0xEE; // the tombstone's counter: 1006 > context counter 1005
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("covered", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_ActorIndexOutsideContext_ReturnsFalse()
    {
        var bytes = (byte[])SampleBytes.Clone();
        bytes[^5] = 2;
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("index", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_UnknownFlag_ReturnsFalse()
    {
        var bytes = (byte[])SampleBytes.Clone();
        bytes[^2] = 0x05;
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("flags", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_TwoLwwSiblings_ReturnsFalse()
    {
        var bytes = (byte[])SampleBytes.Clone();
        bytes[^2] = SiblingSetCodec.TombstoneFlag | SiblingSetCodec.LwwFlag;
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("more than one last-writer-wins", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_SiblingBelowFloor_ReturnsFalse()
    {
        var bytes = (byte[])SampleBytes.Clone();
        bytes[^1] = 19; // the tombstone's timestamp: counter - 10 = 995, below the plain SET's 1000
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("below the last-writer-wins floor", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_LwwSiblingBesideDetachedFloor_ReturnsFalse()
    {
        var bytes = (byte[])DetachedSampleBytes.Clone();
        bytes[^4] = SiblingSetCodec.LwwFlag;
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("detached floor", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_UnknownFloorKind_ReturnsFalse()
    {
        var bytes = (byte[])DetachedSampleBytes.Clone();
        bytes[25] = 2;
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("floor has an unknown kind", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_FloorCounterZero_ReturnsFalse()
    {
        // The floor's counter (E8 07 at 36..37) becomes one byte 0.
        byte[] bytes = [.. DetachedSampleBytes.AsSpan(0, 36), 0, .. DetachedSampleBytes.AsSpan(38)];
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("counter 0", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_UnsortedActors_ReturnsFalse()
    {
        foreach (var version in new byte[] { 1, 2 })
        {
            byte[] bytes =
            [
                version, 2, 0,
                9, 0, 0, 0, 0, 0, 0, 0, 1, 0,
                3, 0, 0, 0, 0, 0, 0, 0, 1, 0,
                0, 0,
            ];
            Assert.False(SiblingSet.TryDecode(version == 1 ? bytes.AsSpan(0, bytes.Length - 1) : bytes, out _, out var error));
            Assert.Contains("sorted", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TryDecodeContext_SiblingSetBytes_ReturnsFalse()
    {
        // A sibling set is a context followed by siblings; as a context its version, key tag or sibling count is wrong.
        Assert.False(SiblingSet.TryDecodeContext(Encode(Sample()), out _, out _, out _));
        Assert.False(SiblingSet.TryDecodeContext(Version1Bytes, out _, out _, out _));
    }
}
