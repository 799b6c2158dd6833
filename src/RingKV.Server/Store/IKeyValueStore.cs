using System;
using System.Buffers;
using System.Collections.Generic;
using RingKV.Core.Versioning;

namespace RingKV.Server.Store;

/// <summary>Condition of a plain SET.</summary>
internal enum SetCondition
{
    /// <summary>Always write.</summary>
    Always,

    /// <summary>Only when the key does not exist (NX).</summary>
    IfAbsent,

    /// <summary>Only when the key exists (XX).</summary>
    IfPresent,
}

/// <summary>What a SET does with the key's time to live.</summary>
/// <param name="Keep">Keep the current expiry (KEEPTTL).</param>
/// <param name="ExpiresAtUnixMs">The new expiry, 0 for none (ignored with <paramref name="Keep"/>); at most the end of year 9999, the last time the engine stores.</param>
internal readonly record struct ExpiryChange(bool Keep, long ExpiresAtUnixMs)
{
    public static ExpiryChange None => new(false, 0);
}

/// <summary>A key's sibling set as KV.GET shows it.</summary>
internal sealed record VersionedRead(byte[] Context, IReadOnlyList<Sibling> Siblings);

/// <summary>The data the command layer reads and writes: the local engine on one node, the coordinator in a cluster.</summary>
/// <remarks>
/// Thread-safe. Plain operations (Redis commands) see the winning sibling only and write with the full
/// causal context of what they replace, so they never create siblings. Versioned operations (KV.*) see
/// and create siblings. Times are Unix milliseconds.
/// </remarks>
internal interface IKeyValueStore : IDisposable
{
    /// <summary>Writes the winning value of a live key; false when absent, deleted or expired.</summary>
    bool TryGet(ReadOnlySpan<byte> key, IBufferWriter<byte> value);

    /// <summary>True when the key is live, with its expiry (0 = none).</summary>
    bool TryGetExpiry(ReadOnlySpan<byte> key, out long expiresAtUnixMs);

    /// <summary>Plain SET; returns whether it wrote. <paramref name="previous"/> receives the old value when given and present.</summary>
    bool Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, SetCondition condition, ExpiryChange expiry, IBufferWriter<byte>? previous, out bool hadPrevious);

    /// <summary>
    /// Plain SETs without options, in order, applied as one atomic write (MSET, pipelined SETs). <paramref name="items"/>
    /// index into <paramref name="bytes"/>. With <paramref name="onlyIfNoneExist"/> (MSETNX) nothing is written when any
    /// key is live; returns whether it wrote.
    /// </summary>
    bool SetMany(ReadOnlySpan<byte> bytes, IReadOnlyList<(int KeyAt, int KeyLength, int ValueAt, int ValueLength)> items, bool onlyIfNoneExist = false);

    /// <summary>Deletes a live key; returns whether it existed.</summary>
    bool Delete(ReadOnlySpan<byte> key);

    /// <summary>Atomically reads the live value of a key into <paramref name="value"/> and deletes the key (GETDEL).</summary>
    bool GetAndDelete(ReadOnlySpan<byte> key, IBufferWriter<byte> value);

    /// <summary>
    /// Atomically decides a live key's new expiry from its current one (0 = none): <paramref name="decide"/> returns
    /// null to leave it, 0 to persist, a time in the past to delete. Returns -1 when the key is absent, 0 when left, 1 when changed.
    /// <paramref name="value"/>, when given, receives the value read (GETEX).
    /// </summary>
    int UpdateExpiry(ReadOnlySpan<byte> key, Func<long, long?> decide, IBufferWriter<byte>? value = null);

    /// <summary>Every sibling and the causal context; null when the key has no siblings.</summary>
    VersionedRead? GetVersioned(ReadOnlySpan<byte> key);

    /// <summary>Writes a value that supersedes what <paramref name="context"/> saw (empty: concurrent with everything).</summary>
    void PutVersioned(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, VersionVector context);

    /// <summary>Deletes what <paramref name="context"/> saw; concurrent siblings survive.</summary>
    void DeleteVersioned(ReadOnlySpan<byte> key, VersionVector context);

    /// <summary>
    /// The live keys from <paramref name="cursor"/> on that <paramref name="filter"/> accepts (all when null); returns the
    /// next cursor, 0 at the end. A call examines about <paramref name="count"/> stored keys, fewer when the filter's work
    /// reaches <paramref name="workBudget"/>, and stops only between tokens, so a full scan with no writes meanwhile
    /// returns every live key exactly once.
    /// </summary>
    ulong Scan(ulong cursor, int count, long workBudget, ScanFilter? filter, List<byte[]> keys);

    /// <summary>Live keys, how many of them expire, and their average time left in milliseconds (0 when none).</summary>
    KeyCounts CountKeys();

    /// <summary>Removes every key.</summary>
    void FlushAll();
}

/// <summary>Whether SCAN returns <paramref name="key"/>; adds the work spent deciding (glob steps) to <paramref name="work"/>.</summary>
internal delegate bool ScanFilter(ReadOnlySpan<byte> key, ref long work);

/// <summary>What INFO keyspace reports: live keys, those with an expiry, and the average time they have left.</summary>
internal readonly record struct KeyCounts(long Keys, long Expires, long AverageTtlMs);
