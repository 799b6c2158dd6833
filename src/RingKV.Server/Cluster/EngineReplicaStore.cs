using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO.Hashing;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Errors;
using RingKV.Core.Hashing;
using RingKV.Core.Versioning;
using RingKV.Server.Store;
using RingKV.Storage;

namespace RingKV.Server.Cluster;

/// <summary>A cluster node's own replica over its storage engine: the records <see cref="LocalStore"/> keeps (an encoded sibling set per key, the expiry on the engine record).</summary>
/// <remarks>
/// <see cref="Submit"/> runs on the node loop and returns at once; point reads run inline; merges and updates (the writes)
/// wait for <see cref="DispatchWrites"/> and run as one batch on the dispatching thread until they would wait (for a
/// stripe, or for a commit the engine's commit thread leads), then on the thread pool; scans, counts and flushes run on
/// the thread pool; every answer goes to the callback, which queues it for the loop (never calling the node back from inside
/// Submit). A write reads, merges and writes its key under the key's stripe lock, and a batch takes its stripes when it
/// is dispatched, behind the batches dispatched before it: writes of one key apply in the order they were submitted
/// (an update must see every dot its node minted before: see <see cref="RecordUpdate"/>), and two batches
/// never wait on each other in a cycle.
/// An acknowledged write is as durable as the engine's sync policy makes it.
/// </remarks>
internal sealed class EngineReplicaStore : IReplicaStore
{
    private const int StripeCount = 4096;
    private const int MaxBatch = 256;
    private const int MaxBatchBytes = 1 << 20;
    private readonly StorageEngine _engine;
    private readonly Action<StorageDone> _done;
    private readonly TimeProvider _time;
    private readonly StripeLocks _stripes = new(StripeCount);
    private readonly StoredStamps _stamps;
    private readonly ConcurrentQueue<WriteRound> _spareRounds = new();

    // Where point reads land before their record is copied out (the submitting thread only).
    private ArrayBufferWriter<byte> _readBuffer = new(256);

    // Writes submitted in the loop's current round (loop thread only).
    private WriteRound _round = new();

    /// <param name="engine">The node's engine.</param>
    /// <param name="stamps">Bounds on the stamps the engine holds (see <see cref="StoredStamps"/>); this store is their only writer.</param>
    /// <param name="done">Where answers go.</param>
    /// <param name="time">The clock expiry is judged by.</param>
    /// <param name="hints">Where hints for DOWN replicas are kept; null: hint requests fail (tests of the data path alone).</param>
    public EngineReplicaStore(StorageEngine engine, StoredStamps stamps, Action<StorageDone> done, TimeProvider time, HintStore? hints = null)
    {
        _engine = engine;
        _stamps = stamps;
        _done = done;
        _time = time;
        _hints = hints;
    }

    private readonly HintStore? _hints;

    public void Submit(in StorageRequest request)
    {
        if (request.Operation == StorageOperation.Read)
        {
            // A point read is a memtable or block-cache lookup, or one pread on a miss (as the single node's GET on its
            // socket thread): run on the caller's thread (it completes there, having nothing to await), its answer queued
            // behind the current event rather than sent through the thread pool, which cost two thread switches per read.
            _ = RunAsync(request);
            return;
        }

        if (request.Operation is StorageOperation.Hint or StorageOperation.HintDelete or StorageOperation.HintScan or StorageOperation.HintCount)
        {
            // Queued for the hint store's round (written with the round's other hints at DispatchWrites).
            if (_hints is null)
            {
                _done(new StorageDone(request.Tag, ReplicaStatus.Error, Error: "this node keeps no hints"));
            }
            else
            {
                _hints.Submit(request);
            }

            return;
        }

        if (request.Operation is StorageOperation.Merge or StorageOperation.Update)
        {
            // Writes wait for the end of the loop's round of events (DispatchWrites) and go to the engine as one batch.
            _round.Requests.Add(request);
            _round.Bytes += request.Key.Length + (request.Record.Set?.Length ?? 0) + (request.Update?.Size ?? 0);
            if (_round.Requests.Count >= MaxBatch || _round.Bytes >= MaxBatchBytes)
            {
                DispatchWrites();
            }

            return;
        }

        if (request.Operation == StorageOperation.Ingest)
        {
            _ingests.Enqueue(request);
            if (Interlocked.CompareExchange(ref _ingesting, 1, 0) == 0)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static store => _ = store.IngestLoopAsync(), this, preferLocal: false);
            }

            return;
        }

        var copy = request;
        ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Store.RunAsync(state.Request), (Store: this, Request: copy), preferLocal: false);
    }

    /// <summary>
    /// Runs the writes submitted since the last call as one batch, its keys' stripes requested now: on this thread until the
    /// batch waits for a stripe or a commit (the engine's pipeline leads an unsynced commit inline, and never parks the
    /// caller), then on the thread pool.
    /// The host calls it after each round of events it handled (Submit also does once a batch is full), from the thread
    /// that calls Submit.
    /// </summary>
    /// <remarks>
    /// One batch is one engine write and one commit group: per merge, the work items, commit-pipeline groups and thread
    /// switches were the cluster's write cost at -P 16. Run inline on the node loop rather than as a thread-pool work item
    /// (two thread switches per batch, its own and the answers' wake of the loop): 3 nodes, SET -P 16 against every node,
    /// 58K -> 66-73K rps, CPU per request -15-25% (docs/benchmarks.md). The stripes are requested here, on the submitting
    /// thread, so each stripe grants its batches in dispatch order (first come, first served).
    /// </remarks>
    public void DispatchWrites()
    {
        _hints?.Dispatch();
        var round = _round;
        if (round.Requests.Count == 0)
        {
            return;
        }

        _round = _spareRounds.TryDequeue(out var spare) ? spare : new WriteRound();
        round.Acquire(_stripes);
        _ = WriteBatchAsync(round);
    }

    private async Task RunAsync(StorageRequest request)
    {
        StorageDone done;
        try
        {
            done = request.Operation switch
            {
                StorageOperation.Read => Read(request),
                StorageOperation.Scan => Scan(request),
                StorageOperation.Count => Count(request),
                StorageOperation.HintedRead => HintedRead(request),
                StorageOperation.Flush => await FlushAsync(request).ConfigureAwait(false),
                StorageOperation.Cleanup => await CleanupAsync(request).ConfigureAwait(false),
                _ => new StorageDone(request.Tag, ReplicaStatus.Error, Error: $"storage operation {request.Operation} is not served here"),
            };
        }
        catch (Exception e) when (e is RingKVException or System.IO.IOException or ObjectDisposedException)
        {
            done = new StorageDone(request.Tag, ReplicaStatus.Error, Error: e.Message);
        }

        _done(done);
    }

    private StorageDone Read(in StorageRequest request)
    {
        var buffer = _readBuffer; // reads run on the submitting thread only (see Submit), one at a time
        buffer.ResetWrittenCount();
        if (!_engine.TryGet(request.Key, buffer, out var expiresAt))
        {
            return new StorageDone(request.Tag, ReplicaStatus.Ok, ReplicaRecord.None);
        }

        var record = new ReplicaRecord(buffer.WrittenSpan.ToArray(), expiresAt?.ToUnixTimeMilliseconds() ?? 0);
        if (buffer.Capacity > 256 * 1024)
        {
            _readBuffer = new ArrayBufferWriter<byte>(256); // not kept after a big value
        }

        return new StorageDone(request.Tag, ReplicaStatus.Ok, record);
    }

    /// <summary>Tombstone records removed by <see cref="PurgeTombstonesAsync"/> since start.</summary>
    public long TombstonesPurged;

    /// <summary>
    /// Removes every record whose siblings are all tombstones stamped before <paramref name="cutoffUnixMs"/> (now minus
    /// --tombstone-grace): a delete is kept that long so that anti-entropy (which runs more often: start-up refuses a grace
    /// shorter than the repair interval or the hint window) can hand it to a replica that missed it; removed earlier, the
    /// replica's older value would come back (resurrection). Each candidate is read again and removed under its key's
    /// stripe, so a write that landed since is never removed. Runs on the thread pool; returns how many it removed.
    /// </summary>
    public async Task<long> PurgeTombstonesAsync(long cutoffUnixMs)
    {
        var candidates = new List<byte[]>();
        using (var it = _engine.NewIterator(TokenRange.All))
        {
            while (it.MoveNext())
            {
                if (IsPurgeable(it.Value, cutoffUnixMs))
                {
                    candidates.Add(it.Key.ToArray());
                }
            }
        }

        long purged = 0;
        var buffer = new ArrayBufferWriter<byte>(256);
        foreach (var key in candidates)
        {
            var stripe = (int)(XxHash64.HashToUInt64(key) % StripeCount);
            await _stripes.AcquireAsync(stripe).ConfigureAwait(false);
            try
            {
                buffer.ResetWrittenCount();
                if (_engine.TryGet(key, buffer, out _) && IsPurgeable(buffer.WrittenSpan, cutoffUnixMs))
                {
                    var batch = new WriteBatch(key.Length + 16);
                    batch.Delete(key);
                    await _engine.WriteAsync(batch).ConfigureAwait(false);
                    purged++;
                }
            }
            finally
            {
                _stripes.Release(stripe);
            }
        }

        Interlocked.Add(ref TombstonesPurged, purged);
        return purged;
    }

    /// <summary>
    /// Removes every record whose token is in none of the request's ranges (the ones this node replicates): data a
    /// membership change moved to other nodes, who hold it. In batches, without the key stripes: a write that reaches a
    /// key this node no longer replicates comes from a coordinator on an older ring, and the key's replicas have it too.
    /// </summary>
    private async Task<StorageDone> CleanupAsync(StorageRequest request)
    {
        var ranges = request.Ranges ?? [];
        var firsts = new ulong[ranges.Count];
        for (var i = 0; i < ranges.Count; i++)
        {
            firsts[i] = ranges[i].First;
        }

        bool Owned(ulong token)
        {
            var at = Array.BinarySearch(firsts, token);
            at = at >= 0 ? at : ~at - 1;
            return at >= 0 && token <= ranges[at].Last;
        }

        var doomed = new List<byte[]>();
        using (var it = _engine.NewIterator(TokenRange.All))
        {
            while (it.MoveNext())
            {
                if (!Owned(it.Token.Value))
                {
                    doomed.Add(it.Key.ToArray());
                }
            }
        }

        for (var start = 0; start < doomed.Count; start += 1024)
        {
            var end = Math.Min(doomed.Count, start + 1024);
            var batch = new WriteBatch(16 * 1024);
            for (var i = start; i < end; i++)
            {
                batch.Delete(doomed[i]);
            }

            await _engine.WriteAsync(batch).ConfigureAwait(false);
        }

        return new StorageDone(request.Tag, ReplicaStatus.Ok, Keys: doomed.Count);
    }

    // Write rounds between their first read and their answers, per epoch (see IngestGroupAsync); only the ingest runner flips it.
    private readonly long[] _roundsIn = new long[2];
    private int _epoch;

    // While the ingest runner works, the hashes of the keys every write round touches (counted in the epoch it entered).
    private readonly HashSet<ulong> _written = [];
    private readonly Lock _writtenLock = new();
    private bool _recording;

    // Stream pages waiting for the ingest runner, and whether it runs (one at a time: each group flips the epoch).
    private readonly ConcurrentQueue<StorageRequest> _ingests = new();
    private int _ingesting;

    // Records one ingest group takes at most: pages queued meanwhile go in the next one.
    private const int MaxIngestGroupRecords = 64 * 1024;

    /// <summary>Counts a write round in the current epoch; returns the epoch it was counted in.</summary>
    private int EnterEpoch()
    {
        while (true)
        {
            var epoch = Volatile.Read(ref _epoch);
            Interlocked.Increment(ref _roundsIn[epoch]);
            if (Volatile.Read(ref _epoch) == epoch)
            {
                return epoch;
            }

            Interlocked.Decrement(ref _roundsIn[epoch]); // flipped meanwhile: count in the new one
        }
    }

    private void RecordWritten(List<StorageRequest> requests)
    {
        lock (_writtenLock)
        {
            foreach (var request in requests)
            {
                _written.Add(XxHash64.HashToUInt64(request.Key));
            }
        }
    }

    /// <summary>Flips the epoch and waits until every write round counted in the old one has answered (its writes visible).</summary>
    private async Task FlipEpochAsync()
    {
        var old = _epoch;
        Volatile.Write(ref _epoch, 1 - old);
        while (Volatile.Read(ref _roundsIn[old]) > 0)
        {
            await Task.Delay(1).ConfigureAwait(false);
        }
    }

    /// <summary>Runs queued stream pages, every page queued by then as one group (one manifest write), until none is left.</summary>
    private async Task IngestLoopAsync()
    {
        while (true)
        {
            var group = new List<StorageRequest>();
            var records = 0;
            while (records < MaxIngestGroupRecords && _ingests.TryDequeue(out var request))
            {
                group.Add(request);
                records += request.Entries?.Count ?? 0;
            }

            if (group.Count > 0)
            {
                Volatile.Write(ref _recording, true);
                StorageDone[] answers;
                try
                {
                    answers = await IngestGroupAsync(group).ConfigureAwait(false);
                }
                catch (Exception e) when (e is RingKVException or System.IO.IOException or ObjectDisposedException)
                {
                    answers = [.. group.Select(r => new StorageDone(r.Tag, ReplicaStatus.Error, Error: e.Message))];
                }

                foreach (var answer in answers)
                {
                    _done(answer);
                }

                continue;
            }

            Volatile.Write(ref _recording, false);
            Volatile.Write(ref _ingesting, 0);
            if (_ingests.IsEmpty || Interlocked.CompareExchange(ref _ingesting, 1, 0) != 0)
            {
                return; // nothing queued, or a submit that queued after the check started a runner of its own
            }
        }
    }

    /// <summary>
    /// Stream pages stored in bulk (<see cref="StorageOperation.Ingest"/>): every record whose key the engine holds no
    /// version of goes into a table per page (<see cref="StorageEngine.IngestRuns"/>: one manifest write for them all),
    /// unread and unmerged; each page's others come back for the caller to merge.
    /// </summary>
    /// <remarks>
    /// A write of an ingested key that read before the table was in found nothing; written after the check, it wins over
    /// the ingested record (a higher sequence) without the streamed siblings. Such keys come back too, for the caller's
    /// merge, which queues on the key's stripe behind that write. To know them without reading every key again: the
    /// written-key set is emptied, then the epoch flips and the group waits for every write round counted before (which
    /// did not record its keys, and whose writes the checks then see); every round since records its keys before it reads,
    /// so after the table is in, an ingested key whose hash was recorded may have been written around it and comes back
    /// (a hash that only collides costs one merge). The records' stamps raise their buckets' bounds before the table is in,
    /// so no plain write below them goes in blind over them (<see cref="StoredStamps"/>).
    /// </remarks>
    private async Task<StorageDone[]> IngestGroupAsync(List<StorageRequest> group)
    {
        lock (_writtenLock)
        {
            _written.Clear();
        }

        await FlipEpochAsync().ConfigureAwait(false);
        var sequence = _engine.LastSequence; // before the checks: every write they do not see comes after it

        // Pages are in the engine's order each and hold disjoint ranges: ordered by their first key, they are in order
        // together, unless a page was asked again while its first answer still queued (then the group is sorted).
        group.Sort(static (a, b) => ComparePages(a.Entries, b.Entries));
        var back = new List<ScanEntry>[group.Count];
        var runs = new List<List<IngestRecord>>(group.Count);
        var ingested = new List<(ScanEntry Entry, int Page, ulong Hash)>(); // the key's hash: its stamp bucket, and what write rounds record
        var latest = long.MinValue;
        var versioned = false;
        var inOrder = true;
        var previous = default(ScanEntry);
        for (var page = 0; page < group.Count; page++)
        {
            back[page] = [];
            var entries = group[page].Entries ?? [];
            var run = new List<IngestRecord>(entries.Count);
            var held = HeldKeys(entries);
            for (var e = 0; e < entries.Count; e++)
            {
                var entry = entries[e];
                if (!entry.Record.Exists || entry.Key.Length == 0 || held[e]
                    || !SiblingSetFastPath.TryReadStamps(entry.Record.Set, out var stamp, out var lwwOnly))
                {
                    back[page].Add(entry); // held already (or not a record the fast path reads): the merge path decides
                    continue;
                }

                inOrder &= previous.Key is null || CompareEntries(previous, entry) < 0;
                previous = entry;
                var hash = XxHash64.HashToUInt64(entry.Key);
                _stamps.Stored(StoredStamps.BucketOf(hash), stamp.Value, lwwOnly);
                latest = Math.Max(latest, stamp.Value);
                versioned |= !lwwOnly;
                run.Add(new IngestRecord(entry.Key, entry.Record.Set, entry.Record.ExpiresAtUnixMs));
                ingested.Add((entry, page, hash));
            }

            if (run.Count > 0)
            {
                runs.Add(run);
            }
        }

        if (!inOrder)
        {
            // A key twice goes in once; its other copy comes back.
            ingested.Sort(static (a, b) => CompareEntries(a.Entry, b.Entry));
            var records = new List<IngestRecord>(ingested.Count);
            runs = [records];
            var unique = new List<(ScanEntry Entry, int Page, ulong Hash)>(ingested.Count);
            foreach (var item in ingested)
            {
                if (unique.Count > 0 && CompareEntries(unique[^1].Entry, item.Entry) == 0)
                {
                    back[item.Page].Add(item.Entry);
                    continue;
                }

                unique.Add(item);
                records.Add(new IngestRecord(item.Entry.Key, item.Entry.Record.Set, item.Entry.Record.ExpiresAtUnixMs));
            }

            ingested = unique;
        }

        var stored = new long[group.Count];
        if (ingested.Count > 0)
        {
            _stamps.EnsureDurable(latest, versioned);
            var refused = false;
            try
            {
                _engine.IngestRuns(runs, sequence);
            }
            catch (RingKVException e) when (e.Code == ErrorCode.InvalidArgument)
            {
                refused = true; // a key or value over the engine's limits: nothing went in; the merge path answers each record
            }

            lock (_writtenLock)
            {
                foreach (var (entry, page, hash) in ingested)
                {
                    if (refused || _written.Contains(hash))
                    {
                        back[page].Add(entry);
                    }
                    else
                    {
                        stored[page]++;
                    }
                }
            }

        }

        return [.. group.Select((r, page) => new StorageDone(r.Tag, ReplicaStatus.Ok, Entries: back[page], Keys: stored[page]))];
    }

    /// <summary>Which of a page's keys the engine holds a version of: one pass over the page's span (pages come in the engine's order), a lookup per key otherwise.</summary>
    private bool[] HeldKeys(IReadOnlyList<ScanEntry> entries)
    {
        var held = new bool[entries.Count];
        var keys = new byte[entries.Count][];
        for (var i = 0; i < entries.Count; i++)
        {
            keys[i] = entries[i].Key;
        }

        try
        {
            _engine.MarkHeld(keys, held);
        }
        catch (RingKVException e) when (e.Code == ErrorCode.InvalidArgument)
        {
            for (var i = 0; i < keys.Length; i++)
            {
                held[i] = _engine.TryGetNewestSequence(keys[i], out _);
            }
        }

        return held;
    }

    /// <summary>The engine's order of two records' keys: token, then bytes.</summary>
    private static int CompareEntries(in ScanEntry a, in ScanEntry b)
    {
        var byToken = Token.Of(a.Key).CompareTo(Token.Of(b.Key));
        return byToken != 0 ? byToken : a.Key.AsSpan().SequenceCompareTo(b.Key);
    }

    private static int ComparePages(IReadOnlyList<ScanEntry>? a, IReadOnlyList<ScanEntry>? b) =>
        (a is { Count: > 0 }, b is { Count: > 0 }) switch
        {
            (true, true) => CompareEntries(a![0], b![0]),
            (false, true) => -1,
            (true, false) => 1,
            _ => 0,
        };

    private static bool IsPurgeable(ReadOnlySpan<byte> record, long cutoffUnixMs)
    {
        if (!SiblingSet.TryDecode(record, out var set, out _) || set.Count == 0 || set.MaxTimestamp.UnixMs >= cutoffUnixMs)
        {
            return false;
        }

        foreach (var sibling in set.Siblings)
        {
            if (!sibling.IsTombstone)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A stand-in's read: its own record of the key merged with the hint it keeps of it for the DOWN replica.</summary>
    /// <remarks>Runs on the thread pool (stand-in reads are rare): its own buffer, not the loop's.</remarks>
    private StorageDone HintedRead(in StorageRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var own = new StorageDone(request.Tag, ReplicaStatus.Ok, _engine.TryGet(request.Key, buffer, out var ownExpiry)
            ? new ReplicaRecord(buffer.WrittenSpan.ToArray(), ownExpiry?.ToUnixTimeMilliseconds() ?? 0)
            : ReplicaRecord.None);
        if (_hints is null || own.Status != ReplicaStatus.Ok || !_hints.TryGet(request.Target!.Value, request.Key, out var hint)
            || !SiblingSet.TryDecode(hint.Set, out var hinted, out _))
        {
            return own;
        }

        if (!own.Record.Exists || !SiblingSet.TryDecode(own.Record.Set, out var stored, out _))
        {
            return own with { Record = hint };
        }

        var expiry = hint.ExpiresAtUnixMs;
        var merged = Merge(stored, own.Record.ExpiresAtUnixMs, hinted, ref expiry);
        var encoded = new ArrayBufferWriter<byte>(256);
        merged.Encode(encoded);
        return own with { Record = new ReplicaRecord(encoded.WrittenSpan.ToArray(), expiry) };
    }

    /// <summary>
    /// Applies a round's writes: once its stripes are granted, each key's stored set is read, the delta merged into it (or
    /// the versioned update applied to it) and the result encoded into one write batch, except a plain write stamped above
    /// everything its bucket stored, which goes in as it came (<see cref="StoredStamps"/>); one engine write makes them all
    /// durable, once the durable stamp bound covers them; then every write is answered. A key twice in the round sees the
    /// first's result. When the engine refuses the batch as a whole (a key or value over its limits), each write is stored
    /// alone so only the offending ones fail.
    /// </summary>
    private async Task WriteBatchAsync(WriteRound round)
    {
        var requests = round.Requests;
        var count = requests.Count;
        var results = ArrayPool<Written?>.Shared.Rent(count);
        var applying = 0; // requests before it are answered or have a result
        var epoch = -1;
        try
        {
            await round.WaitForStripesAsync().ConfigureAwait(false);
            epoch = EnterEpoch();
            if (Volatile.Read(ref _recording))
            {
                RecordWritten(requests);
            }
            var (batch, read, encoded) = (round.Batch, round.Read, round.Encoded); // reused with the round
            batch.Clear();
            long latest = long.MinValue;
            var versioned = false;
            for (; applying < count; applying++)
            {
                var i = applying;
                string error;
                try
                {
                    results[i] = Apply(round, results, i, read, encoded, out error);
                }
                catch (RingKVException e)
                {
                    error = e.Message; // this key only (e.g. longer than the engine takes)
                }

                if (results[i] is { } written)
                {
                    LocalStore.Put(batch, requests[i].Key, written.Blind ?? encoded.WrittenSpan, written.ExpiresAtUnixMs);
                    latest = Math.Max(latest, written.Latest);
                    versioned |= !written.LastWriterWinsOnly;
                }
                else
                {
                    _done(new StorageDone(requests[i].Tag, ReplicaStatus.Error, Error: error));
                }
            }

            _stamps.EnsureDurable(latest, versioned);
            try
            {
                await _engine.WriteAsync(batch).ConfigureAwait(false);
                Answer(requests, results, count, error: null);
            }
            catch (RingKVException) when (count > 1)
            {
                await WriteOneByOneAsync(requests, results, count).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is RingKVException or System.IO.IOException or ObjectDisposedException)
        {
            Answer(requests, results, applying, e.Message);
            for (var i = applying; i < count; i++)
            {
                _done(new StorageDone(requests[i].Tag, ReplicaStatus.Error, Error: e.Message));
            }
        }
        finally
        {
            if (epoch >= 0)
            {
                Interlocked.Decrement(ref _roundsIn[epoch]);
            }

            round.Release(_stripes);
            ArrayPool<Written?>.Shared.Return(results, clearArray: true);
            _spareRounds.Enqueue(round);
        }
    }

    /// <summary>
    /// Applies request <paramref name="i"/> to its key's current set (an earlier result in this round, else the stored
    /// record); null (and why) when its delta, or for an update the stored record, does not decode.
    /// </summary>
    /// <remarks>Leaves the new set's encoding in <paramref name="encoded"/>.</remarks>
    private Written? Apply(WriteRound round, Written?[] results, int i, ArrayBufferWriter<byte> read, ArrayBufferWriter<byte> encoded, out string error)
    {
        var request = round.Requests[i];
        error = "";
        var bucket = round.BucketOf(i);
        if (request.Operation == StorageOperation.Merge
            && SiblingSetFastPath.TryReadStamps(request.Record.Set, out var stamp, out var lwwOnly) && lwwOnly && _stamps.IsAbove(bucket, stamp.Value))
        {
            // A plain write above everything the key can hold supersedes it: stored as it came, unread.
            _stamps.Stored(bucket, stamp.Value, lastWriterWinsOnly: true);
            Interlocked.Increment(ref _stamps.BlindWrites);
            return new Written(null, request.Record.ExpiresAtUnixMs, null, request.Record.Set, stamp.Value, LastWriterWinsOnly: true);
        }

        Interlocked.Increment(ref _stamps.ReadWrites);
        SiblingSet? current = null;
        long currentExpiry = 0;
        if (round.EarlierResult(results, i) is { } earlier)
        {
            // A blind earlier write's bytes parsed as a set; should they not decode, a plain write replaces them as a damaged record.
            current = earlier.Set ?? (SiblingSet.TryDecode(earlier.Blind, out var blind, out _) ? blind : null);
            currentExpiry = earlier.ExpiresAtUnixMs;
        }
        else
        {
            read.ResetWrittenCount();
            if (_engine.TryGet(request.Key, read, out var storedExpiry))
            {
                if (!SiblingSet.TryDecode(read.WrittenSpan, out var stored, out var storedError))
                {
                    if (request.Operation == StorageOperation.Update)
                    {
                        // Writing over it would drop whatever it held; a plain write (a merge of a last-writer-wins delta) replaces it.
                        error = $"the stored record does not decode: {storedError}";
                        return null;
                    }
                }
                else
                {
                    (current, currentExpiry) = (stored, storedExpiry?.ToUnixTimeMilliseconds() ?? 0);
                }
            }
        }

        SiblingSet result;
        long expiry;
        if (request.Operation == StorageOperation.Update)
        {
            if (!request.Update!.TryApply(current ?? SiblingSet.Empty, current is null ? 0 : currentExpiry, out var updated, out expiry, out var refused))
            {
                error = refused;
                return null;
            }

            result = updated;
        }
        else
        {
            if (!SiblingSet.TryDecode(request.Record.Set, out var delta, out var decodeError))
            {
                error = $"undecodable write: {decodeError}";
                return null;
            }

            expiry = request.Record.ExpiresAtUnixMs;
            result = current is null ? delta : Merge(current, currentExpiry, delta, ref expiry);
        }

        encoded.ResetWrittenCount();
        result.Encode(encoded);
        // The record's latest stamp and kind, read back from its bytes (what a restart's scan would read).
        var parsed = SiblingSetFastPath.TryReadStamps(encoded.WrittenSpan, out var latest, out var onlyLww);
        var resultLatest = parsed ? latest.Value : result.MaxTimestamp.Value;
        var resultLwwOnly = parsed && onlyLww;
        _stamps.Stored(bucket, resultLatest, resultLwwOnly);
        return new Written(result, expiry, request.Operation == StorageOperation.Update ? encoded.WrittenSpan.ToArray() : null, null, resultLatest, resultLwwOnly);
    }

    /// <summary>The stored set merged with a delta; the record's expiry belongs to the write whose sibling wins (a later SET without EX clears it).</summary>
    /// <remarks>The one merge rule of a stored record: the replica's writes, a stand-in's reads and the hints kept for a DOWN replica use it.</remarks>
    internal static SiblingSet Merge(SiblingSet stored, long storedExpiry, SiblingSet delta, ref long expiry)
    {
        var storedWins = stored.Winner is { } s && (delta.Winner is not { } d || !d.WinsOver(s));
        if (storedWins)
        {
            expiry = storedExpiry;
        }

        return stored.Merge(delta);
    }

    /// <summary>The fallback when the engine refused a whole batch: each new record written alone, each answered by its own outcome.</summary>
    private async Task WriteOneByOneAsync(List<StorageRequest> requests, Written?[] results, int count)
    {
        var encoded = new ArrayBufferWriter<byte>(256);
        for (var i = 0; i < count; i++)
        {
            if (results[i] is not { } written)
            {
                continue;
            }

            try
            {
                encoded.ResetWrittenCount();
                written.Set?.Encode(encoded);
                var record = written.Blind ?? encoded.WrittenSpan;
                var one = new WriteBatch(record.Length + requests[i].Key.Length + 32);
                LocalStore.Put(one, requests[i].Key, record, written.ExpiresAtUnixMs);
                await _engine.WriteAsync(one).ConfigureAwait(false);
                _done(Done(requests[i], written, error: null));
            }
            catch (RingKVException e)
            {
                _done(Done(requests[i], written, e.Message));
            }
        }
    }

    /// <summary>Answers the first <paramref name="count"/> writes that have a result (the others were answered already): Ok, or the error.</summary>
    private void Answer(List<StorageRequest> requests, Written?[] results, int count, string? error)
    {
        for (var i = 0; i < count; i++)
        {
            if (results[i] is { } written)
            {
                _done(Done(requests[i], written, error));
            }
        }
    }

    /// <summary>A write's answer: an update's carries the record the key now holds.</summary>
    private static StorageDone Done(in StorageRequest request, Written written, string? error) =>
        error is not null ? new StorageDone(request.Tag, ReplicaStatus.Error, Error: error)
        : written.Answer is { } record ? new StorageDone(request.Tag, ReplicaStatus.Ok, new ReplicaRecord(record, 0))
        : new StorageDone(request.Tag, ReplicaStatus.Ok);

    /// <summary>Records with tokens in [First, Last] in token order; stops after about Limit, never inside one token's records.</summary>
    private StorageDone Scan(in StorageRequest request)
    {
        var entries = new List<ScanEntry>();
        using var it = _engine.NewIterator(new TokenRange(new Token(request.First), new Token(request.Last)));
        var limit = Math.Max(1, request.Limit);
        ulong lastToken = 0;
        while (it.MoveNext())
        {
            var token = it.Token.Value;
            if (entries.Count >= limit && token != lastToken)
            {
                return new StorageDone(request.Tag, ReplicaStatus.Ok, Entries: entries, Complete: false, Next: token);
            }

            entries.Add(new ScanEntry(it.Key.ToArray(), new ReplicaRecord(it.Value.ToArray(), it.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0)));
            lastToken = token;
        }

        return new StorageDone(request.Tag, ReplicaStatus.Ok, Entries: entries, Complete: true);
    }

    /// <summary>Live, unexpired keys in the ranges, those with an expiry, and their time left.</summary>
    private StorageDone Count(in StorageRequest request)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        long keys = 0, expires = 0, ttlSum = 0;
        foreach (var (first, last) in request.Ranges ?? [])
        {
            using var it = _engine.NewIterator(new TokenRange(new Token(first), new Token(last)));
            while (it.MoveNext())
            {
                var expiry = it.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0;
                if ((expiry != 0 && expiry <= now) || !IsLive(it.Value))
                {
                    continue;
                }

                keys++;
                if (expiry != 0)
                {
                    expires++;
                    ttlSum += expiry - now;
                }
            }
        }

        return new StorageDone(request.Tag, ReplicaStatus.Ok, Keys: keys, Expires: expires, TtlSumMs: ttlSum);
    }

    private async ValueTask<StorageDone> FlushAsync(StorageRequest request)
    {
        await LocalStore.DeleteEveryKeyAsync(_engine).ConfigureAwait(false);
        return new StorageDone(request.Tag, ReplicaStatus.Ok);
    }

    private static bool IsLive(ReadOnlySpan<byte> encoded)
    {
        if (SiblingSetFastPath.TryGetWinner(encoded, out _, out var live))
        {
            return live;
        }

        return SiblingSet.TryDecode(encoded, out var set, out _) && set.TryGetWinnerValue(out _);
    }

    /// <summary>
    /// A write's new set (null when it went blind: then <paramref name="Blind"/> is the record as it came), its record's
    /// expiry (0: none), for an update the encoded record it answers with, and the record's latest stamp and kind.
    /// </summary>
    private readonly record struct Written(SiblingSet? Set, long ExpiresAtUnixMs, byte[]? Answer, byte[]? Blind, long Latest, bool LastWriterWinsOnly);

    /// <summary>The writes of one loop round and the stripes their keys hold; reused once answered.</summary>
    private sealed class WriteRound
    {
        private const int KeptBytes = 256 * 1024;

        private int[] _stripeOf = new int[MaxBatch];
        private int[] _bucketOf = new int[MaxBatch];
        private int[] _held = new int[MaxBatch];
        private ValueTask[] _grants = new ValueTask[MaxBatch];
        private int _heldCount;

        public List<StorageRequest> Requests { get; } = new(MaxBatch);

        /// <summary>The round's engine batch, and buffers to read and encode sets in: kept with the round (the engine holds the batch only while it writes it).</summary>
        public WriteBatch Batch { get; private set; } = new(4096);

        public ArrayBufferWriter<byte> Read { get; private set; } = new(256);

        public ArrayBufferWriter<byte> Encoded { get; private set; } = new(256);

        public int Bytes { get; set; }

        /// <summary>Requests each distinct stripe of the round's keys, in stripe order; granted in order behind earlier rounds.</summary>
        public void Acquire(StripeLocks stripes)
        {
            var count = Requests.Count;
            if (_stripeOf.Length < count)
            {
                _stripeOf = new int[count];
                _bucketOf = new int[count];
                _held = new int[count];
                _grants = new ValueTask[count];
            }

            for (var i = 0; i < count; i++)
            {
                var hash = XxHash64.HashToUInt64(Requests[i].Key);
                _bucketOf[i] = StoredStamps.BucketOf(hash);
                _stripeOf[i] = (int)(hash % StripeCount); // the bucket's stripe: StripeCount divides BucketCount
                _held[i] = _stripeOf[i];
            }

            Array.Sort(_held, 0, count);
            _heldCount = 0;
            for (var i = 0; i < count; i++)
            {
                if (_heldCount == 0 || _held[_heldCount - 1] != _held[i])
                {
                    _held[_heldCount++] = _held[i];
                }
            }

            for (var i = 0; i < _heldCount; i++)
            {
                // Stored, then awaited exactly once by WaitForStripesAsync: the request must be queued now, in dispatch order.
#pragma warning disable CA2012
                _grants[i] = stripes.AcquireAsync(_held[i]);
#pragma warning restore CA2012
            }
        }

        public async ValueTask WaitForStripesAsync()
        {
            for (var i = 0; i < _heldCount; i++)
            {
                await _grants[i].ConfigureAwait(false);
                _grants[i] = default;
            }
        }

        /// <summary>Gives the stripes up and empties the round for reuse.</summary>
        public void Release(StripeLocks stripes)
        {
            for (var i = 0; i < _heldCount; i++)
            {
                stripes.Release(_held[i]);
            }

            _heldCount = 0;
            Requests.Clear();
            Bytes = 0;

            // A round of big values leaves big buffers: not kept (a spare round holds at most KeptBytes in each).
            if (Batch.Capacity > KeptBytes)
            {
                Batch = new WriteBatch(4096);
            }

            Read = Read.Capacity > KeptBytes ? new(256) : Read;
            Encoded = Encoded.Capacity > KeptBytes ? new(256) : Encoded;
        }

        /// <summary>The stamp bucket of request <paramref name="i"/>'s key.</summary>
        public int BucketOf(int i) => _bucketOf[i];

        /// <summary>The result of the last earlier write of the same key in this round, if any.</summary>
        public Written? EarlierResult(Written?[] results, int i)
        {
            for (var j = i - 1; j >= 0; j--)
            {
                if (_stripeOf[j] == _stripeOf[i] && results[j] is { } earlier && Requests[j].Key.AsSpan().SequenceEqual(Requests[i].Key))
                {
                    return earlier;
                }
            }

            return null;
        }
    }
}
