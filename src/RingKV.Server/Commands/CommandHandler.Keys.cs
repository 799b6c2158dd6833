using System;
using System.Collections.Generic;
using RingKV.Net.Resp;
using RingKV.Server.Store;

namespace RingKV.Server.Commands;

internal sealed partial class CommandHandler
{
    private readonly List<byte[]> _scanKeys = [];

    private long NowMs => _node.Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Checks key and value sizes against the node's limits; writes the error when over.</summary>
    private bool CheckSizes(RespWriter w, ReadOnlySpan<byte> key, int valueLength = 0)
    {
        if (key.Length > _node.Options.MaxKeyBytes)
        {
            w.WriteError($"ERR key of {key.Length} bytes exceeds max-key-bytes {_node.Options.MaxKeyBytes}");
            return false;
        }

        if (key.IsEmpty)
        {
            w.WriteError("ERR empty keys are not supported"u8);
            return false;
        }

        if (valueLength > _node.Options.MaxValueBytes)
        {
            w.WriteError($"ERR value of {valueLength} bytes exceeds max-value-bytes {_node.Options.MaxValueBytes}");
            return false;
        }

        return true;
    }

    private RespAction Get(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        _value.ResetWrittenCount();
        if (_node.Store.TryGet(c[1], _value))
        {
            w.WriteBulkString(_value.WrittenSpan);
        }
        else
        {
            w.WriteNull();
        }

        return RespAction.Continue;
    }

    private RespAction Set(RespCommand c, RespWriter w)
    {
        var key = c[1];
        var value = c[2];
        if (!CheckSizes(w, key, value.Length))
        {
            return RespAction.Continue;
        }

        var condition = SetCondition.Always;
        var expiry = ExpiryChange.None;
        var returnOld = false;
        var sawExpiry = false;
        for (var i = 3; i < c.Count; i++)
        {
            if (c.ArgumentEquals(i, "NX"u8) && condition == SetCondition.Always)
            {
                condition = SetCondition.IfAbsent;
            }
            else if (c.ArgumentEquals(i, "XX"u8) && condition == SetCondition.Always)
            {
                condition = SetCondition.IfPresent;
            }
            else if (c.ArgumentEquals(i, "GET"u8))
            {
                returnOld = true;
            }
            else if (c.ArgumentEquals(i, "KEEPTTL"u8) && !sawExpiry)
            {
                sawExpiry = true;
                expiry = new ExpiryChange(true, 0);
            }
            else if (!sawExpiry && i + 1 < c.Count && TryExpiryOption(c, i, out var unitMs, out var absolute))
            {
                sawExpiry = true;
                if (!c.TryGetInt64(i + 1, out var amount))
                {
                    w.WriteError(RespErrors.NotInteger);
                    return RespAction.Continue;
                }

                if (!TryExpiryTime(amount, unitMs, absolute, out var at))
                {
                    w.WriteError("ERR invalid expire time in 'set' command"u8);
                    return RespAction.Continue;
                }

                expiry = new ExpiryChange(false, at);
                i++;
            }
            else
            {
                w.WriteError(RespErrors.Syntax);
                return RespAction.Continue;
            }
        }

        _value.ResetWrittenCount();
        var written = _node.Store.Set(key, value, condition, expiry, returnOld ? _value : null, out var hadPrevious);
        if (returnOld)
        {
            if (hadPrevious)
            {
                w.WriteBulkString(_value.WrittenSpan);
            }
            else
            {
                w.WriteNull();
            }
        }
        else if (written)
        {
            w.WriteOk();
        }
        else
        {
            w.WriteNull();
        }

        return RespAction.Continue;
    }

    /// <summary>SETNX key value: StackExchange.Redis sends it for a SET with When.NotExists and no expiry.</summary>
    private RespAction SetNx(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1], c[2].Length))
        {
            return RespAction.Continue;
        }

        var written = _node.Store.Set(c[1], c[2], SetCondition.IfAbsent, ExpiryChange.None, null, out _);
        w.WriteInteger(written ? 1 : 0);
        return RespAction.Continue;
    }

    /// <summary>SETEX key seconds value and PSETEX key milliseconds value: StackExchange.Redis sends them for a SET with an expiry.</summary>
    private RespAction SetEx(RespCommand c, RespWriter w, long unitMs)
    {
        if (!CheckSizes(w, c[1], c[3].Length))
        {
            return RespAction.Continue;
        }

        if (!c.TryGetInt64(2, out var amount))
        {
            w.WriteError(RespErrors.NotInteger);
            return RespAction.Continue;
        }

        if (!TryExpiryTime(amount, unitMs, absolute: false, out var at))
        {
            w.WriteError($"ERR invalid expire time in '{Lower(c[0])}' command");
            return RespAction.Continue;
        }

        _node.Store.Set(c[1], c[3], SetCondition.Always, new ExpiryChange(false, at), null, out _);
        w.WriteOk();
        return RespAction.Continue;
    }

    private static bool TryExpiryOption(RespCommand c, int i, out long unitMs, out bool absolute)
    {
        (unitMs, absolute) = c.ArgumentEquals(i, "EX"u8) ? (1000L, false)
            : c.ArgumentEquals(i, "PX"u8) ? (1L, false)
            : c.ArgumentEquals(i, "EXAT"u8) ? (1000L, true)
            : c.ArgumentEquals(i, "PXAT"u8) ? (1L, true)
            : (0L, false);
        return unitMs != 0;
    }

    /// <summary>An expiry in Unix ms from a relative or absolute amount; false when not positive or overflowing.</summary>
    private bool TryExpiryTime(long amount, long unitMs, bool absolute, out long atUnixMs)
    {
        atUnixMs = 0;
        if (amount <= 0 || amount > long.MaxValue / unitMs)
        {
            return false;
        }

        var ms = amount * unitMs;
        if (absolute)
        {
            atUnixMs = ms;
            return true;
        }

        if (ms > long.MaxValue - NowMs)
        {
            return false;
        }

        atUnixMs = NowMs + ms;
        return true;
    }

    private RespAction MGet(RespCommand c, RespWriter w)
    {
        w.WriteArrayHeader(c.Count - 1);
        for (var i = 1; i < c.Count; i++)
        {
            _value.ResetWrittenCount();
            if (c[i].Length <= _node.Options.MaxKeyBytes && !c[i].IsEmpty && _node.Store.TryGet(c[i], _value))
            {
                w.WriteBulkString(_value.WrittenSpan);
            }
            else
            {
                w.WriteNull();
            }
        }

        return RespAction.Continue;
    }

    private RespAction MSet(RespCommand c, RespWriter w, bool onlyIfNoneExist)
    {
        if ((c.Count - 1) % 2 != 0)
        {
            Arity(c, w, int.MaxValue); // Redis says "wrong number of arguments" for an odd pair count
            return RespAction.Continue;
        }

        for (var i = 1; i < c.Count; i += 2)
        {
            if (!CheckSizes(w, c[i], c[i + 1].Length))
            {
                return RespAction.Continue;
            }
        }

        // One atomic write for all pairs (and, for MSETNX, the existence check under the same locks), as in Redis.
        // The pairs are passed where they lie in the request, not copied: a copy doubled what a big MSET costs.
        var items = new List<(int KeyAt, int KeyLength, int ValueAt, int ValueLength)>((c.Count - 1) / 2);
        for (var i = 1; i < c.Count; i += 2)
        {
            items.Add((c.OffsetOf(i), c[i].Length, c.OffsetOf(i + 1), c[i + 1].Length));
        }

        if (!_node.Store.SetMany(c.Source, items, onlyIfNoneExist))
        {
            w.WriteInteger(0);
            return RespAction.Continue;
        }

        if (onlyIfNoneExist)
        {
            w.WriteInteger(1);
        }
        else
        {
            w.WriteOk();
        }

        return RespAction.Continue;
    }

    private RespAction Del(RespCommand c, RespWriter w)
    {
        long deleted = 0;
        for (var i = 1; i < c.Count; i++)
        {
            if (!c[i].IsEmpty && c[i].Length <= _node.Options.MaxKeyBytes && _node.Store.Delete(c[i]))
            {
                deleted++;
            }
        }

        w.WriteInteger(deleted);
        return RespAction.Continue;
    }

    private RespAction Exists(RespCommand c, RespWriter w)
    {
        long found = 0;
        for (var i = 1; i < c.Count; i++)
        {
            if (!c[i].IsEmpty && c[i].Length <= _node.Options.MaxKeyBytes && _node.Store.TryGetExpiry(c[i], out _))
            {
                found++;
            }
        }

        w.WriteInteger(found);
        return RespAction.Continue;
    }

    private RespAction GetDel(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        _value.ResetWrittenCount();
        if (_node.Store.GetAndDelete(c[1], _value))
        {
            w.WriteBulkString(_value.WrittenSpan);
        }
        else
        {
            w.WriteNull();
        }

        return RespAction.Continue;
    }

    private RespAction GetEx(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        long? newExpiry = null;
        if (c.Count == 3 && c.ArgumentEquals(2, "PERSIST"u8))
        {
            newExpiry = 0;
        }
        else if (c.Count == 4 && TryExpiryOption(c, 2, out var unitMs, out var absolute))
        {
            if (!c.TryGetInt64(3, out var amount))
            {
                w.WriteError(RespErrors.NotInteger);
                return RespAction.Continue;
            }

            if (!TryExpiryTime(amount, unitMs, absolute, out var at))
            {
                w.WriteError("ERR invalid expire time in 'getex' command"u8);
                return RespAction.Continue;
            }

            newExpiry = at;
        }
        else if (c.Count != 2)
        {
            w.WriteError(RespErrors.Syntax);
            return RespAction.Continue;
        }

        _value.ResetWrittenCount();
        if (_node.Store.UpdateExpiry(c[1], _ => newExpiry, _value) < 0)
        {
            w.WriteNull();
            return RespAction.Continue;
        }

        w.WriteBulkString(_value.WrittenSpan);
        return RespAction.Continue;
    }

    private RespAction Expire(RespCommand c, RespWriter w, long unitMs, bool absolute)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        if (!c.TryGetInt64(2, out var amount))
        {
            w.WriteError(RespErrors.NotInteger);
            return RespAction.Continue;
        }

        var nx = false;
        var xx = false;
        var gt = false;
        var lt = false;
        for (var i = 3; i < c.Count; i++)
        {
            if (c.ArgumentEquals(i, "NX"u8))
            {
                nx = true;
            }
            else if (c.ArgumentEquals(i, "XX"u8))
            {
                xx = true;
            }
            else if (c.ArgumentEquals(i, "GT"u8))
            {
                gt = true;
            }
            else if (c.ArgumentEquals(i, "LT"u8))
            {
                lt = true;
            }
            else
            {
                w.WriteError($"ERR Unsupported option {Printable(c[i], 64)}");
                return RespAction.Continue;
            }
        }

        if ((nx && (xx || gt || lt)) || (gt && lt))
        {
            w.WriteError("ERR NX and XX, GT or LT options at the same time are not compatible"u8);
            return RespAction.Continue;
        }

        if (amount > long.MaxValue / unitMs || amount < long.MinValue / unitMs)
        {
            w.WriteError($"ERR invalid expire time in '{Lower(c[0])}' command");
            return RespAction.Continue;
        }

        var at = absolute ? amount * unitMs : (amount * unitMs > long.MaxValue - NowMs ? long.MaxValue : NowMs + (amount * unitMs));
        // Decided under the key's lock, so a concurrent SET cannot slip between the check and the change.
        // A key without expiry counts as an infinite TTL for GT and LT, as in Redis; a time in the past deletes.
        var changed = _node.Store.UpdateExpiry(c[1], current =>
        {
            var skip = (nx && current != 0) || (xx && current == 0)
                || (gt && (current == 0 || at <= current)) || (lt && current != 0 && at >= current);
            return skip ? null : Math.Max(at, 1);
        });
        w.WriteInteger(changed > 0 ? 1 : 0);
        return RespAction.Continue;
    }

    private RespAction Ttl(RespCommand c, RespWriter w, long unitMs)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        if (!_node.Store.TryGetExpiry(c[1], out var at))
        {
            w.WriteInteger(-2);
        }
        else if (at == 0)
        {
            w.WriteInteger(-1);
        }
        else
        {
            var left = Math.Max(0, at - NowMs);
            w.WriteInteger(unitMs == 1 ? left : (left + 500) / 1000);
        }

        return RespAction.Continue;
    }

    private RespAction Persist(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        w.WriteInteger(_node.Store.UpdateExpiry(c[1], current => current == 0 ? null : 0) > 0 ? 1 : 0);

        return RespAction.Continue;
    }

    private RespAction TypeOf(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        w.WriteSimpleString(_node.Store.TryGetExpiry(c[1], out _) ? "string"u8 : "none"u8);
        return RespAction.Continue;
    }

    private RespAction Scan(RespCommand c, RespWriter w)
    {
        if (!ulong.TryParse(c[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var cursor))
        {
            w.WriteError("ERR invalid cursor"u8);
            return RespAction.Continue;
        }

        long count = 10;
        byte[]? pattern = null;
        for (var i = 2; i < c.Count; i++)
        {
            if (c.ArgumentEquals(i, "COUNT"u8) && i + 1 < c.Count)
            {
                if (!c.TryGetInt64(i + 1, out count))
                {
                    w.WriteError(RespErrors.NotInteger);
                    return RespAction.Continue;
                }

                if (count < 1)
                {
                    w.WriteError(RespErrors.Syntax);
                    return RespAction.Continue;
                }

                i++;
            }
            else if (c.ArgumentEquals(i, "MATCH"u8) && i + 1 < c.Count)
            {
                pattern = c[i + 1].ToArray();
                i++;
            }
            else if (c.ArgumentEquals(i, "TYPE"u8) && i + 1 < c.Count)
            {
                if (!c.ArgumentEquals(i + 1, "string"u8))
                {
                    pattern = "\u0000no-such-type"u8.ToArray(); // only strings exist here
                }

                i++;
            }
            else
            {
                w.WriteError(RespErrors.Syntax);
                return RespAction.Continue;
            }
        }

        _scanKeys.Clear();
        var next = _node.Store.Scan(cursor, (int)Math.Min(count, 100_000), k => pattern is null || Glob.IsMatch(pattern, k), _scanKeys);
        w.WriteArrayHeader(2);
        Span<byte> digits = stackalloc byte[20];
        next.TryFormat(digits, out var n, default, System.Globalization.CultureInfo.InvariantCulture);
        w.WriteBulkString(digits[..n]);
        w.WriteArrayHeader(_scanKeys.Count);
        foreach (var key in _scanKeys)
        {
            w.WriteBulkString(key);
        }

        return RespAction.Continue;
    }

    private RespAction DbSize(RespWriter w)
    {
        w.WriteInteger(_node.Store.CountKeys().Keys);
        return RespAction.Continue;
    }
}
