using System;
using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Threading.Tasks;
using RingKV.Server.Store;

namespace RingKV.Server.Memcached;

/// <summary>memcached items over the plain keyspace: the value under its own key, the 32-bit flags beside it.</summary>
/// <remarks>
/// Thread-safe (stateless over the store).
/// Storage format: an item's value is stored as it is under the item's key, so a Redis GET of a key set through
/// memcached returns the exact value bytes, and a memcached get of a key set through Redis returns them with flags 0.
/// Flags other than 0 live in a side key, <see cref="FlagsPrefixBytes"/> (0xFF 0x00 "mc-flags:") + key, holding 12 bytes: the flags (uint32,
/// little-endian) and the XxHash64 of the value they belong to (uint64, little-endian), with the item's expiry. A read
/// applies the side key's flags only when its hash matches the value found, so a value written since by anything that
/// does not know the flags (a Redis SET, APPEND, INCR) reads with flags 0 instead of stale ones; a set with flags 0
/// deletes the side key (which costs no write when there is none). Rejected alternatives: encoding the flags into the
/// value (a Redis GET would see the header), and encoding only when flags are not 0 (a Redis GET would see the header
/// of those items, and a Redis value that happened to look like one would be misread).
/// NOTE: the side keys are keys of the keyspace: Redis SCAN, KEYS and DBSIZE count them.
/// </remarks>
internal static class MemcachedItems
{
    /// <summary>What a side key's name starts with: 0xFF 0x00 "mc-flags:", away from the names people pick.</summary>
    private static readonly byte[] FlagsPrefixBytes = [0xFF, 0x00, (byte)'m', (byte)'c', (byte)'-', (byte)'f', (byte)'l', (byte)'a', (byte)'g', (byte)'s', (byte)':'];

    private const int FlagsRecordBytes = 12;

    /// <summary>The side key of <paramref name="key"/>'s flags.</summary>
    public static byte[] FlagsKey(ReadOnlySpan<byte> key)
    {
        var name = new byte[FlagsPrefixBytes.Length + key.Length];
        FlagsPrefixBytes.CopyTo(name, 0);
        key.CopyTo(name.AsSpan(FlagsPrefixBytes.Length));
        return name;
    }

    /// <summary>The hash a side key records of its value.</summary>
    public static ulong ValueHash(ReadOnlySpan<byte> value) => XxHash64.HashToUInt64(value);

    /// <summary>The flags of <paramref name="key"/> whose value is <paramref name="value"/>: the side key's when it belongs to that value, else 0.</summary>
    public static async ValueTask<uint> ReadFlagsAsync(IKeyValueStore store, byte[] key, ReadOnlyMemory<byte> value)
    {
        var record = new ArrayBufferWriter<byte>(FlagsRecordBytes);
        var read = await store.ReadAsync(new ReadRequest(FlagsKey(key), record)).ConfigureAwait(false);
        if (!read.Found || record.WrittenCount != FlagsRecordBytes)
        {
            return 0;
        }

        var bytes = record.WrittenSpan;
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes[4..]) == ValueHash(value.Span) ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : 0;
    }

    /// <summary>Records <paramref name="flags"/> for the value just written under <paramref name="key"/> (deletes the side key for 0).</summary>
    public static async ValueTask WriteFlagsAsync(IKeyValueStore store, byte[] key, uint flags, ReadOnlyMemory<byte> value, ExpiryRule expiry)
    {
        if (flags == 0)
        {
            await store.WriteAsync(WriteRequest.Delete(FlagsKey(key))).ConfigureAwait(false);
            return;
        }

        var record = new byte[FlagsRecordBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(record, flags);
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(4), ValueHash(value.Span));
        await store.WriteAsync(WriteRequest.Set(FlagsKey(key), record, SetCondition.Always, expiry)).ConfigureAwait(false);
    }

    /// <summary>
    /// After a write that changed <paramref name="key"/>'s value in place (append, prepend, incr, decr), moves its flags from
    /// the old value to the new one, keeping the side key's expiry.
    /// </summary>
    public static async ValueTask CarryFlagsAsync(IKeyValueStore store, byte[] key, byte[] oldValue, byte[] newValue)
    {
        var flags = await ReadFlagsAsync(store, key, oldValue).ConfigureAwait(false);
        if (flags != 0)
        {
            await WriteFlagsAsync(store, key, flags, newValue, ExpiryRule.Keep).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes <paramref name="key"/>'s side key (after the item's delete).</summary>
    public static ValueTask<WriteResult> DeleteFlagsAsync(IKeyValueStore store, byte[] key) => store.WriteAsync(WriteRequest.Delete(FlagsKey(key)));

    /// <summary>Changes the side key's expiry along with the item's (touch, gat).</summary>
    public static ValueTask<WriteResult> ExpireFlagsAsync(IKeyValueStore store, byte[] key, ExpiryRule rule) => store.WriteAsync(WriteRequest.Expire(FlagsKey(key), rule));
}
