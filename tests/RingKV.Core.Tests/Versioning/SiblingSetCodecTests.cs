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

    private static SiblingSet Sample()
    {
        var set = SiblingSet.Empty.Put(VersionVector.Empty, new byte[] { 0xAA, 0xBB }, 2, 1000, 10);
        return set.Delete(VersionVector.Empty, 0x0102_0304_0506_0708, -3, 10);
    }

    [Fact]
    public void Encode_Empty_IsPinned() =>
        Assert.Equal([1, 0, 0, 0], Encode(SiblingSet.Empty));

    [Fact]
    public void Encode_KnownSet_IsPinned()
    {
        // The format is on disk: these bytes must never change (see docs/formats/sibling-set.md).
        byte[] expected =
        [
            1, // version
            2, 0, // context: 2 entries, truncated counter 0
            2, 0, 0, 0, 0, 0, 0, 0, 1, 0xD0, 0x0F, // actor 2, counter 1, time 1000 (zigzag 2000)
            8, 7, 6, 5, 4, 3, 2, 1, 1, 5, // actor 0x0102030405060708, counter 1, time -3 (zigzag 5)
            2, // siblings
            0, 1, 0, 0xD0, 0x0F, 2, 0xAA, 0xBB, // actor index 0, counter 1, value, time 1000, 2 bytes
            1, 1, 1, 5, // actor index 1, counter 1, tombstone, time -3
        ];
        Assert.Equal(expected, Encode(Sample()));
    }

    [Fact]
    public void TryDecode_Encoded_RoundTrips()
    {
        var set = Sample();
        Assert.True(SiblingSet.TryDecode(Encode(set), out var decoded, out var error), error);
        Assert.Equal(set, decoded);
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
        var bytes = Encode(Sample());
        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.False(SiblingSet.TryDecode(bytes.AsSpan(0, length), out _, out var error));
            Assert.False(string.IsNullOrEmpty(error));
        }
    }

    [Fact]
    public void TryDecode_UnknownVersion_ReturnsFalseNamingIt()
    {
        var bytes = Encode(Sample());
        bytes[0] = 2;
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("version 2", error, StringComparison.Ordinal);
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
        byte[] bytes = [1, 0x80, 0x80, 0x80, 0x80, 0x10, 0];
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("limit", error, StringComparison.Ordinal);

        byte[] siblings = [1, 0, 0, 100];
        Assert.False(SiblingSet.TryDecode(siblings, out _, out error));
        Assert.Contains("remaining", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_SiblingCounterAboveContext_ReturnsFalse()
    {
        var bytes = Encode(Sample());
        bytes[^3] = 2; // the tombstone's counter: 2 > context counter 1
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("covered", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_ActorIndexOutsideContext_ReturnsFalse()
    {
        var bytes = Encode(Sample());
        bytes[^4] = 2;
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("index", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_UnknownFlag_ReturnsFalse()
    {
        var bytes = Encode(Sample());
        bytes[^2] = 0x03;
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("flags", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_UnsortedActors_ReturnsFalse()
    {
        byte[] bytes =
        [
            1, 2, 0,
            9, 0, 0, 0, 0, 0, 0, 0, 1, 0,
            3, 0, 0, 0, 0, 0, 0, 0, 1, 0,
            0,
        ];
        Assert.False(SiblingSet.TryDecode(bytes, out _, out var error));
        Assert.Contains("sorted", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecodeContext_SiblingSetBytes_ReturnsFalse()
    {
        // A sibling set is a context followed by siblings; as a context its sibling count is trailing.
        Assert.False(SiblingSet.TryDecodeContext(Encode(Sample()), out _, out _, out _));
    }
}
