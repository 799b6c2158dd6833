using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO.Hashing;
using System.Threading;
using RingKV.Core.Errors;
using RingKV.Core.Hashing;
using RingKV.Core.Versioning;
using RingKV.Storage;

namespace RingKV.Server.Store;

/// <summary>A node's own data: each key's sibling set, encoded, in the storage engine.</summary>
/// <remarks>
/// Thread-safe. A write reads the key's sibling set (plain SET and MSET excepted, see below), changes it and writes it back under one of
/// <see cref="StripeCount"/> locks chosen by token, so writes to one key are serialized while writes to
/// different keys still meet in the engine's group commit. Rejected alternative: the engine's merge hook;
/// it would serialize every write in the engine's leader and cannot change a key's expiry.
/// A set whose siblings are all tombstones is deleted from the engine (a single node has no replica
/// that could resurrect it; the cluster keeps tombstone sets instead).
/// Every new dot's counter is at least the engine's next sequence number (<see cref="DotFloor"/>): a
/// counter is never above the sequence of the write that stored it, so after a DEL dropped a key's set the
/// next write to it cannot mint a dot that a client's old context already covers (with counters restarting
/// at 1 it could, and that client's KV.PUT would have superseded a value it never saw). The same bound lets
/// plain SET and MSET write blind: a single sibling whose counter is the floor supersedes every dot stored
/// for the key before, so they do not read the key first. On one node every dot is this node's; the
/// cluster's coordinator, which merges other replicas' dots, reads first.
/// </remarks>
internal sealed class LocalStore : IKeyValueStore
{
    // Many: a pipelined batch holds up to 64 stripes while its write commits, and dozens of batches are in flight. Two
    // batches of 64 stripes share one with a chance of about 98% among 1,024 stripes, about 6% among 65,536.
    private const int StripeCount = 1 << 16;

    private readonly StorageEngine _engine;
    private readonly Lock[] _stripes = new Lock[StripeCount];
    private readonly ulong _actor;
    private readonly int _maxVectorEntries;
    private readonly TimeProvider _time;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? s_read;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? s_write;

    [ThreadStatic]
    private static List<int>? s_stripes;

    [ThreadStatic]
    private static WriteBatch? s_batch;

    public LocalStore(StorageEngine engine, string nodeId, int maxVectorEntries, TimeProvider time)
    {
        _engine = engine;
        _actor = XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(nodeId));
        _maxVectorEntries = maxVectorEntries;
        _time = time;
        for (var i = 0; i < StripeCount; i++)
        {
            _stripes[i] = new Lock();
        }
    }

    public StorageEngine Engine => _engine;

    public bool TryGet(ReadOnlySpan<byte> key, IBufferWriter<byte> value)
    {
        var buffer = s_read ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        if (!_engine.TryGet(key, buffer))
        {
            return false;
        }

        // Plain GET reads the winner straight from the stored bytes: no sibling set is built.
        if (SiblingSetFastPath.TryGetWinner(buffer.WrittenSpan, out var winner, out var live))
        {
            if (live)
            {
                value.Write(winner);
            }

            return live;
        }

        var set = Decode(buffer.WrittenSpan);
        if (!set.TryGetWinnerValue(out var decoded))
        {
            return false;
        }

        value.Write(decoded.Span);
        return true;
    }

    public bool TryGetExpiry(ReadOnlySpan<byte> key, out long expiresAtUnixMs)
    {
        var set = Read(key, out expiresAtUnixMs);
        return set is not null && set.TryGetWinnerValue(out _);
    }

    public bool Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, SetCondition condition, ExpiryChange expiry, IBufferWriter<byte>? previous, out bool hadPrevious)
    {
        lock (Stripe(key))
        {
            var set = Read(key, out var oldExpiry);
            ReadOnlyMemory<byte> old = default;
            hadPrevious = set is not null && set.TryGetWinnerValue(out old);
            if (hadPrevious && previous is not null)
            {
                previous.Write(old.Span);
            }

            if ((condition == SetCondition.IfAbsent && hadPrevious) || (condition == SetCondition.IfPresent && !hadPrevious))
            {
                return false;
            }

            set ??= SiblingSet.Empty;
            var next = set.Put(set.Context, value.ToArray(), _actor, Now(), _maxVectorEntries, DotFloor());
            var expiresAt = expiry.Keep ? (hadPrevious ? oldExpiry : 0) : expiry.ExpiresAtUnixMs;
            Write(key, next, expiresAt);
            return true;
        }
    }

    public bool SetMany(ReadOnlySpan<byte> bytes, IReadOnlyList<(int KeyAt, int KeyLength, int ValueAt, int ValueLength)> items, bool onlyIfNoneExist = false)
    {
        // Take every stripe involved, in index order so two batches cannot deadlock.
        var stripes = s_stripes ??= new List<int>();
        stripes.Clear();
        foreach (var item in items)
        {
            var stripe = StripeIndex(bytes.Slice(item.KeyAt, item.KeyLength));
            if (!stripes.Contains(stripe))
            {
                stripes.Add(stripe);
            }
        }

        stripes.Sort();
        foreach (var stripe in stripes)
        {
            _stripes[stripe].Enter();
        }

        try
        {
            var batch = s_batch ??= new WriteBatch(4096);
            batch.Clear();
            var read = s_read ??= new ArrayBufferWriter<byte>(256);
            var scratch = s_write ??= new ArrayBufferWriter<byte>(256);
            var now = Now();
            var floor = DotFloor();
            if (onlyIfNoneExist)
            {
                // Checked under the same stripe locks as the write, so no SET of these keys can slip in between.
                foreach (var item in items)
                {
                    read.ResetWrittenCount();
                    if (_engine.TryGet(bytes.Slice(item.KeyAt, item.KeyLength), read)
                        && (!SiblingSetFastPath.TryGetWinner(read.WrittenSpan, out _, out var live) || live))
                    {
                        return false;
                    }
                }
            }

            for (var i = 0; i < items.Count; i++)
            {
                var key = bytes.Slice(items[i].KeyAt, items[i].KeyLength);
                var value = bytes.Slice(items[i].ValueAt, items[i].ValueLength);

                // Blind: item i is stored with a sequence of at least floor + i, and every dot stored for the key
                // before has a counter no higher than its own write's sequence, so one sibling with counter
                // floor + i supersedes all of them without reading the key (see DotFloor).
                scratch.ResetWrittenCount();
                var counter = floor + (ulong)i;
                if (!SiblingSetFastPath.TryEncodeBlindPut([], value, _actor, now, _maxVectorEntries, scratch, counter))
                {
                    SiblingSet.Empty.Put(VersionVector.Empty, value.ToArray(), _actor, now, _maxVectorEntries, counter).Encode(scratch);
                }

                batch.Put(key, scratch.WrittenSpan);
            }

            _engine.Write(batch);
            return true;
        }
        finally
        {
            foreach (var stripe in stripes)
            {
                _stripes[stripe].Exit();
            }
        }
    }

    public bool Delete(ReadOnlySpan<byte> key)
    {
        lock (Stripe(key))
        {
            var set = Read(key, out _);
            if (set is null)
            {
                return false;
            }

            var existed = set.TryGetWinnerValue(out _);
            _engine.Delete(key);
            return existed;
        }
    }

    public bool GetAndDelete(ReadOnlySpan<byte> key, IBufferWriter<byte> value)
    {
        lock (Stripe(key))
        {
            var set = Read(key, out _);
            if (set is null || !set.TryGetWinnerValue(out var winner))
            {
                return false;
            }

            value.Write(winner.Span);
            _engine.Delete(key);
            return true;
        }
    }

    public int UpdateExpiry(ReadOnlySpan<byte> key, Func<long, long?> decide, IBufferWriter<byte>? value = null)
    {
        lock (Stripe(key))
        {
            var set = Read(key, out var current);
            if (set is null || !set.TryGetWinnerValue(out var winner))
            {
                return -1;
            }

            value?.Write(winner.Span);
            if (decide(current) is not { } at)
            {
                return 0;
            }

            if (at != 0 && at <= Now())
            {
                _engine.Delete(key); // an expiry in the past deletes, as in Redis
            }
            else
            {
                Write(key, set, at);
            }

            return 1;
        }
    }

    public VersionedRead? GetVersioned(ReadOnlySpan<byte> key)
    {
        var set = Read(key, out _);
        if (set is null || set.Count == 0)
        {
            return null;
        }

        var context = new ArrayBufferWriter<byte>();
        SiblingSet.EncodeContext(set.Context, context);
        return new VersionedRead(context.WrittenSpan.ToArray(), set.Siblings.ToArray());
    }

    public void PutVersioned(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, VersionVector context)
    {
        lock (Stripe(key))
        {
            var set = Read(key, out var expiry) ?? SiblingSet.Empty;
            Write(key, set.Put(context, value.ToArray(), _actor, Now(), _maxVectorEntries, DotFloor()), expiry);
        }
    }

    public void DeleteVersioned(ReadOnlySpan<byte> key, VersionVector context)
    {
        lock (Stripe(key))
        {
            var set = Read(key, out var expiry) ?? SiblingSet.Empty;
            Write(key, set.Delete(context, _actor, Now(), _maxVectorEntries, DotFloor()), expiry);
        }
    }

    public ulong Scan(ulong cursor, int count, Func<ReadOnlySpan<byte>, bool> filter, List<byte[]> keys)
    {
        using var it = _engine.NewIterator(new TokenRange(new Token(cursor), Token.Max));
        var seen = 0;
        var lastToken = 0UL;
        while (it.MoveNext())
        {
            var token = it.Token.Value;
            // Finish the current token before stopping, so a cursor never splits keys that share a token.
            if (seen >= count && token != lastToken)
            {
                return token;
            }

            seen++;
            lastToken = token;
            if (IsVisible(it.Value) && filter(it.Key))
            {
                keys.Add(it.Key.ToArray());
            }
        }

        return 0;
    }

    public KeyCounts CountKeys()
    {
        long count = 0, expires = 0, ttlSum = 0;
        var now = _time.GetUtcNow();
        using var it = _engine.NewIterator(TokenRange.All);
        while (it.MoveNext())
        {
            if (IsVisible(it.Value))
            {
                count++;
                if (it.ExpiresAt is { } expiresAt)
                {
                    expires++;
                    ttlSum += Math.Max(0, (long)(expiresAt - now).TotalMilliseconds);
                }
            }
        }

        return new KeyCounts(count, expires, expires == 0 ? 0 : ttlSum / expires);
    }

    public void FlushAll()
    {
        var keys = new List<byte[]>();
        using (var it = _engine.NewIterator(TokenRange.All))
        {
            while (it.MoveNext())
            {
                keys.Add(it.Key.ToArray());
            }
        }

        var batch = new WriteBatch();
        foreach (var key in keys)
        {
            batch.Delete(key);
            if (batch.Count >= 1000)
            {
                _engine.Write(batch);
                batch.Clear();
            }
        }

        _engine.Write(batch);
    }

    public void Dispose() => _engine.Dispose();

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The lowest counter a dot minted now may get. Requires: the key's stripe lock, held until the write is applied.</summary>
    private ulong DotFloor() => _engine.LastSequence + 1;

    private Lock Stripe(ReadOnlySpan<byte> key) => _stripes[StripeIndex(key)];

    private static int StripeIndex(ReadOnlySpan<byte> key) => (int)(Token.Of(key).Value % StripeCount);

    private static SiblingSet Decode(ReadOnlySpan<byte> bytes)
    {
        if (!SiblingSet.TryDecode(bytes, out var set, out var error))
        {
            throw new RingKVException(ErrorCode.Corruption, $"stored value of a key cannot be decoded: {error}");
        }

        return set;
    }

    /// <summary>Whether plain GET sees a stored sibling set: SCAN and DBSIZE must agree with GET and EXISTS.</summary>
    /// <remarks>A set whose winner is a tombstone (a KV.DEL newer than a concurrent KV.PUT) stays stored for KV.GET but is hidden.</remarks>
    private static bool IsVisible(ReadOnlySpan<byte> encoded)
        => !SiblingSetFastPath.TryGetWinner(encoded, out _, out var live) || live; // undecodable: listed, so GET reports the damage

    private SiblingSet? Read(ReadOnlySpan<byte> key, out long expiresAtUnixMs)
    {
        var buffer = s_read ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        expiresAtUnixMs = 0;
        if (!_engine.TryGet(key, buffer, out var expiresAt))
        {
            return null;
        }

        expiresAtUnixMs = expiresAt?.ToUnixTimeMilliseconds() ?? 0;
        return Decode(buffer.WrittenSpan);
    }

    private void Write(ReadOnlySpan<byte> key, SiblingSet set, long expiresAtUnixMs)
    {
        if (set.IsDeleted)
        {
            _engine.Delete(key);
            return;
        }

        var buffer = s_write ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        set.Encode(buffer);
        if (expiresAtUnixMs > 0)
        {
            _engine.Put(key, buffer.WrittenSpan, DateTimeOffset.FromUnixTimeMilliseconds(expiresAtUnixMs));
        }
        else
        {
            _engine.Put(key, buffer.WrittenSpan);
        }
    }
}
