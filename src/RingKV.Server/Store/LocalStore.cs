using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.ObjectPool;
using RingKV.Core.Consistency;
using RingKV.Core.Errors;
using RingKV.Core.Hashing;
using RingKV.Core.Versioning;
using RingKV.Storage;

namespace RingKV.Server.Store;

/// <summary>A node's own data: each key's sibling set, encoded, in the storage engine.</summary>
/// <remarks>
/// Thread-safe. A write reads the key's sibling set (plain SET and MSET excepted, see below), changes it and writes it
/// back holding one of <see cref="StripeCount"/> stripes chosen by token (<see cref="StripeLocks"/>, kept across the
/// engine's asynchronous commit), so writes to one key are serialized while writes to different keys still meet in the
/// engine's group commit. Rejected alternative: the engine's merge hook; it would serialize every write in the engine's
/// leader and cannot change a key's expiry. Reads take no stripe.
/// Every call completes synchronously unless its commit waits (sync always, a write stall) or its stripe is held: the
/// methods are pooled async methods, which allocate nothing when they do not suspend.
/// A set whose siblings are all tombstones is deleted from the engine (a single node has no replica that could
/// resurrect it; the cluster keeps tombstone sets instead).
/// Every new dot's counter is at least the engine's next sequence number (<see cref="DotFloor"/>): a counter is never
/// above the sequence of the write that stored it, so after a DEL dropped a key's set the next write to it cannot mint a
/// dot that a client's old context already covers (with counters restarting at 1 it could, and that client's KV.PUT
/// would supersede a value it never saw). The same bound lets plain SET and MSET write blind: a single sibling whose
/// counter is the floor supersedes every dot stored for the key before, so they do not read the key. On one node every
/// dot is this node's; the cluster's coordinator, which merges other replicas' dots, reads first.
/// </remarks>
internal sealed class LocalStore : IKeyValueStore
{
    // Many, because a pipelined batch holds up to 64 stripes while its write commits, and many such batches meet.
    private const int StripeCount = 1 << 16;

    /// <summary>Largest batch kept in the pool.</summary>
    private const int MaxRetainedBatchBytes = 1 << 20;

    /// <summary>Largest expiry the engine stores: the end of year 9999 (DateTimeOffset's range), in Unix ms.</summary>
    internal const long MaxExpiryUnixMs = 253_402_300_799_999;

    private readonly StorageEngine _engine;
    private readonly StripeLocks _stripes = new(StripeCount);
    private readonly ObjectPool<WriteBatch> _batches = new DefaultObjectPool<WriteBatch>(new BatchPolicy(), 1024);
    private readonly ulong _actor;
    private readonly int _maxVectorEntries;
    private readonly TimeProvider _time;
    private long _largeBatchBytes;

    // Scratch for the synchronous parts of a call (never live across an await).
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? s_read;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? s_encode;

    public LocalStore(StorageEngine engine, string nodeId, int maxVectorEntries, TimeProvider time)
    {
        _engine = engine;
        _actor = XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(nodeId));
        _maxVectorEntries = maxVectorEntries;
        _time = time;
    }

    public StorageEngine Engine => _engine;

    public ValueTask<ReadResult> ReadAsync(ReadRequest request)
    {
        var buffer = ReadScratch();
        if (!_engine.TryGet(request.Key.Span, buffer, out var expiresAt))
        {
            return new ValueTask<ReadResult>(default(ReadResult));
        }

        var expiry = expiresAt?.ToUnixTimeMilliseconds() ?? 0;

        // Plain GET reads the winner straight from the stored bytes: no sibling set is built.
        if (SiblingSetFastPath.TryGetWinner(buffer.WrittenSpan, out var winner, out var live))
        {
            if (live)
            {
                request.Value?.Write(winner);
            }

            return new ValueTask<ReadResult>(new ReadResult(live, live ? expiry : 0));
        }

        var set = Decode(buffer.WrittenSpan);
        if (!set.TryGetWinnerValue(out var decoded))
        {
            return new ValueTask<ReadResult>(default(ReadResult));
        }

        request.Value?.Write(decoded.Span);
        return new ValueTask<ReadResult>(new ReadResult(true, expiry));
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<WriteResult> WriteAsync(WriteRequest request)
    {
        if (request.Expiry.Mode == ExpiryMode.At && request.Expiry.AtUnixMs > MaxExpiryUnixMs)
        {
            ThrowHelper.InvalidArgument("invalid expire time");
        }

        var stripe = StripeIndex(request.Key.Span);
        await _stripes.AcquireAsync(stripe).ConfigureAwait(false);
        var batch = _batches.Get();
        try
        {
            var result = Prepare(request, batch);
            if (batch.Count > 0)
            {
                await _engine.WriteAsync(batch).ConfigureAwait(false);
            }

            return result;
        }
        finally
        {
            _stripes.Release(stripe);
            _batches.Return(batch);
        }
    }

    public ValueTask<bool> SetManyAsync(IReadOnlyList<KeyValue> pairs, bool onlyIfNoneExist, ConsistencyLevel consistency, RingKVException?[]? failures = null) =>
        failures is null ? WriteUnderStripesAsync(pairs, onlyIfNoneExist, null) : SetManyReportingAsync(pairs, onlyIfNoneExist, failures);

    /// <summary>SetManyAsync with a failure slot per pair: one engine write for all, so they succeed or fail together.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> SetManyReportingAsync(IReadOnlyList<KeyValue> pairs, bool onlyIfNoneExist, RingKVException?[] failures)
    {
        try
        {
            return await WriteUnderStripesAsync(pairs, onlyIfNoneExist, null).ConfigureAwait(false);
        }
        catch (RingKVException e)
        {
            Array.Fill(failures, e, 0, pairs.Count);
            return false;
        }
    }

    /// <summary>
    /// A pipelined run of plain SETs (<paramref name="modifiers"/>[i] null) and read-modify-writes (INCR and its family:
    /// the modifier) applied in order as one engine write, holding every key's stripe: a key named twice sees what the
    /// run wrote to it before. A modify keeps the key's expiry; a modifier that answers null writes nothing. Each write
    /// is blind (see <see cref="PrepareMany"/>): the k-th staged record's sibling has counter floor + k.
    /// </summary>
    public ValueTask WriteRunAsync(IReadOnlyList<KeyValue> pairs, IReadOnlyList<IValueModifier?> modifiers)
    {
        var written = WriteUnderStripesAsync(pairs, onlyIfNoneExist: false, modifiers);
        return written.IsCompletedSuccessfully ? default : AwaitWritten(written);

        static async ValueTask AwaitWritten(ValueTask<bool> written) => await written.ConfigureAwait(false);
    }

    /// <summary>
    /// MSET, MSETNX and the pipelined runs: takes every stripe the keys fall in (in index order, so two batches cannot
    /// deadlock), stages the writes (<see cref="PrepareMany"/>, or <see cref="PrepareRun"/> when there are
    /// <paramref name="modifiers"/>) and commits them as one engine write. False when nothing is to be written (MSETNX
    /// found a live key; every modifier of a run declined).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WriteUnderStripesAsync(IReadOnlyList<KeyValue> pairs, bool onlyIfNoneExist, IReadOnlyList<IValueModifier?>? modifiers)
    {
        var stripes = ArrayPool<int>.Shared.Rent(Math.Max(1, pairs.Count));
        var held = 0;
        var bound = BatchBoundBytes(pairs) + (modifiers is null ? 0 : 32L * pairs.Count); // an INCR's new value: at most 20 digits and a sign
        var batch = RentBatch(bound);
        try
        {
            var count = SortedStripes(pairs, stripes);
            for (; held < count; held++)
            {
                await _stripes.AcquireAsync(stripes[held]).ConfigureAwait(false);
            }

            if (modifiers is null ? !PrepareMany(pairs, onlyIfNoneExist, batch) : !PrepareRun(pairs, modifiers, batch))
            {
                return false;
            }

            await _engine.WriteAsync(batch).ConfigureAwait(false);
            return true;
        }
        finally
        {
            for (var i = 0; i < held; i++)
            {
                _stripes.Release(stripes[i]);
            }

            ArrayPool<int>.Shared.Return(stripes);
            if (bound <= MaxRetainedBatchBytes)
            {
                _batches.Return(batch);
            }
        }
    }

    /// <summary>Stages <see cref="WriteRunAsync"/>'s writes; false when none of them writes anything. Requires: every key's stripe.</summary>
    private bool PrepareRun(IReadOnlyList<KeyValue> pairs, IReadOnlyList<IValueModifier?> modifiers, WriteBatch batch)
    {
        // What each entry left its key holding (Exists false: absent), for a later entry of the same key (runs are at
        // most 64 long). A SET's value stays in the caller's memory, valid for the whole run.
        var after = new (bool Exists, ReadOnlyMemory<byte> Value, long Expiry)[pairs.Count];
        var floor = DotFloor();
        ulong staged = 0;
        for (var i = 0; i < pairs.Count; i++)
        {
            var key = pairs[i].Key.Span;
            if (modifiers[i] is not { } modifier)
            {
                StageBlindPut(batch, key, pairs[i].Value.Span, floor + staged++, 0);
                after[i] = (true, pairs[i].Value, 0);
                continue;
            }

            var earlier = -1;
            for (var j = i - 1; j >= 0 && earlier < 0; j--)
            {
                earlier = pairs[j].Key.Span.SequenceEqual(key) ? j : -1;
            }

            var current = earlier >= 0 ? after[earlier] : default;
            if (earlier < 0 && Read(key, out var expiry) is { } set && set.TryGetWinnerValue(out var winner))
            {
                current = (true, winner.ToArray(), expiry); // copied: the read's buffer is reused by the next read
            }

            var modified = modifier.Modify(current.Value.Span, current.Exists);
            if (modified is null)
            {
                after[i] = current;
                continue;
            }

            StageBlindPut(batch, key, modified, floor + staged++, current.Expiry);
            after[i] = (true, modified, current.Expiry);
        }

        return staged > 0;
    }

    public ValueTask<VersionedRead?> ReadVersionedAsync(ReadOnlyMemory<byte> key, ConsistencyLevel consistency)
    {
        var set = Read(key.Span, out _);
        if (set is null || set.Count == 0)
        {
            return new ValueTask<VersionedRead?>((VersionedRead?)null);
        }

        var context = new ArrayBufferWriter<byte>();
        SiblingSet.EncodeContext(set.Context, key.Span, context);
        return new ValueTask<VersionedRead?>(new VersionedRead(context.WrittenSpan.ToArray(), set.Siblings.ToArray()));
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask PutVersionedAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, VersionVector context, ConsistencyLevel consistency)
    {
        var stripe = StripeIndex(key.Span);
        await _stripes.AcquireAsync(stripe).ConfigureAwait(false);
        var batch = _batches.Get();
        try
        {
            var set = Read(key.Span, out var expiry) ?? SiblingSet.Empty;
            Stage(batch, key.Span, set.Put(context, value.ToArray(), _actor, Now(), _maxVectorEntries, DotFloor()), expiry);
            await _engine.WriteAsync(batch).ConfigureAwait(false);
        }
        finally
        {
            _stripes.Release(stripe);
            _batches.Return(batch);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> DeleteVersionedAsync(ReadOnlyMemory<byte> key, VersionVector? context, ConsistencyLevel consistency)
    {
        var stripe = StripeIndex(key.Span);
        await _stripes.AcquireAsync(stripe).ConfigureAwait(false);
        var batch = _batches.Get();
        try
        {
            var set = Read(key.Span, out var expiry);
            if (set is null || set.Count == 0)
            {
                if (context is null)
                {
                    return false;
                }

                set ??= SiblingSet.Empty;
            }

            var existed = set.Count > 0;
            Stage(batch, key.Span, set.Delete(context ?? set.Context, _actor, Now(), _maxVectorEntries, DotFloor()), expiry);
            await _engine.WriteAsync(batch).ConfigureAwait(false);
            return existed;
        }
        finally
        {
            _stripes.Release(stripe);
            _batches.Return(batch);
        }
    }

    public ValueTask<ulong> ScanAsync(ScanRequest request, List<byte[]> keys)
    {
        using var it = _engine.NewIterator(new TokenRange(new Token(request.Cursor), Token.Max));
        var seen = 0;
        long work = 0;
        var lastToken = 0UL;
        while (it.MoveNext())
        {
            var token = it.Token.Value;
            // Finish the current token before stopping, so a cursor never splits keys that share a token.
            if (seen > 0 && (seen >= request.Count || work >= request.WorkBudget) && token != lastToken)
            {
                return new ValueTask<ulong>(token);
            }

            seen++;
            work++;
            lastToken = token;
            if (IsVisible(it.Value) && !request.MatchNothing && (request.Pattern is null || request.Pattern.IsMatch(it.Key, ref work)))
            {
                keys.Add(it.Key.ToArray());
            }
        }

        return new ValueTask<ulong>(0UL);
    }

    public ValueTask<KeyCounts> CountKeysAsync()
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

        return new ValueTask<KeyCounts>(new KeyCounts(count, expires, expires == 0 ? 0 : ttlSum / expires));
    }

    public ValueTask FlushAllAsync() => DeleteEveryKeyAsync(_engine);

    /// <remarks>One node, no replicas: 0 at once, as Redis answers WAIT on a primary without replicas.</remarks>
    public ValueTask<long> WaitForReplicasAsync(int replicas, TimeSpan timeout) => ValueTask.FromResult(0L);

    public IKeyValueStore ForConnection() => this;

    /// <summary>Deletes every key of <paramref name="engine"/>, a thousand per write batch (FLUSHALL; a cluster replica's flush).</summary>
    internal static async ValueTask DeleteEveryKeyAsync(StorageEngine engine)
    {
        var keys = new List<byte[]>();
        using (var it = engine.NewIterator(TokenRange.All))
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
                await engine.WriteAsync(batch).ConfigureAwait(false);
                batch.Clear();
            }
        }

        await engine.WriteAsync(batch).ConfigureAwait(false);
    }

    public void Dispose() => _engine.Dispose();

    /// <summary>Bytes of the batches too big to pool, so far; each is dropped after its write (the node's memory trimmer watches it).</summary>
    public long LargeBatchBytes => Volatile.Read(ref _largeBatchBytes);

    /// <summary>
    /// A pooled batch, or for a big write one of its own, sized once to its bound and dropped after it: a pooled batch
    /// would pin the largest MSET ever run, and one grown by doubling copies itself and needs up to twice its size.
    /// </summary>
    private WriteBatch RentBatch(long boundBytes)
    {
        if (boundBytes > MaxRetainedBatchBytes)
        {
            Interlocked.Add(ref _largeBatchBytes, boundBytes);
            return new WriteBatch((int)Math.Min(boundBytes, Array.MaxLength));
        }

        return _batches.Get();
    }

    /// <summary>An upper bound of the encoded batch: per pair its key and value, the op and two length varints, and a blind sibling set's header.</summary>
    private static long BatchBoundBytes(IReadOnlyList<KeyValue> pairs)
    {
        long bytes = 0;
        for (var i = 0; i < pairs.Count; i++)
        {
            bytes += pairs[i].Key.Length + pairs[i].Value.Length + 128L;
        }

        return bytes;
    }

    /// <summary>Decides a plain write and stages it in <paramref name="batch"/> (empty when nothing changes). Requires: the key's stripe.</summary>
    private WriteResult Prepare(in WriteRequest request, WriteBatch batch)
    {
        var key = request.Key.Span;
        if (request.Kind == WriteKind.Set && request.Condition == SetCondition.Always && request.Previous is null && request.Expiry.Mode != ExpiryMode.Keep)
        {
            // Blind: one sibling with counter DotFloor supersedes every dot stored for the key before (see the remarks).
            StageBlindPut(batch, key, request.Value.Span, DotFloor(), request.Expiry.Mode == ExpiryMode.At ? request.Expiry.AtUnixMs : 0);
            return new WriteResult(true, false);
        }

        var set = Read(key, out var currentExpiry);
        ReadOnlyMemory<byte> winner = default;
        var existed = set is not null && set.TryGetWinnerValue(out winner);
        if (existed)
        {
            request.Previous?.Write(winner.Span);
        }

        switch (request.Kind)
        {
            case WriteKind.Set:
                if ((request.Condition == SetCondition.IfAbsent && existed) || (request.Condition == SetCondition.IfPresent && !existed))
                {
                    return new WriteResult(false, existed);
                }

                set ??= SiblingSet.Empty;
                var next = set.Put(set.Context, request.Value.ToArray(), _actor, Now(), _maxVectorEntries, DotFloor());
                var expiry = request.Expiry.Mode == ExpiryMode.Keep ? (existed ? currentExpiry : 0) : request.Expiry.Resolve(0);
                StageExpiring(batch, key, next, expiry);
                return new WriteResult(true, existed);

            case WriteKind.Delete:
                if (set is null)
                {
                    return new WriteResult(false, false);
                }

                batch.Delete(key);
                return new WriteResult(existed, existed);

            case WriteKind.Modify:
                var modified = request.Modifier!.Modify(existed ? winner.Span : default, existed);
                if (modified is null)
                {
                    return new WriteResult(false, existed);
                }

                set ??= SiblingSet.Empty;
                StageExpiring(batch, key, set.Put(set.Context, modified, _actor, Now(), _maxVectorEntries, DotFloor()), existed ? currentExpiry : 0);
                return new WriteResult(true, existed);

            default:
                if (!existed || request.Expiry.Mode == ExpiryMode.Keep || !request.Expiry.AppliesTo(currentExpiry))
                {
                    return new WriteResult(false, existed);
                }

                var at = request.Expiry.Resolve(currentExpiry);
                if (request.Expiry.Mode == ExpiryMode.At && at <= Now())
                {
                    batch.Delete(key); // an expiry in the past deletes, as in Redis
                }
                else
                {
                    StageExpiring(batch, key, set!, at);
                }

                return new WriteResult(true, true);
        }
    }

    /// <summary>Stages MSET's blind puts, or nothing when MSETNX finds a live key. Requires: every key's stripe.</summary>
    private bool PrepareMany(IReadOnlyList<KeyValue> pairs, bool onlyIfNoneExist, WriteBatch batch)
    {
        if (onlyIfNoneExist)
        {
            // Checked under the same stripes as the write, so no SET of these keys can slip in between.
            var read = ReadScratch();
            foreach (var pair in pairs)
            {
                read.ResetWrittenCount();
                if (_engine.TryGet(pair.Key.Span, read)
                    && (!SiblingSetFastPath.TryGetWinner(read.WrittenSpan, out _, out var live) || live))
                {
                    return false;
                }
            }
        }

        // Blind: pair i is stored with a sequence of at least floor + i, and every dot stored for the key before has a
        // counter no higher than its own write's sequence, so one sibling with counter floor + i supersedes all of them.
        var floor = DotFloor();
        for (var i = 0; i < pairs.Count; i++)
        {
            StageBlindPut(batch, pairs[i].Key.Span, pairs[i].Value.Span, floor + (ulong)i, 0);
        }

        return true;
    }

    private static int SortedStripes(IReadOnlyList<KeyValue> pairs, int[] stripes)
    {
        var count = 0;
        foreach (var pair in pairs)
        {
            stripes[count++] = StripeIndex(pair.Key.Span);
        }

        Array.Sort(stripes, 0, count);
        var unique = 0;
        for (var i = 0; i < count; i++)
        {
            if (unique == 0 || stripes[unique - 1] != stripes[i])
            {
                stripes[unique++] = stripes[i];
            }
        }

        return unique;
    }

    private void StageBlindPut(WriteBatch batch, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong counter, long expiresAtUnixMs)
    {
        var encoded = EncodeScratch();
        if (!SiblingSetFastPath.TryEncodeBlindPut([], value, _actor, Now(), _maxVectorEntries, encoded, counter))
        {
            SiblingSet.Empty.Put(VersionVector.Empty, value.ToArray(), _actor, Now(), _maxVectorEntries, counter).Encode(encoded);
        }

        Put(batch, key, encoded.WrittenSpan, expiresAtUnixMs);
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The lowest counter a dot minted now may get. Requires: the key's stripe, held until the write is applied.</summary>
    private ulong DotFloor() => _engine.LastSequence + 1;

    private static int StripeIndex(ReadOnlySpan<byte> key) => (int)(Token.Of(key).Value % StripeCount);

    private static ArrayBufferWriter<byte> ReadScratch()
    {
        var buffer = s_read ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        return buffer;
    }

    private static ArrayBufferWriter<byte> EncodeScratch()
    {
        var buffer = s_encode ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        return buffer;
    }

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
        var buffer = ReadScratch();
        expiresAtUnixMs = 0;
        if (!_engine.TryGet(key, buffer, out var expiresAt))
        {
            return null;
        }

        expiresAtUnixMs = expiresAt?.ToUnixTimeMilliseconds() ?? 0;
        return Decode(buffer.WrittenSpan);
    }

    /// <summary>Stages a sibling set for a key, or its deletion when every sibling is a tombstone.</summary>
    private static void Stage(WriteBatch batch, ReadOnlySpan<byte> key, SiblingSet set, long expiresAtUnixMs)
    {
        if (set.IsDeleted)
        {
            batch.Delete(key);
            return;
        }

        StageExpiring(batch, key, set, expiresAtUnixMs);
    }

    private static void StageExpiring(WriteBatch batch, ReadOnlySpan<byte> key, SiblingSet set, long expiresAtUnixMs)
    {
        var buffer = EncodeScratch();
        set.Encode(buffer);
        Put(batch, key, buffer.WrittenSpan, expiresAtUnixMs);
    }

    /// <summary>Stages a record with its expiry (Unix ms; 0 for none); the cluster's replica store writes the same records.</summary>
    internal static void Put(WriteBatch batch, ReadOnlySpan<byte> key, ReadOnlySpan<byte> encoded, long expiresAtUnixMs)
    {
        if (expiresAtUnixMs > 0)
        {
            batch.Put(key, encoded, DateTimeOffset.FromUnixTimeMilliseconds(expiresAtUnixMs));
        }
        else
        {
            batch.Put(key, encoded);
        }
    }

    private sealed class BatchPolicy : IPooledObjectPolicy<WriteBatch>
    {
        public WriteBatch Create() => new(4096);

        public bool Return(WriteBatch obj)
        {
            obj.Clear();
            return obj.Capacity <= MaxRetainedBatchBytes; // a batch grown by a big write is not kept
        }
    }
}
