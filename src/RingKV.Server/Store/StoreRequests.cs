using System;
using System.Buffers;
using System.Collections.Generic;
using RingKV.Core.Consistency;
using RingKV.Core.Versioning;

namespace RingKV.Server.Store;

/// <summary>Condition of a plain SET.</summary>
internal enum SetCondition : byte
{
    /// <summary>Always write.</summary>
    Always,

    /// <summary>Only when the key does not exist (NX).</summary>
    IfAbsent,

    /// <summary>Only when the key exists (XX).</summary>
    IfPresent,
}

/// <summary>What a write does with the key's expiry.</summary>
internal enum ExpiryMode : byte
{
    /// <summary>No expiry after the write (a plain SET; PERSIST).</summary>
    Clear,

    /// <summary>Keep the expiry the key has (KEEPTTL; GETEX without options).</summary>
    Keep,

    /// <summary>Expire at <see cref="ExpiryRule.AtUnixMs"/>; a time not in the future deletes the key, as in Redis.</summary>
    At,
}

/// <summary>When an expiry change applies, judged against the key's current expiry (none counts as infinite, as in Redis); flags combine (XX GT).</summary>
[System.Flags]
internal enum ExpiryCondition : byte
{
    /// <summary>Always.</summary>
    Always = 0,

    /// <summary>Only when the key has no expiry (NX).</summary>
    IfNone = 1,

    /// <summary>Only when the key has an expiry (XX; PERSIST).</summary>
    IfAny = 2,

    /// <summary>Only when the new expiry is later than the current one (GT).</summary>
    IfLater = 4,

    /// <summary>Only when the new expiry is earlier than the current one (LT).</summary>
    IfEarlier = 8,
}

/// <summary>A write's expiry rule: what the key's expiry becomes, and when the change applies.</summary>
internal readonly record struct ExpiryRule(ExpiryMode Mode, long AtUnixMs = 0, ExpiryCondition Condition = ExpiryCondition.Always)
{
    /// <summary>No expiry.</summary>
    public static ExpiryRule Clear => new(ExpiryMode.Clear);

    /// <summary>The expiry stays as it is.</summary>
    public static ExpiryRule Keep => new(ExpiryMode.Keep);

    /// <summary>Expires at <paramref name="unixMs"/> when <paramref name="condition"/> holds.</summary>
    public static ExpiryRule At(long unixMs, ExpiryCondition condition = ExpiryCondition.Always) => new(ExpiryMode.At, unixMs, condition);

    /// <summary>Whether the rule applies to a key whose expiry is <paramref name="currentUnixMs"/> (0: none, an infinite TTL).</summary>
    public bool AppliesTo(long currentUnixMs) =>
        (!Condition.HasFlag(ExpiryCondition.IfNone) || currentUnixMs == 0)
        && (!Condition.HasFlag(ExpiryCondition.IfAny) || currentUnixMs != 0)
        && (!Condition.HasFlag(ExpiryCondition.IfLater) || (currentUnixMs != 0 && AtUnixMs > currentUnixMs))
        && (!Condition.HasFlag(ExpiryCondition.IfEarlier) || currentUnixMs == 0 || AtUnixMs < currentUnixMs);

    /// <summary>The expiry after the rule, given the current one (0: none).</summary>
    public long Resolve(long currentUnixMs) => Mode switch
    {
        ExpiryMode.Keep => currentUnixMs,
        ExpiryMode.At => AtUnixMs,
        _ => 0,
    };
}

/// <summary>What a plain write does to its key.</summary>
internal enum WriteKind : byte
{
    /// <summary>Store <see cref="WriteRequest.Value"/> (SET and its forms).</summary>
    Set,

    /// <summary>Delete the key (DEL, GETDEL).</summary>
    Delete,

    /// <summary>Change only the expiry (EXPIRE and its forms, PERSIST, GETEX).</summary>
    Expire,

    /// <summary>
    /// Replace the live value (or absence) with what <see cref="WriteRequest.Modifier"/> makes of it, keeping the expiry
    /// (APPEND, SETRANGE, SETBIT): atomic on one node, read then write at the levels in a cluster.
    /// </summary>
    Modify,
}

/// <summary>
/// A read-modify-write of one value: given what the key holds, the value it should hold. Called once per write, inside
/// the store's critical section on a single node (so it must not block or call the store); it keeps whatever its
/// command replies with (a new length, an old bit) in its own fields.
/// </summary>
internal interface IValueModifier
{
    /// <summary>
    /// The new value for a key that holds <paramref name="current"/> (<paramref name="exists"/> false: the key is absent and
    /// <paramref name="current"/> empty), or null to write nothing (the command is refused, or changes nothing).
    /// </summary>
    byte[]? Modify(ReadOnlySpan<byte> current, bool exists);
}

/// <summary>A plain read of one key (GET, EXISTS, TTL, TYPE, each key of MGET).</summary>
/// <param name="Key">The key.</param>
/// <param name="Value">Receives the winning value when the key is live; null when only existence and expiry are wanted.</param>
/// <param name="Consistency">Replicas to read from; default: the store's default.</param>
internal readonly record struct ReadRequest(ReadOnlyMemory<byte> Key, IBufferWriter<byte>? Value = null, ConsistencyLevel Consistency = default);

/// <summary>The outcome of a <see cref="ReadRequest"/>: whether the key is live, and its expiry (0: none).</summary>
internal readonly record struct ReadResult(bool Found, long ExpiresAtUnixMs);

/// <summary>A plain write of one key.</summary>
/// <param name="Key">The key.</param>
/// <param name="Kind">Set, delete, or change the expiry.</param>
/// <param name="Value">The value for <see cref="WriteKind.Set"/>.</param>
/// <param name="Condition">For <see cref="WriteKind.Set"/>: NX or XX.</param>
/// <param name="Expiry">The expiry after a set (Clear, Keep or At), or the change an <see cref="WriteKind.Expire"/> makes, with its condition.</param>
/// <param name="Previous">Receives the live value the write found (SET GET, GETDEL, GETEX), when given.</param>
/// <param name="Consistency">Replicas to write to; default: the store's default.</param>
/// <param name="Modifier">For <see cref="WriteKind.Modify"/>: makes the new value from the current one.</param>
internal readonly record struct WriteRequest(
    ReadOnlyMemory<byte> Key,
    WriteKind Kind,
    ReadOnlyMemory<byte> Value,
    SetCondition Condition,
    ExpiryRule Expiry,
    IBufferWriter<byte>? Previous = null,
    ConsistencyLevel Consistency = default,
    IValueModifier? Modifier = null)
{
    /// <summary>A read-modify-write that keeps the key's expiry (a key it creates has none).</summary>
    public static WriteRequest Modify(ReadOnlyMemory<byte> key, IValueModifier modifier, ConsistencyLevel consistency = default) =>
        new(key, WriteKind.Modify, default, SetCondition.Always, ExpiryRule.Keep, null, consistency, modifier);

    /// <summary>A SET.</summary>
    public static WriteRequest Set(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, SetCondition condition, ExpiryRule expiry, IBufferWriter<byte>? previous = null, ConsistencyLevel consistency = default) =>
        new(key, WriteKind.Set, value, condition, expiry, previous, consistency);

    /// <summary>A DEL (GETDEL with <paramref name="previous"/>).</summary>
    public static WriteRequest Delete(ReadOnlyMemory<byte> key, IBufferWriter<byte>? previous = null, ConsistencyLevel consistency = default) =>
        new(key, WriteKind.Delete, default, SetCondition.Always, ExpiryRule.Keep, previous, consistency);

    /// <summary>An expiry change (GETEX with <paramref name="previous"/>).</summary>
    public static WriteRequest Expire(ReadOnlyMemory<byte> key, ExpiryRule rule, IBufferWriter<byte>? previous = null, ConsistencyLevel consistency = default) =>
        new(key, WriteKind.Expire, default, SetCondition.Always, rule, previous, consistency);
}

/// <summary>
/// The outcome of a <see cref="WriteRequest"/>: <see cref="Applied"/> when it changed the key (a set whose condition held, a
/// delete of a live key, an expiry change whose condition held); <see cref="Existed"/> when the key was live before.
/// </summary>
internal readonly record struct WriteResult(bool Applied, bool Existed);

/// <summary>One pair of an MSET.</summary>
internal readonly record struct KeyValue(ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte> Value);

/// <summary>
/// A SCAN step: from <paramref name="Cursor"/>, the live keys that <paramref name="Pattern"/> matches (all when null; none
/// with <paramref name="MatchNothing"/>, a TYPE that no key has). A step examines about <paramref name="Count"/> stored keys,
/// fewer once the matching's work reaches <paramref name="WorkBudget"/>, and stops only between tokens, so a full scan with
/// no writes meanwhile returns every live key exactly once.
/// </summary>
internal readonly record struct ScanRequest(ulong Cursor, int Count, Commands.Glob? Pattern = null, bool MatchNothing = false, long WorkBudget = long.MaxValue);

/// <summary>A key's sibling set as KV.GET shows it.</summary>
internal sealed record VersionedRead(byte[] Context, IReadOnlyList<Sibling> Siblings);

/// <summary>What INFO keyspace reports: live keys, those with an expiry, and the average time they have left.</summary>
internal readonly record struct KeyCounts(long Keys, long Expires, long AverageTtlMs);
