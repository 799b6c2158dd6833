using System;
using System.Buffers;
using System.Collections.Generic;
using System.Linq;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Hashing;
using RingKV.Core.Versioning;

namespace RingKV.Simulation;

/// <summary>
/// One node's replica store in the simulator: a dictionary of records that answers each request after a seeded small
/// delay, in submission order (so merges of one key apply in the order they were submitted, as the contract asks).
/// </summary>
/// <remarks>
/// Durability model: the store keeps a synced part and an unsynced overlay. With <see cref="SyncEveryMerge"/> (the
/// default, the server's <c>--sync always</c>) a merge is synced before it is acknowledged, so a crash keeps every
/// acknowledged merge and loses only requests not yet applied (never acknowledged). Without it merges land in the
/// overlay until <see cref="Sync"/>, and a crash drops the overlay too. The simulation runs with sync-always only:
/// the other mode is there to model a weaker setting later, not exercised by the invariants today.
/// </remarks>
internal sealed class SimStore(Simulator sim, int node) : IReplicaStore
{
    private readonly SortedDictionary<string, ReplicaRecord> _synced = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ReplicaRecord?> _unsynced = new(StringComparer.Ordinal);
    private long _lastDoneAt;

    // Hints kept for DOWN replicas, by (target, key): the merged record and when the first was kept (Unix ms, the node's
    // clock). Synced at once: a hint is acknowledged only once durable (sync-always, as every merge here).
    private readonly SortedDictionary<(string Target, string Key), (ReplicaRecord Record, long KeptAtUnixMs)> _hints = [];

    /// <summary>Sync each merge before acknowledging it (<c>--sync always</c>).</summary>
    public bool SyncEveryMerge { get; init; } = true;

    /// <summary>The incarnation of the node the store answers; answers to an earlier incarnation are dropped at delivery.</summary>
    public ulong Generation { get; set; } = 1;

    /// <summary>Called with (key, delta) for every merge applied, for the checker's bookkeeping.</summary>
    public Action<int, string, ReplicaRecord>? OnMerged { get; set; }

    /// <summary>Called with (node, key, the set before, the set after) for every versioned update applied.</summary>
    public Action<int, string, SiblingSet, SiblingSet>? OnUpdated { get; set; }

    /// <summary>Called with (node, key, the increment, the set after) for every increment applied (after <see cref="OnUpdated"/>).</summary>
    public Action<int, string, CounterUpdate, SiblingSet>? OnIncremented { get; set; }

    public void Submit(in StorageRequest request)
    {
        if (sim.CaptureWrites is { } capture && request.Operation is StorageOperation.Merge or StorageOperation.Hint)
        {
            capture(request.Record);
        }

        // FIFO completion: each request finishes no earlier than the one before it.
        var at = Math.Max(_lastDoneAt, sim.Now + sim.Random.Next(0, 30_000)); // up to 3 ms (100 ns ticks)
        _lastDoneAt = at;
        var copy = request;
        var generation = Generation;
        sim.Schedule(at, () => sim.CompleteStorage(node, generation, Apply(copy)));
    }

    /// <summary>Makes the overlay durable.</summary>
    public void Sync()
    {
        foreach (var (key, record) in _unsynced)
        {
            if (record is { } r)
            {
                _synced[key] = r;
            }
            else
            {
                _synced.Remove(key);
            }
        }

        _unsynced.Clear();
    }

    /// <summary>A crash: only the synced part survives; requests not yet applied are lost with the process.</summary>
    public void Crash()
    {
        _unsynced.Clear();
        _lastDoneAt = 0;
    }

    /// <summary>The record of <paramref name="key"/> as a reader of this store sees it.</summary>
    public ReplicaRecord Get(string key) =>
        _unsynced.TryGetValue(key, out var pending) ? pending ?? ReplicaRecord.None
        : _synced.TryGetValue(key, out var record) ? record : ReplicaRecord.None;

    /// <summary>Every key the store holds (synced or not), sorted.</summary>
    public IEnumerable<string> Keys => _synced.Keys.Concat(_unsynced.Keys).Distinct().Order(StringComparer.Ordinal);

    private StorageDone Apply(StorageRequest request)
    {
        switch (request.Operation)
        {
            case StorageOperation.Read:
                return new StorageDone(request.Tag, ReplicaStatus.Ok, Get(Key(request.Key)));
            case StorageOperation.Merge:
                {
                    var key = Key(request.Key);
                    if (!SiblingSet.TryDecode(request.Record.Set, out var delta, out var error))
                    {
                        return new StorageDone(request.Tag, ReplicaStatus.Error, Error: "bad record: " + error);
                    }

                    var stored = Get(key);
                    var merged = MergeRecord(stored, delta, request.Record.ExpiresAtUnixMs);
                    Put(key, merged);
                    if (SyncEveryMerge)
                    {
                        Sync();
                    }

                    OnMerged?.Invoke(node, key, request.Record);
                    return new StorageDone(request.Tag, ReplicaStatus.Ok);
                }

            case StorageOperation.Update:
                {
                    // Read, apply and write in one step: nothing else runs between (the simulator is one thread).
                    var key = Key(request.Key);
                    var stored = SiblingSet.Empty;
                    var record = Get(key);
                    if (record.Exists && !SiblingSet.TryDecode(record.Set, out stored, out var error))
                    {
                        return new StorageDone(request.Tag, ReplicaStatus.Error, Error: "stored record does not decode: " + error);
                    }

                    if (!request.Update!.TryApply(stored, record.ExpiresAtUnixMs, out var result, out var expiry, out var refused))
                    {
                        return new StorageDone(request.Tag, ReplicaStatus.Error, Error: refused);
                    }

                    var buffer = new ArrayBufferWriter<byte>();
                    result.Encode(buffer);
                    var written = new ReplicaRecord(buffer.WrittenSpan.ToArray(), expiry);
                    Put(key, written);
                    if (SyncEveryMerge)
                    {
                        Sync();
                    }

                    OnUpdated?.Invoke(node, key, stored, result);
                    if (request.Update is CounterUpdate increment)
                    {
                        OnIncremented?.Invoke(node, key, increment, result);
                    }
                    return new StorageDone(request.Tag, ReplicaStatus.Ok, written);
                }

            case StorageOperation.Scan:
                return Scan(request);
            case StorageOperation.Count:
                return Count(request);
            case StorageOperation.Hint:
                return KeepHint(request);
            case StorageOperation.HintedRead:
                {
                    var key = Key(request.Key);
                    var record = Get(key);
                    if (_hints.TryGetValue((request.Target!.Value.Name, key), out var hint) && SiblingSet.TryDecode(hint.Record.Set, out var hinted, out _))
                    {
                        record = MergeRecord(record, hinted, hint.Record.ExpiresAtUnixMs);
                    }

                    return new StorageDone(request.Tag, ReplicaStatus.Ok, record);
                }

            case StorageOperation.HintScan:
                return ScanHints(request);
            case StorageOperation.HintDelete:
                {
                    var pair = (request.Target!.Value.Name, Key(request.Key));
                    var deleted = _hints.TryGetValue(pair, out var hint) && hint.Record.ExpiresAtUnixMs == request.Record.ExpiresAtUnixMs
                        && hint.Record.Set.AsSpan().SequenceEqual(request.Record.Set) && _hints.Remove(pair);
                    return new StorageDone(request.Tag, ReplicaStatus.Ok, Keys: deleted ? 1 : 0);
                }

            case StorageOperation.HintCount:
                return new StorageDone(request.Tag, ReplicaStatus.Ok, HintCounts: [.. _hints.Keys.GroupBy(k => k.Target, StringComparer.Ordinal)
                    .Select(g => (new RingKV.Cluster.NodeId(g.Key), (long)g.Count()))]);
            case StorageOperation.Cleanup:
                return Cleanup(request);
            case StorageOperation.Ingest:
                return Ingest(request);
            case StorageOperation.Flush:
                _unsynced.Clear();
                foreach (var key in _synced.Keys.ToList())
                {
                    _unsynced[key] = null;
                }

                Sync();
                return new StorageDone(request.Tag, ReplicaStatus.Ok);
            default:
                throw new InvalidOperationException($"SimStore does not serve {request.Operation}");
        }
    }

    /// <summary>
    /// A stream page in bulk, as the engine's store does it: a record whose key the store holds nothing of is stored as it
    /// came, durable at once; the others are answered back for the node to merge. (The simulator runs one event at a time,
    /// so no write lands while the page goes in: the store's "written meanwhile" case cannot arise here.)
    /// </summary>
    private StorageDone Ingest(StorageRequest request)
    {
        var back = new List<ScanEntry>();
        long stored = 0;
        foreach (var entry in request.Entries ?? [])
        {
            var key = Key(entry.Key);
            if (Get(key).Exists || !entry.Record.Exists)
            {
                back.Add(entry);
                continue;
            }

            _unsynced.Remove(key);
            _synced[key] = entry.Record;
            OnMerged?.Invoke(node, key, entry.Record);
            stored++;
        }

        return new StorageDone(request.Tag, ReplicaStatus.Ok, Entries: back, Keys: stored);
    }

    /// <summary>Cleanups applied (a counter the checker waits on).</summary>
    public int Cleanups { get; private set; }

    /// <summary>Records removed by cleanups, in total.</summary>
    public long CleanupKeysRemoved { get; private set; }

    /// <summary>
    /// Deletes every record (a plain delete, no tombstone) whose key's token is in none of the closed intervals
    /// <see cref="StorageRequest.Ranges"/> (the ranges this node replicates); answers the records removed. Hints stay.
    /// </summary>
    private StorageDone Cleanup(StorageRequest request)
    {
        var ranges = request.Ranges ?? [];
        long removed = 0;
        foreach (var key in Keys.ToList())
        {
            var token = Token.Of(Bytes(key)).Value;
            if (ranges.Any(r => token >= r.First && token <= r.Last))
            {
                continue;
            }

            if (Get(key).Exists)
            {
                removed++;
            }

            _unsynced[key] = null;
        }

        if (SyncEveryMerge)
        {
            Sync();
        }

        Cleanups++;
        CleanupKeysRemoved += removed;
        return new StorageDone(request.Tag, ReplicaStatus.Ok, Keys: removed);
    }

    /// <summary>Hints kept, by (target, key), with their records.</summary>
    public IReadOnlyDictionary<(string Target, string Key), (ReplicaRecord Record, long KeptAtUnixMs)> Hints => _hints;

    private StorageDone KeepHint(StorageRequest request)
    {
        if (!SiblingSet.TryDecode(request.Record.Set, out var delta, out var error))
        {
            return new StorageDone(request.Tag, ReplicaStatus.Error, Error: "bad record: " + error);
        }

        var pair = (request.Target!.Value.Name, Key(request.Key));
        var isNew = !_hints.TryGetValue(pair, out var hint);
        var merged = isNew ? request.Record : MergeRecord(hint.Record, delta, request.Record.ExpiresAtUnixMs);
        _hints[pair] = (merged, isNew ? (long)request.First : hint.KeptAtUnixMs);
        return new StorageDone(request.Tag, ReplicaStatus.Ok, Keys: isNew ? 1 : 0);
    }

    /// <summary>A page of one target's hints by key token from First (Limit 0: none read); those kept before Last (Unix ms) are deleted and counted.</summary>
    private StorageDone ScanHints(StorageRequest request)
    {
        var target = request.Target!.Value.Name;
        var mine = _hints.Where(h => h.Key.Target == target)
            .Select(h => (Token: Token.Of(Bytes(h.Key.Key)).Value, h.Key.Key, h.Value.Record, h.Value.KeptAtUnixMs))
            .OrderBy(h => h.Token).ThenBy(h => h.Key, StringComparer.Ordinal).ToList();
        long dropped = 0;
        foreach (var hint in mine.Where(h => h.KeptAtUnixMs < (long)request.Last).ToList())
        {
            _hints.Remove((target, hint.Key));
            mine.Remove(hint);
            dropped++;
        }

        var entries = new List<ScanEntry>();
        if (request.Limit > 0)
        {
            foreach (var hint in mine.Where(h => h.Token >= request.First))
            {
                if (entries.Count >= request.Limit)
                {
                    return new StorageDone(request.Tag, ReplicaStatus.Ok, Entries: entries, Complete: false, Next: hint.Token, Expires: dropped);
                }

                entries.Add(new ScanEntry(Bytes(hint.Key), hint.Record));
            }
        }

        return new StorageDone(request.Tag, ReplicaStatus.Ok, Entries: entries, Complete: true, Expires: dropped);
    }

    /// <summary>Merges a delta into a stored record: sibling sets merge; the expiry follows the winning sibling's record.</summary>
    internal static ReplicaRecord MergeRecord(ReplicaRecord stored, SiblingSet delta, long deltaExpiry)
    {
        SiblingSet merged;
        long expiry;
        if (stored.Exists && SiblingSet.TryDecode(stored.Set, out var old, out _))
        {
            merged = old.Merge(delta);
            var winner = merged.Winner;
            expiry = winner is { } w && delta.Siblings.ToArray().Any(s => s.Dot == w.Dot) ? deltaExpiry : stored.ExpiresAtUnixMs;
        }
        else
        {
            merged = delta;
            expiry = deltaExpiry;
        }

        var buffer = new ArrayBufferWriter<byte>();
        merged.Encode(buffer);
        return new ReplicaRecord(buffer.WrittenSpan.ToArray(), expiry);
    }

    private void Put(string key, ReplicaRecord record) => _unsynced[key] = record;

    private List<(ulong Token, string Key, ReplicaRecord Record)> Live()
    {
        var all = new List<(ulong, string, ReplicaRecord)>();
        foreach (var key in Keys)
        {
            var record = Get(key);
            if (record.Exists)
            {
                all.Add((Token.Of(Bytes(key)).Value, key, record));
            }
        }

        return [.. all.OrderBy(e => e.Item1).ThenBy(e => e.Item2, StringComparer.Ordinal)];
    }

    private StorageDone Scan(StorageRequest request)
    {
        var entries = new List<ScanEntry>();
        var inRange = Live().Where(e => e.Token >= request.First && e.Token <= request.Last).ToList();
        for (var i = 0; i < inRange.Count; i++)
        {
            // A page never splits the records of one token.
            if (entries.Count >= Math.Max(1, request.Limit) && inRange[i].Token != inRange[i - 1].Token)
            {
                return new StorageDone(request.Tag, ReplicaStatus.Ok, Entries: entries, Complete: false, Next: inRange[i].Token);
            }

            entries.Add(new ScanEntry(Bytes(inRange[i].Key), inRange[i].Record));
        }

        return new StorageDone(request.Tag, ReplicaStatus.Ok, Entries: entries, Complete: true);
    }

    private StorageDone Count(StorageRequest request)
    {
        long keys = 0;
        foreach (var (token, _, record) in Live())
        {
            var inRange = request.Ranges?.Any(r => token >= r.First && token <= r.Last) ?? false;
            if (inRange && SiblingSet.TryDecode(record.Set, out var set, out _) && !set.IsDeleted)
            {
                keys++;
            }
        }

        return new StorageDone(request.Tag, ReplicaStatus.Ok, Keys: keys);
    }

    internal static string Key(byte[] key) => System.Text.Encoding.UTF8.GetString(key);

    internal static byte[] Bytes(string key) => System.Text.Encoding.UTF8.GetBytes(key);
}
