using System;
using System.Buffers.Text;
using System.Threading.Tasks;
using RingKV.Core.Consistency;
using RingKV.Core.Versioning;
using RingKV.Net.Resp;

namespace RingKV.Server.Commands;

internal sealed partial class CommandHandler
{
    /// <summary>KV.GET key → [context, [value or nil per sibling]]; nil when the key has no siblings.</summary>
    /// <remarks>The context is base64 text so it can be copied from redis-cli into KV.PUT … CONTEXT.</remarks>
    internal async ValueTask<RespAction> KvGet(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]) || !TryOptions(c, 2, w, allowContext: false, out _, out _, out var level, allowRepair: true))
        {
            return RespAction.Continue;
        }

        var read = await _store.ReadVersionedAsync(c.GetMemory(1), level.IsDefault ? _session.ReadConsistency : level).ConfigureAwait(false);
        if (read is null)
        {
            w.WriteNullArray();
            return RespAction.Continue;
        }

        w.WriteArrayHeader(2);
        WriteContext(w, read.Context);
        w.WriteArrayHeader(read.Siblings.Count);
        foreach (var sibling in read.Siblings)
        {
            if (sibling.IsTombstone)
            {
                w.WriteNull();
            }
            else
            {
                w.WriteBulkString(sibling.Value.Span);
            }
        }

        return RespAction.Continue;
    }

    /// <summary>KV.PUT key value [CONTEXT ctx]: without a context the write is concurrent with what exists.</summary>
    internal async ValueTask<RespAction> KvPut(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1], c[2].Length) || !TryOptions(c, 3, w, allowContext: true, out var context, out _, out var level))
        {
            return RespAction.Continue;
        }

        await _store.PutVersionedAsync(c.GetMemory(1), c.GetMemory(2), context, level.IsDefault ? _session.WriteConsistency : level).ConfigureAwait(false);
        w.WriteOk();
        return RespAction.Continue;
    }

    /// <summary>KV.DEL key [CONTEXT ctx]: deletes what the context saw; without one, every sibling it sees now.</summary>
    internal async ValueTask<RespAction> KvDel(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]) || !TryOptions(c, 2, w, allowContext: true, out var context, out var given, out var level))
        {
            return RespAction.Continue;
        }

        var existed = await _store.DeleteVersionedAsync(c.GetMemory(1), given ? context : null, level.IsDefault ? _session.WriteConsistency : level).ConfigureAwait(false);
        w.WriteInteger(given || existed ? 1 : 0);
        return RespAction.Continue;
    }

    /// <summary>
    /// KV.CONSISTENCY [READ level] [WRITE level]: sets this connection's levels for the plain commands (GET, SET, DEL, ...);
    /// with no argument, answers the levels in force ([READ, level, WRITE, level]; DEFAULT: the node's --read/--write).
    /// </summary>
    internal RespAction KvConsistency(RespCommand c, RespWriter w)
    {
        ConsistencyLevel read = _session.ReadConsistency, write = _session.WriteConsistency;
        for (var i = 1; i < c.Count; i += 2)
        {
            var isRead = c.ArgumentEquals(i, "READ"u8);
            if ((!isRead && !c.ArgumentEquals(i, "WRITE"u8)) || i + 1 >= c.Count)
            {
                w.WriteError(RespErrors.Syntax);
                return RespAction.Continue;
            }

            if (!TryQualifiedLevel(c, i + 1, allowRepair: isRead, out var level, out var used))
            {
                w.WriteError("ERR invalid consistency level: expected ONE, TWO, THREE, QUORUM, LOCAL_QUORUM, EACH_QUORUM, ALL or a number of replicas, then STRICT (and for READ, REPAIR) if wanted"u8);
                return RespAction.Continue;
            }

            i += used - 1;

            if (isRead)
            {
                read = level;
            }
            else
            {
                write = level;
            }
        }

        if (c.Count == 1)
        {
            w.WriteArrayHeader(4);
            w.WriteBulkString("READ"u8);
            w.WriteBulkString(System.Text.Encoding.UTF8.GetBytes(read.IsDefault ? "DEFAULT" : read.ToString()));
            w.WriteBulkString("WRITE"u8);
            w.WriteBulkString(System.Text.Encoding.UTF8.GetBytes(write.IsDefault ? "DEFAULT" : write.ToString()));
            return RespAction.Continue;
        }

        _session.ReadConsistency = read;
        _session.WriteConsistency = write;
        w.WriteOk();
        return RespAction.Continue;
    }

    /// <summary>
    /// A level at <paramref name="at"/> and the qualifiers after it: STRICT, and REPAIR when <paramref name="allowRepair"/>,
    /// each at most once, in either order; <paramref name="used"/>: the arguments taken. False when the level does not parse.
    /// </summary>
    private static bool TryQualifiedLevel(RespCommand c, int at, bool allowRepair, out ConsistencyLevel level, out int used)
    {
        used = 0;
        if (at >= c.Count || !ConsistencyLevel.TryParse(c[at], out level))
        {
            level = default;
            return false;
        }

        used = 1;
        while (at + used < c.Count)
        {
            if (!level.Strict && c.ArgumentEquals(at + used, "STRICT"u8))
            {
                level = level.AsStrict();
            }
            else if (allowRepair && !level.Repair && c.ArgumentEquals(at + used, "REPAIR"u8))
            {
                level = level.AsRepair();
            }
            else
            {
                break;
            }

            used++;
        }

        return true;
    }

    private static void WriteContext(RespWriter w, byte[] context)
    {
        Span<byte> text = stackalloc byte[Base64.GetMaxEncodedToUtf8Length(context.Length)];
        Base64.EncodeToUtf8(context, text, out _, out var written);
        w.WriteBulkString(text[..written]);
    }

    /// <summary>
    /// Reads the optional <c>CONTEXT ctx</c> and <c>CONSISTENCY level</c> pairs from <paramref name="at"/> on, in either
    /// order; writes the error when one is malformed, repeated or not allowed, or when a context is from before contexts
    /// named their key or names another key than the command's (c[1]).
    /// </summary>
    /// <remarks>The level may be followed by STRICT (strict quorum) and, for a read (<paramref name="allowRepair"/>), REPAIR.</remarks>
    private static bool TryOptions(RespCommand c, int at, RespWriter w, bool allowContext, out VersionVector context, out bool given, out ConsistencyLevel level, bool allowRepair = false)
    {
        context = VersionVector.Empty;
        given = false;
        level = default;
        for (var i = at; i < c.Count; i += 2)
        {
            if (i + 1 >= c.Count)
            {
                w.WriteError(RespErrors.Syntax);
                return false;
            }

            if (c.ArgumentEquals(i, "CONSISTENCY"u8) && level.IsDefault)
            {
                if (!TryQualifiedLevel(c, i + 1, allowRepair, out level, out var used))
                {
                    w.WriteError(allowRepair
                        ? "ERR invalid CONSISTENCY: expected ONE, TWO, THREE, QUORUM, LOCAL_QUORUM, EACH_QUORUM, ALL or a number of replicas, then STRICT or REPAIR if wanted"u8
                        : "ERR invalid CONSISTENCY: expected ONE, TWO, THREE, QUORUM, LOCAL_QUORUM, EACH_QUORUM, ALL or a number of replicas, then STRICT if wanted"u8);
                    return false;
                }

                i += used - 1;
            }
            else if (allowContext && !given && c.ArgumentEquals(i, "CONTEXT"u8))
            {
                if (!TryContext(c, i + 1, w, out context))
                {
                    return false;
                }

                given = true;
            }
            else
            {
                w.WriteError(RespErrors.Syntax);
                return false;
            }
        }

        return true;
    }

    /// <summary>Decodes the context argument at <paramref name="at"/>; writes the error when it is not one KV.GET gave for c[1].</summary>
    private static bool TryContext(RespCommand c, int at, RespWriter w, out VersionVector context)
    {
        context = VersionVector.Empty;
        var text = c[at];
        var bytes = new byte[Base64.GetMaxDecodedFromUtf8Length(text.Length)];
        if (Base64.DecodeFromUtf8(text, bytes, out _, out var length) != System.Buffers.OperationStatus.Done
            || !SiblingSet.TryDecodeContext(bytes.AsSpan(0, length), out var decoded, out var keyTag, out _))
        {
            w.WriteError("ERR invalid CONTEXT: pass the context KV.GET returned, unchanged"u8);
            return false;
        }

        if (keyTag is null)
        {
            // A version-1 context names no key, so it cannot be checked: read again rather than risk another key's context.
            w.WriteError("ERR CONTEXT is from an older RingKV and names no key: read the key again with KV.GET"u8);
            return false;
        }

        if (keyTag != SiblingSet.ContextKeyTag(c[1]))
        {
            w.WriteError("ERR CONTEXT was read from another key: pass the context KV.GET returned for this key"u8);
            return false;
        }

        context = decoded;
        return true;
    }
}
