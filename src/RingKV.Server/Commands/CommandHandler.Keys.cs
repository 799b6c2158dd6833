using System;
using System.Buffers;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using RingKV.Net.Resp;
using RingKV.Server.Store;

namespace RingKV.Server.Commands;

internal sealed partial class CommandHandler
{
    private long NowMs => _node.Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Whether a key fits the node's limits.</summary>
    private bool KeySizeOk(ReadOnlySpan<byte> key) => !key.IsEmpty && key.Length <= _node.Options.MaxKeyBytes;

    /// <summary>Checks a key and a value against the node's limits; writes the error when one breaks them.</summary>
    /// <remarks>
    /// Every key-taking command checks its keys here, before doing anything, so a key gets the same error from every
    /// command: over max-key-bytes, or empty. Redis accepts the empty key; RingKV refuses it everywhere because the
    /// storage engine cannot store one (its records are ordered by token and a non-empty key).
    /// </remarks>
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

    /// <summary>Checks every argument from <paramref name="first"/> on as a key (MGET, DEL, EXISTS); writes the first error.</summary>
    private bool CheckKeys(RespCommand c, RespWriter w, int first)
    {
        for (var i = first; i < c.Count; i++)
        {
            if (!CheckSizes(w, c[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A buffer for one value read, valid until its command's reply is written; returned with <see cref="ReturnBuffer"/>.</summary>
    private ArrayBufferWriter<byte> RentBuffer() => _node.Buffers.Get();

    private void ReturnBuffer(ArrayBufferWriter<byte> buffer) => _node.Buffers.Return(buffer);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> Get(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        var value = RentBuffer();
        try
        {
            var read = await _store.ReadAsync(new ReadRequest(c.GetMemory(1), value, _session.ReadConsistency)).ConfigureAwait(false);
            if (read.Found)
            {
                w.WriteBulkString(value.WrittenSpan);
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

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> Set(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1], c[2].Length))
        {
            return RespAction.Continue;
        }

        var condition = SetCondition.Always;
        var expiry = ExpiryRule.Clear;
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
                expiry = ExpiryRule.Keep;
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

                expiry = ExpiryRule.At(at);
                i++;
            }
            else
            {
                w.WriteError(RespErrors.Syntax);
                return RespAction.Continue;
            }
        }

        var previous = returnOld ? RentBuffer() : null;
        try
        {
            var result = await _store.WriteAsync(WriteRequest.Set(c.GetMemory(1), c.GetMemory(2), condition, expiry, previous, _session.WriteConsistency)).ConfigureAwait(false);
            if (returnOld)
            {
                if (result.Existed)
                {
                    w.WriteBulkString(previous!.WrittenSpan);
                }
                else
                {
                    w.WriteNull();
                }
            }
            else if (result.Applied)
            {
                w.WriteOk();
            }
            else
            {
                w.WriteNull();
            }
        }
        finally
        {
            if (previous is not null)
            {
                ReturnBuffer(previous);
            }
        }

        return RespAction.Continue;
    }

    /// <summary>SETNX key value: StackExchange.Redis sends it for a SET with When.NotExists and no expiry.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> SetNx(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1], c[2].Length))
        {
            return RespAction.Continue;
        }

        var result = await _store.WriteAsync(WriteRequest.Set(c.GetMemory(1), c.GetMemory(2), SetCondition.IfAbsent, ExpiryRule.Clear, null, _session.WriteConsistency)).ConfigureAwait(false);
        w.WriteInteger(result.Applied ? 1 : 0);
        return RespAction.Continue;
    }

    /// <summary>SETEX key seconds value and PSETEX key milliseconds value: StackExchange.Redis sends them for a SET with an expiry.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> SetEx(RespCommand c, RespWriter w, long unitMs)
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

        await _store.WriteAsync(WriteRequest.Set(c.GetMemory(1), c.GetMemory(3), SetCondition.Always, ExpiryRule.At(at), null, _session.WriteConsistency)).ConfigureAwait(false);
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

    /// <summary>
    /// The latest expiry the engine can store, in Unix ms: 9999-12-31T23:59:59.999Z, the end of <see cref="DateTimeOffset"/>.
    /// An expiry past it is "invalid expire time", as in Redis for times that overflow; Redis itself accepts up to
    /// 2^63-1 ms, which no calendar type here can hold.
    /// </summary>
    private static readonly long MaxExpiryUnixMs = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    /// <summary>
    /// The expiry option of SET, SETEX, PSETEX and GETEX as an absolute Unix ms time; false (the caller replies "invalid
    /// expire time") when the amount is not positive, overflows when converted to ms or added to now, or is past
    /// <see cref="MaxExpiryUnixMs"/>. Redis's getExpireMillisecondsOrReply (t_string.c), plus that last bound.
    /// </summary>
    private bool TryExpiryTime(long amount, long unitMs, bool absolute, out long atUnixMs)
    {
        atUnixMs = 0;
        if (amount <= 0 || amount > long.MaxValue / unitMs)
        {
            return false;
        }

        var ms = amount * unitMs;
        if (!absolute)
        {
            var now = NowMs;
            if (ms > long.MaxValue - now)
            {
                return false;
            }

            ms += now;
        }

        if (ms > MaxExpiryUnixMs)
        {
            return false;
        }

        atUnixMs = ms;
        return true;
    }

    /// <summary>
    /// The time argument of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT as an absolute Unix ms time, which may be in the past
    /// (the key is then deleted); false when it overflows when converted to ms or added to now, or is past
    /// <see cref="MaxExpiryUnixMs"/>. Redis's expireGenericCommand (expire.c), plus that last bound.
    /// </summary>
    private bool TryExpireCommandTime(long amount, long unitMs, bool absolute, out long atUnixMs)
    {
        atUnixMs = 0;
        if (amount > long.MaxValue / unitMs || amount < long.MinValue / unitMs)
        {
            return false;
        }

        var when = amount * unitMs;
        var basetime = absolute ? 0 : NowMs;
        if (when > long.MaxValue - basetime)
        {
            return false;
        }

        when += basetime;
        if (when > MaxExpiryUnixMs)
        {
            return false;
        }

        atUnixMs = when;
        return true;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> MGet(RespCommand c, RespWriter w)
    {
        if (!CheckKeys(c, w, 1))
        {
            return RespAction.Continue;
        }

        var count = c.Count - 1;
        if (_node.Cluster is not null && count > 1)
        {
            return await MGetFanOut(c, w, count).ConfigureAwait(false);
        }

        w.WriteArrayHeader(count);
        var value = RentBuffer();
        try
        {
            for (var i = 1; i <= count; i++)
            {
                value.ResetWrittenCount();
                var read = await _store.ReadAsync(new ReadRequest(c.GetMemory(i), value, _session.ReadConsistency)).ConfigureAwait(false);
                if (read.Found)
                {
                    w.WriteBulkString(value.WrittenSpan);
                }
                else
                {
                    w.WriteNull();
                }
            }
        }
        finally
        {
            ReturnBuffer(value);
        }

        return RespAction.Continue;
    }

    /// <summary>MGET on a cluster node: every key's read is in flight at once (each is a round trip to its replicas); replies in key order.</summary>
    private async ValueTask<RespAction> MGetFanOut(RespCommand c, RespWriter w, int count)
    {
        var values = new ArrayBufferWriter<byte>[count];
        var reads = new Task<ReadResult>[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = new ArrayBufferWriter<byte>();
            reads[i] = _store.ReadAsync(new ReadRequest(c.GetMemory(i + 1), values[i], _session.ReadConsistency)).AsTask();
        }

        // WhenAll ends once every read has, and throws the first failed key's error: then nothing of the reply is written.
        var results = await Task.WhenAll(reads).ConfigureAwait(false);
        w.WriteArrayHeader(count);
        for (var i = 0; i < count; i++)
        {
            if (results[i].Found)
            {
                w.WriteBulkString(values[i].WrittenSpan);
            }
            else
            {
                w.WriteNull();
            }
        }

        return RespAction.Continue;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> MSet(RespCommand c, RespWriter w, bool onlyIfNoneExist)
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

        // One atomic write for all pairs (and, for MSETNX, the existence check under the same stripes), as in Redis.
        var pairs = new List<KeyValue>((c.Count - 1) / 2);
        for (var i = 1; i < c.Count; i += 2)
        {
            pairs.Add(new KeyValue(c.GetMemory(i), c.GetMemory(i + 1)));
        }

        var written = await _store.SetManyAsync(pairs, onlyIfNoneExist, _session.WriteConsistency).ConfigureAwait(false);
        if (!written)
        {
            w.WriteInteger(0);
        }
        else if (onlyIfNoneExist)
        {
            w.WriteInteger(1);
        }
        else
        {
            w.WriteOk();
        }

        return RespAction.Continue;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> Del(RespCommand c, RespWriter w)
    {
        if (!CheckKeys(c, w, 1))
        {
            return RespAction.Continue;
        }

        long deleted = 0;
        if (_node.Cluster is not null && c.Count > 2)
        {
            // Every key's delete in flight at once; a key named twice is deleted (and counted) once, as in Redis.
            var keys = new HashSet<string>(StringComparer.Ordinal);
            var deletes = new List<Task<WriteResult>>();
            for (var i = 1; i < c.Count; i++)
            {
                if (keys.Add(Convert.ToHexString(c[i])))
                {
                    deletes.Add(_store.WriteAsync(WriteRequest.Delete(c.GetMemory(i), null, _session.WriteConsistency)).AsTask());
                }
            }

            foreach (var result in await Task.WhenAll(deletes).ConfigureAwait(false))
            {
                deleted += result.Applied ? 1 : 0;
            }

            w.WriteInteger(deleted);
            return RespAction.Continue;
        }

        for (var i = 1; i < c.Count; i++)
        {
            var result = await _store.WriteAsync(WriteRequest.Delete(c.GetMemory(i), null, _session.WriteConsistency)).ConfigureAwait(false);
            deleted += result.Applied ? 1 : 0;
        }

        w.WriteInteger(deleted);
        return RespAction.Continue;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> Exists(RespCommand c, RespWriter w)
    {
        if (!CheckKeys(c, w, 1))
        {
            return RespAction.Continue;
        }

        long found = 0;
        if (_node.Cluster is not null && c.Count > 2)
        {
            // Every key's read in flight at once; a key named twice counts twice, as in Redis.
            var reads = new Task<ReadResult>[c.Count - 1];
            for (var i = 1; i < c.Count; i++)
            {
                reads[i - 1] = _store.ReadAsync(new ReadRequest(c.GetMemory(i), null, _session.ReadConsistency)).AsTask();
            }

            foreach (var read in await Task.WhenAll(reads).ConfigureAwait(false))
            {
                found += read.Found ? 1 : 0;
            }

            w.WriteInteger(found);
            return RespAction.Continue;
        }

        for (var i = 1; i < c.Count; i++)
        {
            var read = await _store.ReadAsync(new ReadRequest(c.GetMemory(i), null, _session.ReadConsistency)).ConfigureAwait(false);
            found += read.Found ? 1 : 0;
        }

        w.WriteInteger(found);
        return RespAction.Continue;
    }

    internal ValueTask<RespAction> GetDel(RespCommand c, RespWriter w) =>
        !CheckSizes(w, c[1]) ? new(RespAction.Continue) : WriteReplyingPrevious(WriteRequest.Delete(c.GetMemory(1), null, _session.WriteConsistency), w);

    /// <summary>Runs a write that reports the live value it found (GETDEL, GETSET) and replies with that value, or nil when there was none.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RespAction> WriteReplyingPrevious(WriteRequest request, RespWriter w)
    {
        var value = RentBuffer();
        try
        {
            var result = await _store.WriteAsync(request with { Previous = value }).ConfigureAwait(false);
            if (result.Existed)
            {
                w.WriteBulkString(value.WrittenSpan);
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

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> GetEx(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        var rule = ExpiryRule.Keep;
        if (c.Count == 3 && c.ArgumentEquals(2, "PERSIST"u8))
        {
            rule = ExpiryRule.Clear;
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

            rule = ExpiryRule.At(at);
        }
        else if (c.Count != 2)
        {
            w.WriteError(RespErrors.Syntax);
            return RespAction.Continue;
        }

        var value = RentBuffer();
        try
        {
            var result = await _store.WriteAsync(WriteRequest.Expire(c.GetMemory(1), rule, value, _session.WriteConsistency)).ConfigureAwait(false);
            if (result.Existed)
            {
                w.WriteBulkString(value.WrittenSpan);
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

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> Expire(RespCommand c, RespWriter w, long unitMs, bool absolute)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        // Redis's order: the options, then the time, then the key.
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

        if (nx && (xx || gt || lt))
        {
            w.WriteError("ERR NX and XX, GT or LT options at the same time are not compatible"u8);
            return RespAction.Continue;
        }

        if (gt && lt)
        {
            w.WriteError("ERR GT and LT options at the same time are not compatible"u8);
            return RespAction.Continue;
        }

        if (!c.TryGetInt64(2, out var amount))
        {
            w.WriteError(RespErrors.NotInteger);
            return RespAction.Continue;
        }

        if (!TryExpireCommandTime(amount, unitMs, absolute, out var at))
        {
            w.WriteError($"ERR invalid expire time in '{Lower(c[0])}' command");
            return RespAction.Continue;
        }

        // XX combines with GT or LT in Redis: the key must have an expiry, and the comparison must hold.
        var condition = (nx ? ExpiryCondition.IfNone : 0) | (xx ? ExpiryCondition.IfAny : 0)
            | (gt ? ExpiryCondition.IfLater : 0) | (lt ? ExpiryCondition.IfEarlier : 0);

        // Decided under the key's stripe, so a concurrent SET cannot slip between the check and the change.
        // A key without expiry counts as an infinite TTL for GT and LT, as in Redis; a time in the past deletes.
        var result = await _store.WriteAsync(WriteRequest.Expire(c.GetMemory(1), ExpiryRule.At(at, condition), null, _session.WriteConsistency)).ConfigureAwait(false);
        w.WriteInteger(result.Applied ? 1 : 0);
        return RespAction.Continue;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> Ttl(RespCommand c, RespWriter w, long unitMs)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        var read = await _store.ReadAsync(new ReadRequest(c.GetMemory(1), null, _session.ReadConsistency)).ConfigureAwait(false);
        if (!read.Found)
        {
            w.WriteInteger(-2);
        }
        else if (read.ExpiresAtUnixMs == 0)
        {
            w.WriteInteger(-1);
        }
        else
        {
            var left = Math.Max(0, read.ExpiresAtUnixMs - NowMs);
            w.WriteInteger(unitMs == 1 ? left : (left + 500) / 1000);
        }

        return RespAction.Continue;
    }

    /// <summary>EXPIRETIME and PEXPIRETIME: the absolute expiry in Unix seconds (rounded) or ms; -1 without one, -2 for no key.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> ExpireTime(RespCommand c, RespWriter w, long unitMs)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        var read = await _store.ReadAsync(new ReadRequest(c.GetMemory(1), null, _session.ReadConsistency)).ConfigureAwait(false);
        w.WriteInteger(!read.Found ? -2 : read.ExpiresAtUnixMs == 0 ? -1 : unitMs == 1 ? read.ExpiresAtUnixMs : (read.ExpiresAtUnixMs + 500) / 1000);
        return RespAction.Continue;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> Persist(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        var rule = new ExpiryRule(ExpiryMode.Clear, 0, ExpiryCondition.IfAny);
        var result = await _store.WriteAsync(WriteRequest.Expire(c.GetMemory(1), rule, null, _session.WriteConsistency)).ConfigureAwait(false);
        w.WriteInteger(result.Applied ? 1 : 0);
        return RespAction.Continue;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<RespAction> TypeOf(RespCommand c, RespWriter w)
    {
        if (!CheckSizes(w, c[1]))
        {
            return RespAction.Continue;
        }

        var read = await _store.ReadAsync(new ReadRequest(c.GetMemory(1), null, _session.ReadConsistency)).ConfigureAwait(false);
        w.WriteSimpleString(read.Found ? "string"u8 : "none"u8);
        return RespAction.Continue;
    }

    /// <summary>SCAN's work allowance per unit of COUNT, in stored keys examined plus glob steps.</summary>
    /// <remarks>
    /// A call stops (between tokens) after COUNT keys or COUNT x this much work, so a pattern that is costly on long
    /// keys returns early with a cursor instead of holding the connection. Ordinary patterns on ordinary keys take tens of
    /// steps a key and never reach it.
    /// </remarks>
    private const long ScanWorkPerCount = 1024;

    internal async ValueTask<RespAction> Scan(RespCommand c, RespWriter w)
    {
        if (!ulong.TryParse(c[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var cursor))
        {
            w.WriteError("ERR invalid cursor"u8);
            return RespAction.Continue;
        }

        long count = 10;
        Glob? pattern = null;
        var noneOfType = false;
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
                pattern = Glob.Compile(c[i + 1]);
                i++;
            }
            else if (c.ArgumentEquals(i, "TYPE"u8) && i + 1 < c.Count)
            {
                noneOfType |= !c.ArgumentEquals(i + 1, "string"u8); // only strings exist here
                i++;
            }
            else
            {
                w.WriteError(RespErrors.Syntax);
                return RespAction.Continue;
            }
        }

        count = Math.Min(count, 100_000);
        var keys = new List<byte[]>();
        var request = new ScanRequest(cursor, (int)count, pattern is { MatchesEverything: true } ? null : pattern, noneOfType, count * ScanWorkPerCount);
        var next = await _store.ScanAsync(request, keys).ConfigureAwait(false);
        keys.RemoveAll(Memcached.MemcachedItems.IsSideKey); // memcached flags live beside their items, not as keys
        w.WriteArrayHeader(2);
        WriteBulkDecimal(w, next);
        w.WriteArrayHeader(keys.Count);
        foreach (var key in keys)
        {
            w.WriteBulkString(key);
        }

        return RespAction.Continue;
    }

    /// <summary>A number as a bulk string of its decimal digits (SCAN's cursor, TIME's fields).</summary>
    private static void WriteBulkDecimal(RespWriter w, ulong value)
    {
        Span<byte> digits = stackalloc byte[20];
        value.TryFormat(digits, out var n, default, System.Globalization.CultureInfo.InvariantCulture);
        w.WriteBulkString(digits[..n]);
    }

    internal async ValueTask<RespAction> DbSize(RespWriter w)
    {
        var counts = await _store.CountKeysAsync().ConfigureAwait(false);
        w.WriteInteger(counts.Keys);
        return RespAction.Continue;
    }
}
