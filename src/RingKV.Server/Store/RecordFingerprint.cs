using System;
using System.IO.Hashing;
using System.Threading.Tasks;
using RingKV.Core.Consistency;

namespace RingKV.Server.Store;

/// <summary>A 64-bit hash of what a read sees of one key: WATCH's fingerprint and memcached's CAS unique.</summary>
internal static class RecordFingerprint
{
    /// <summary>
    /// What the read level sees of <paramref name="key"/>, hashed: each sibling's dot, stamp, kind and value, and the
    /// expiry; 0 for a key that is not live. Every write mints a new dot or stamp, so any write changes it.
    /// </summary>
    public static async ValueTask<ulong> ComputeAsync(IKeyValueStore store, ReadOnlyMemory<byte> key, ConsistencyLevel consistency)
    {
        var plain = await store.ReadAsync(new ReadRequest(key, null, consistency)).ConfigureAwait(false);
        if (!plain.Found)
        {
            return 0;
        }

        var read = await store.ReadVersionedAsync(key, consistency).ConfigureAwait(false);
        var hash = new XxHash64();
        Span<byte> word = stackalloc byte[8];
        Add(hash, word, plain.ExpiresAtUnixMs);
        foreach (var sibling in read?.Siblings ?? [])
        {
            Add(hash, word, (long)sibling.Dot.Actor);
            Add(hash, word, (long)sibling.Dot.Counter);
            Add(hash, word, sibling.Timestamp.Value);
            Add(hash, word, sibling.IsTombstone ? 1 : 0);
            Add(hash, word, sibling.Value.Length);
            hash.Append(sibling.Value.Span);
        }

        return hash.GetCurrentHashAsUInt64() | 1; // never 0, which means "not live"

        static void Add(XxHash64 hash, Span<byte> word, long value)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(word, value);
            hash.Append(word);
        }
    }
}
