using System;
using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using RingKV.Server.Store;

namespace RingKV.Server.Memcached;

/// <summary>memcached items over the plain keyspace: the value under its own key, the 32-bit flags beside it.</summary>
/// <remarks>
/// Thread-safe (one per listener; its only state is whether side keys may exist, below).
/// Storage format: an item's value is stored as it is under the item's key, so a Redis GET of a key set through
/// memcached returns the exact value bytes, and a memcached get of a key set through Redis returns them with flags 0.
/// Flags other than 0 live in a side key, <see cref="FlagsPrefixBytes"/> (0xFF 0x00 "mc-flags:") + key, holding 12 bytes: the flags (uint32,
/// little-endian) and the XxHash64 of the value they belong to (uint64, little-endian), with the item's expiry. A read
/// applies the side key's flags only when its hash matches the value found, so a value written since by anything that
/// does not know the flags (a Redis SET, APPEND, INCR) reads with flags 0 instead of stale ones; a set with flags 0
/// deletes the side key (which costs no write when there is none). Rejected alternatives: encoding the flags into the
/// value (a Redis GET would see the header), and encoding only when flags are not 0 (a Redis GET would see the header
/// of those items, and a Redis value that happened to look like one would be misread).
/// The side keys are keys of the keyspace: SCAN, KEYS and RANDOMKEY leave them out, DBSIZE counts them.
/// <para>
/// On a single node, a marker key (the side-key prefix alone: no memcached key is empty) is written before the first
/// side key ever is, so while it is absent no side key exists and the flags are not looked up: a get is one read and a
/// set with flags 0 one write (the side-key read was 10-15% of memcslap's set). The marker is looked up once, at the
/// first command. In a cluster another node may have written side keys: they are always looked up there.
/// </para>
/// </remarks>
internal sealed class MemcachedItems(IKeyValueStore store, bool single)
{
    /// <summary>What a side key's name starts with: 0xFF 0x00 "mc-flags:", away from the names people pick.</summary>
    private static readonly byte[] FlagsPrefixBytes = [0xFF, 0x00, (byte)'m', (byte)'c', (byte)'-', (byte)'f', (byte)'l', (byte)'a', (byte)'g', (byte)'s', (byte)':'];

    private const int FlagsRecordBytes = 12;

    private const int Unknown = 0, NoSideKeys = 1, SideKeysMayExist = 2;

    private static readonly byte[] Marker = "1"u8.ToArray();

    // Unknown until the first command looks the marker up; then NoSideKeys until a side key is first written.
    private volatile int _sideKeys = single ? Unknown : SideKeysMayExist;

    /// <summary>Whether <paramref name="key"/> is a side key or the marker (SCAN, KEYS and RANDOMKEY leave them out).</summary>
    public static bool IsSideKey(byte[] key) => key.AsSpan().StartsWith(FlagsPrefixBytes);

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
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<uint> ReadFlagsAsync(byte[] key, ReadOnlyMemory<byte> value)
    {
        if (!await SideKeysMayExistAsync().ConfigureAwait(false))
        {
            return 0;
        }

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
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WriteFlagsAsync(byte[] key, uint flags, ReadOnlyMemory<byte> value, ExpiryRule expiry)
    {
        var mayExist = await SideKeysMayExistAsync().ConfigureAwait(false);
        if (flags == 0 && !mayExist)
        {
            return; // no side key to remove
        }

        if (flags != 0 && !mayExist)
        {
            // Durable before the side key (one commit log, in order): after a crash a side key never exists without it.
            await store.WriteAsync(WriteRequest.Set(FlagsPrefixBytes, Marker, SetCondition.Always, ExpiryRule.Clear)).ConfigureAwait(false);
            _sideKeys = SideKeysMayExist;
        }

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
    public async ValueTask CarryFlagsAsync(byte[] key, byte[] oldValue, byte[] newValue)
    {
        var flags = await ReadFlagsAsync(key, oldValue).ConfigureAwait(false);
        if (flags != 0)
        {
            await WriteFlagsAsync(key, flags, newValue, ExpiryRule.Keep).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes <paramref name="key"/>'s side key (after the item's delete).</summary>
    public async ValueTask DeleteFlagsAsync(byte[] key)
    {
        if (await SideKeysMayExistAsync().ConfigureAwait(false))
        {
            await store.WriteAsync(WriteRequest.Delete(FlagsKey(key))).ConfigureAwait(false);
        }
    }

    /// <summary>Changes the side key's expiry along with the item's (touch, gat).</summary>
    public async ValueTask ExpireFlagsAsync(byte[] key, ExpiryRule rule)
    {
        if (await SideKeysMayExistAsync().ConfigureAwait(false))
        {
            await store.WriteAsync(WriteRequest.Expire(FlagsKey(key), rule)).ConfigureAwait(false);
        }
    }

    /// <summary>Whether a side key may exist: always in a cluster; on a single node once the marker is there.</summary>
    private ValueTask<bool> SideKeysMayExistAsync() =>
        _sideKeys == Unknown ? LookUpMarkerAsync() : ValueTask.FromResult(_sideKeys == SideKeysMayExist);

    private async ValueTask<bool> LookUpMarkerAsync()
    {
        var found = !single || (await store.ReadAsync(new ReadRequest(FlagsPrefixBytes)).ConfigureAwait(false)).Found;
        if (_sideKeys == Unknown)
        {
            _sideKeys = found ? SideKeysMayExist : NoSideKeys;
        }

        return _sideKeys == SideKeysMayExist;
    }
}
