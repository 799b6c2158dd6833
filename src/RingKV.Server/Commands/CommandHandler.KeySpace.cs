using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using RingKV.Net.Resp;
using RingKV.Server.Store;

namespace RingKV.Server.Commands;

/// <summary>
/// Commands over the keyspace or over two keys: KEYS, RANDOMKEY, RENAME, RENAMENX, COPY, and the per-key introspection
/// OBJECT and MEMORY USAGE.
/// </summary>
/// <remarks>
/// RENAME, RENAMENX and COPY are two plain writes (the destination first, then, for the renames, the source's delete):
/// in a cluster the two keys live on different replicas, so no single write can cover both; on one node they are two
/// engine writes. A crash or a failure between the two leaves both keys, never neither (docs/consistency.md).
/// </remarks>
internal sealed partial class CommandHandler
{
    /// <summary>Keys one KEYS step asks the store for: big steps, since KEYS walks the whole keyspace anyway.</summary>
    private const int KeysStep = 4096;

    /// <summary>Scan steps RANDOMKEY takes before it answers nil: past tombstones and expired keys at its random token.</summary>
    private const int RandomKeySteps = 64;

    /// <summary>KEYS pattern: every live key the pattern matches, over the whole keyspace (every node's ranges in a cluster), as SCAN walks it.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> Keys(RespCommand c, RespWriter w)
    {
        var pattern = Glob.Compile(c[1]);
        var keys = new List<byte[]>();
        ulong cursor = 0;
        do
        {
            var request = new ScanRequest(cursor, KeysStep, pattern.MatchesEverything ? null : pattern, false, KeysStep * ScanWorkPerCount);
            cursor = await _store.ScanAsync(request, keys).ConfigureAwait(false);
            keys.RemoveAll(Memcached.MemcachedItems.IsSideKey); // memcached flags live beside their items, not as keys
        }
        while (cursor != 0);

        w.WriteArrayHeader(keys.Count);
        foreach (var key in keys)
        {
            w.WriteBulkString(key);
        }

        return RespAction.Continue;
    }

    /// <summary>
    /// RANDOMKEY: the first live key at or after a random token (wrapping to the start once), nil when there is none.
    /// Keys are placed by hash, so each is about equally likely; a key after a wide gap between tokens more so.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> RandomKey(RespWriter w)
    {
        var keys = new List<byte[]>(1);
        var cursor = (ulong)Random.Shared.NextInt64() | ((ulong)Random.Shared.Next(2) << 63);
        var wrapped = false;
        for (var step = 0; step < RandomKeySteps && keys.Count == 0; step++)
        {
            cursor = await _store.ScanAsync(new ScanRequest(cursor, 1), keys).ConfigureAwait(false);
            keys.RemoveAll(Memcached.MemcachedItems.IsSideKey); // memcached flags live beside their items, not as keys
            if (cursor == 0)
            {
                if (wrapped)
                {
                    break;
                }

                wrapped = true;
            }
        }

        if (keys.Count == 0)
        {
            w.WriteNull();
        }
        else
        {
            w.WriteBulkString(keys[0]);
        }

        return RespAction.Continue;
    }

    /// <summary>RENAME and RENAMENX: the source's value and expiry written to the destination, then the source deleted.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> Rename(RespCommand c, RespWriter w, bool onlyIfAbsent)
    {
        if (!CheckKeys(c, w, 1))
        {
            return RespAction.Continue;
        }

        var value = RentBuffer();
        try
        {
            var read = await _store.ReadAsync(new ReadRequest(c.GetMemory(1), value, _session.ReadConsistency)).ConfigureAwait(false);
            if (!read.Found)
            {
                w.WriteError("ERR no such key"u8);
                return RespAction.Continue;
            }

            if (c[1].SequenceEqual(c[2]))
            {
                // Redis: renaming a key onto itself changes nothing; RENAMENX then answers 0 (the destination exists).
                WriteRenamed(w, onlyIfAbsent, renamed: !onlyIfAbsent);
                return RespAction.Continue;
            }

            var expiry = read.ExpiresAtUnixMs == 0 ? ExpiryRule.Clear : ExpiryRule.At(read.ExpiresAtUnixMs);
            var condition = onlyIfAbsent ? SetCondition.IfAbsent : SetCondition.Always;
            var written = await _store.WriteAsync(WriteRequest.Set(c.GetMemory(2), value.WrittenMemory, condition, expiry, null, _session.WriteConsistency)).ConfigureAwait(false);
            if (written.Applied)
            {
                await _store.WriteAsync(WriteRequest.Delete(c.GetMemory(1), null, _session.WriteConsistency)).ConfigureAwait(false);
            }

            WriteRenamed(w, onlyIfAbsent, written.Applied);
        }
        finally
        {
            ReturnBuffer(value);
        }

        return RespAction.Continue;
    }

    private static void WriteRenamed(RespWriter w, bool integerReply, bool renamed)
    {
        if (integerReply)
        {
            w.WriteInteger(renamed ? 1 : 0);
        }
        else
        {
            w.WriteOk();
        }
    }

    /// <summary>COPY source destination [DB 0] [REPLACE]: the source's value and expiry written to the destination; 1 when copied.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> Copy(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]) || !CheckSizes(w, c[2]))
        {
            return RespAction.Continue;
        }

        var replace = false;
        for (var i = 3; i < c.Count; i++)
        {
            if (c.ArgumentEquals(i, "REPLACE"u8))
            {
                replace = true;
            }
            else if (c.ArgumentEquals(i, "DB"u8) && i + 1 < c.Count)
            {
                if (!c.TryGetInt64(++i, out var db))
                {
                    w.WriteError(RespErrors.NotInteger);
                    return RespAction.Continue;
                }

                if (db != 0)
                {
                    w.WriteError("ERR DB index is out of range"u8);
                    return RespAction.Continue;
                }
            }
            else
            {
                w.WriteError(RespErrors.Syntax);
                return RespAction.Continue;
            }
        }

        if (c[1].SequenceEqual(c[2]))
        {
            w.WriteError("ERR source and destination objects are the same"u8);
            return RespAction.Continue;
        }

        var value = RentBuffer();
        try
        {
            var read = await _store.ReadAsync(new ReadRequest(c.GetMemory(1), value, _session.ReadConsistency)).ConfigureAwait(false);
            if (!read.Found)
            {
                w.WriteInteger(0);
                return RespAction.Continue;
            }

            var expiry = read.ExpiresAtUnixMs == 0 ? ExpiryRule.Clear : ExpiryRule.At(read.ExpiresAtUnixMs);
            var written = await _store.WriteAsync(WriteRequest.Set(c.GetMemory(2), value.WrittenMemory, replace ? SetCondition.Always : SetCondition.IfAbsent, expiry, null, _session.WriteConsistency)).ConfigureAwait(false);
            w.WriteInteger(written.Applied ? 1 : 0);
        }
        finally
        {
            ReturnBuffer(value);
        }

        return RespAction.Continue;
    }

    private static readonly string[] ObjectHelp =
    [
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation Redis would use for the value stored at <key>",
        "    (int, embstr or raw).",
        "FREQ <key>",
        "    Not tracked by RingKV (no LFU eviction): an error.",
        "IDLETIME <key>",
        "    Not tracked by RingKV (no LRU eviction): an error.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified key (always 1).",
        "HELP",
        "    Print this help.",
    ];

    /// <summary>
    /// OBJECT ENCODING, REFCOUNT, FREQ, IDLETIME, HELP. ENCODING answers Redis's name for how it would hold the string
    /// (int: a decimal of a 64-bit integer in at most 20 characters; embstr: at most 44 bytes; raw), so clients that branch
    /// on it behave as with Redis. RingKV keeps no access times or frequencies: FREQ and IDLETIME say so.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> Object(RespCommand c, RespWriter w)
    {
        if (c.ArgumentEquals(1, "HELP"u8) && c.Count == 2)
        {
            WriteHelp(w, ObjectHelp);
            return RespAction.Continue;
        }

        var encoding = c.ArgumentEquals(1, "ENCODING"u8);
        var refcount = c.ArgumentEquals(1, "REFCOUNT"u8);
        var untracked = c.ArgumentEquals(1, "FREQ"u8) || c.ArgumentEquals(1, "IDLETIME"u8);
        if (!(encoding || refcount || untracked) || c.Count != 3)
        {
            UnknownSubcommand(c, w);
            return RespAction.Continue;
        }

        if (!CheckSizes(w, c[2]))
        {
            return RespAction.Continue;
        }

        var value = RentBuffer();
        try
        {
            var read = await _store.ReadAsync(new ReadRequest(c.GetMemory(2), value, _session.ReadConsistency)).ConfigureAwait(false);
            if (!read.Found)
            {
                w.WriteNull();
            }
            else if (untracked)
            {
                w.WriteError($"ERR RingKV does not track access {(c.ArgumentEquals(1, "FREQ"u8) ? "frequencies (no LFU eviction)" : "times (no LRU eviction)")}");
            }
            else if (refcount)
            {
                w.WriteInteger(1);
            }
            else
            {
                w.WriteBulkString(StringEncoding(value.WrittenSpan));
            }
        }
        finally
        {
            ReturnBuffer(value);
        }

        return RespAction.Continue;
    }

    /// <summary>Redis's string encoding for <paramref name="value"/> (object.c's tryObjectEncoding): int, embstr or raw.</summary>
    internal static ReadOnlySpan<byte> StringEncoding(ReadOnlySpan<byte> value)
    {
        if (value.Length is > 0 and <= 20 && IsCanonicalInt64(value))
        {
            return "int"u8;
        }

        return value.Length <= 44 ? "embstr"u8 : "raw"u8;
    }

    /// <summary>Whether <paramref name="value"/> is a 64-bit integer written as Redis writes it: no sign but '-', no leading zeros, no spaces.</summary>
    internal static bool IsCanonicalInt64(ReadOnlySpan<byte> value)
    {
        if (!long.TryParse(value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        Span<byte> canonical = stackalloc byte[20];
        return number.TryFormat(canonical, out var written, default, System.Globalization.CultureInfo.InvariantCulture) && canonical[..written].SequenceEqual(value);
    }

    private static readonly string[] MemoryHelp =
    [
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "USAGE <key> [SAMPLES <count>]",
        "    Return the bytes the key and its value take in the storage engine, uncompressed, with their record header.",
        "HELP",
        "    Print this help.",
    ];

    /// <summary>The bytes a record carries beside its key and value: its sibling-set header, one dot and a stamp, and the engine's record header.</summary>
    private const int RecordOverheadBytes = 48;

    /// <summary>
    /// MEMORY USAGE key [SAMPLES n]: the key and value bytes plus a fixed record overhead (sibling-set header, dot, stamp,
    /// engine header), uncompressed; nil for no key. RingKV keeps most data on disk, so this is what the key costs to
    /// store and cache, not the resident memory Redis reports.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> Memory(RespCommand c, RespWriter w)
    {
        if (c.ArgumentEquals(1, "HELP"u8) && c.Count == 2)
        {
            WriteHelp(w, MemoryHelp);
            return RespAction.Continue;
        }

        if (!c.ArgumentEquals(1, "USAGE"u8) || c.Count < 3)
        {
            UnknownSubcommand(c, w);
            return RespAction.Continue;
        }

        if (c.Count != 3 && !(c.Count == 5 && c.ArgumentEquals(3, "SAMPLES"u8)))
        {
            w.WriteError(RespErrors.Syntax);
            return RespAction.Continue;
        }

        if (c.Count == 5 && (!c.TryGetInt64(4, out var samples) || samples < 0))
        {
            w.WriteError(RespErrors.NotInteger);
            return RespAction.Continue;
        }

        if (!CheckSizes(w, c[2]))
        {
            return RespAction.Continue;
        }

        var value = RentBuffer();
        try
        {
            var read = await _store.ReadAsync(new ReadRequest(c.GetMemory(2), value, _session.ReadConsistency)).ConfigureAwait(false);
            if (read.Found)
            {
                w.WriteInteger(c[2].Length + value.WrittenCount + RecordOverheadBytes);
            }
            else
            {
                w.WriteNull();
            }
        }
        finally
        {
            ReturnBuffer(value);
        }

        return RespAction.Continue;
    }
}
