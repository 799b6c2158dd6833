using System;
using System.Buffers.Text;
using System.Threading.Tasks;
using RingKV.Core.Versioning;
using RingKV.Net.Resp;

namespace RingKV.Server.Commands;

internal sealed partial class CommandHandler
{
    /// <summary>KV.GET key → [context, [value or nil per sibling]]; nil when the key has no siblings.</summary>
    /// <remarks>The context is base64 text so it can be copied from redis-cli into KV.PUT … CONTEXT.</remarks>
    internal async ValueTask<RespAction> KvGet(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        var read = await _node.Store.ReadVersionedAsync(c.GetMemory(1), _session.ReadConsistency).ConfigureAwait(false);
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
        if (!CheckSizes(w, c[1], c[2].Length) || !TryContext(c, 3, w, out var context, out _))
        {
            return RespAction.Continue;
        }

        await _node.Store.PutVersionedAsync(c.GetMemory(1), c.GetMemory(2), context, _session.WriteConsistency).ConfigureAwait(false);
        w.WriteOk();
        return RespAction.Continue;
    }

    /// <summary>KV.DEL key [CONTEXT ctx]: deletes what the context saw; without one, every sibling it sees now.</summary>
    internal async ValueTask<RespAction> KvDel(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]) || !TryContext(c, 2, w, out var context, out var given))
        {
            return RespAction.Continue;
        }

        var existed = await _node.Store.DeleteVersionedAsync(c.GetMemory(1), given ? context : null, _session.WriteConsistency).ConfigureAwait(false);
        w.WriteInteger(given || existed ? 1 : 0);
        return RespAction.Continue;
    }

    private static void WriteContext(RespWriter w, byte[] context)
    {
        Span<byte> text = stackalloc byte[Base64.GetMaxEncodedToUtf8Length(context.Length)];
        Base64.EncodeToUtf8(context, text, out _, out var written);
        w.WriteBulkString(text[..written]);
    }

    /// <summary>
    /// Reads the optional <c>CONTEXT ctx</c> at <paramref name="at"/>; writes the error when it is malformed, from before
    /// contexts named their key, or names another key than the command's (c[1]).
    /// </summary>
    private static bool TryContext(RespCommand c, int at, RespWriter w, out VersionVector context, out bool given)
    {
        context = VersionVector.Empty;
        given = false;
        if (c.Count == at)
        {
            return true;
        }

        if (c.Count != at + 2 || !c.ArgumentEquals(at, "CONTEXT"u8))
        {
            w.WriteError(RespErrors.Syntax);
            return false;
        }

        var text = c[at + 1];
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
        given = true;
        return true;
    }
}
