using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using RingKV.Cluster.Messages;
using RingKV.Core.Versioning;

namespace RingKV.Cluster.Coordination;

/// <summary>Where a <see cref="ClusterNode"/>'s effects go: messages to peers and the replies to clients.</summary>
/// <remarks>
/// Called on the node's owner thread only, while it handles an event. <see cref="Send"/> may be lost (the peer may be
/// down, the network may drop it): nothing waits on it; the coordinator's deadline covers every loss.
/// </remarks>
internal interface IOutbox
{
    /// <summary>Sends a message to a peer.</summary>
    void Send(NodeId to, ClusterMessage message);

    /// <summary>Answers a client request; exactly once per <see cref="ClusterNode.Submit"/>.</summary>
    void Reply(ulong clientRequestId, ClientReply reply);
}

/// <summary>What a node asks of its own replica store.</summary>
internal enum StorageOperation : byte
{
    /// <summary>Read one key's record.</summary>
    Read,

    /// <summary>Merge a delta record into one key's record.</summary>
    Merge,

    /// <summary>Records of a token range.</summary>
    Scan,

    /// <summary>Count live keys in token ranges.</summary>
    Count,

    /// <summary>Remove every key.</summary>
    Flush,

    /// <summary>
    /// Apply a versioned write (<see cref="StorageRequest.Update"/>) to one key's stored set as one read-modify-write,
    /// and answer the resulting record: the coordinating replica's step of a KV.PUT or KV.DEL.
    /// </summary>
    Update,

    /// <summary>
    /// Keep <see cref="StorageRequest.Record"/> as a hint of <see cref="StorageRequest.Key"/> for
    /// <see cref="StorageRequest.Target"/> (a DOWN replica), merged into the hint already kept for that pair; durable
    /// before the answer. <see cref="StorageRequest.First"/> is when (Unix ms): a merged hint keeps the earliest.
    /// <see cref="StorageDone.Keys"/> is 1 when the pair had no hint before, else 0.
    /// </summary>
    Hint,

    /// <summary>Read one key's record merged with the hint kept of it for <see cref="StorageRequest.Target"/> (a stand-in's read).</summary>
    HintedRead,

    /// <summary>
    /// A page of the hints kept for <see cref="StorageRequest.Target"/>, by hint token from <see cref="StorageRequest.First"/>,
    /// about <see cref="StorageRequest.Limit"/> of them; hints first kept before <see cref="StorageRequest.Last"/> (Unix ms)
    /// are deleted instead (past the hint window) and counted in <see cref="StorageDone.Expires"/>.
    /// <see cref="StorageDone.Complete"/>/<see cref="StorageDone.Next"/> as for a scan.
    /// </summary>
    HintScan,

    /// <summary>
    /// Delete the hint of <see cref="StorageRequest.Key"/> for <see cref="StorageRequest.Target"/> if it still is
    /// <see cref="StorageRequest.Record"/> (what was handed over; a hint merged since stays for the next replay).
    /// <see cref="StorageDone.Keys"/> is 1 when it was deleted.
    /// </summary>
    HintDelete,

    /// <summary>How many hints are kept per target (<see cref="StorageDone.HintCounts"/>).</summary>
    HintCount,

    /// <summary>
    /// Remove every record whose key's token lies in none of <see cref="StorageRequest.Ranges"/> (closed, sorted: the
    /// ranges this node replicates) — data a membership change gave to other nodes. A plain removal, not a tombstone:
    /// the new owners hold the data. <see cref="StorageDone.Keys"/> is how many were removed.
    /// </summary>
    Cleanup,

    /// <summary>
    /// Store <see cref="StorageRequest.Entries"/> (a stream page of a gained range, in token order) in bulk, bypassing
    /// the write path, where the store holds no version of the key; answers, in <see cref="StorageDone.Entries"/>, the
    /// records it did not store that way (the key was held, or written meanwhile), which the caller merges as usual.
    /// Durable before the answer; <see cref="StorageDone.Keys"/> is how many it stored.
    /// </summary>
    Ingest,
}

/// <summary>A change the coordinating replica applies to a key's stored set as one read-modify-write (<see cref="StorageOperation.Update"/>).</summary>
/// <remarks>
/// Requires of every store: the stored set is what the store holds at this moment, read under the same per-key exclusion as
/// the write of the result (the actor of a versioned write or of an increment must see its own earlier writes of the key).
/// </remarks>
internal abstract record RecordUpdate
{
    /// <summary>Bytes the update holds (for the store's accounting of queued work).</summary>
    public abstract int Size { get; }

    /// <summary>
    /// The stored set (<paramref name="stored"/>, <see cref="SiblingSet.Empty"/> when none, with its record's expiry) with
    /// this update applied, and the expiry of the record to write; false with the error the client gets, and nothing written.
    /// </summary>
    public abstract bool TryApply(SiblingSet stored, long storedExpiresAtUnixMs, [NotNullWhen(true)] out SiblingSet? result, out long expiresAtUnixMs, [NotNullWhen(false)] out string? error);
}

/// <summary>A versioned write (KV.PUT, KV.DEL) as the coordinating replica applies it to its stored set.</summary>
/// <param name="Context">What the client saw.</param>
/// <param name="Value">The value of a put (empty for a delete); the store keeps it, so the caller does not reuse the array.</param>
/// <param name="IsDelete">A tombstone (KV.DEL) rather than a value.</param>
/// <param name="Actor">The coordinating replica's actor: it mints the dot.</param>
/// <param name="Timestamp">The coordinator's hybrid-logical stamp; the set raises it above what it holds.</param>
/// <param name="MaxVersionEntries">Entries the resulting context keeps.</param>
internal sealed record VersionedUpdate(VersionVector Context, byte[] Value, bool IsDelete, ulong Actor, HybridTimestamp Timestamp, int MaxVersionEntries) : RecordUpdate
{
    /// <inheritdoc/>
    public override int Size => Value.Length;

    /// <summary>The stored set with this write applied (<paramref name="stored"/>: the key's set, <see cref="SiblingSet.Empty"/> when none).</summary>
    /// <remarks>
    /// Requires: <paramref name="stored"/> is what the store holds at this moment, read under the same per-key exclusion as
    /// the write of the result: SiblingSet's Put requires the set to hold every dot the actor minted for the key before.
    /// </remarks>
    public SiblingSet ApplyTo(SiblingSet stored) => IsDelete
        ? stored.Delete(Context, Actor, Timestamp, MaxVersionEntries)
        : stored.Put(Context, Value, Actor, Timestamp, MaxVersionEntries);

    /// <inheritdoc/>
    /// <remarks>The new sibling wins (it is stamped above the set), so the record's expiry is the versioned write's: none.</remarks>
    public override bool TryApply(SiblingSet stored, long storedExpiresAtUnixMs, [NotNullWhen(true)] out SiblingSet? result, out long expiresAtUnixMs, [NotNullWhen(false)] out string? error)
    {
        result = ApplyTo(stored);
        expiresAtUnixMs = 0;
        error = null;
        return true;
    }
}

/// <summary>An increment (INCR, DECR, INCRBY, DECRBY) as the coordinating replica applies it: see <see cref="SiblingSet.TryIncrement"/>.</summary>
/// <param name="Actor">The counter actor of this node's incarnation (<see cref="ClusterNode.CounterActor"/>).</param>
/// <param name="Delta">What to add.</param>
/// <param name="Seen">What the coordinator's read at the client's read level found (encoded; empty when nothing): merged in
/// first, so the count adds to the latest plain write a quorum acknowledged even when this replica missed it.</param>
/// <param name="SeenExpiresAtUnixMs">The expiry of the record the read found.</param>
/// <param name="NowUnixMs">The coordinator's time: a record whose expiry has passed counts as absent.</param>
internal sealed record CounterUpdate(ulong Actor, long Delta, byte[] Seen, long SeenExpiresAtUnixMs, long NowUnixMs) : RecordUpdate
{
    /// <inheritdoc/>
    public override int Size => Seen.Length;

    /// <inheritdoc/>
    /// <remarks>The record keeps its expiry (INCR keeps a key's TTL, as in Redis), unless it had passed: then none.</remarks>
    public override bool TryApply(SiblingSet stored, long storedExpiresAtUnixMs, [NotNullWhen(true)] out SiblingSet? result, out long expiresAtUnixMs, [NotNullWhen(false)] out string? error)
    {
        var set = stored;
        expiresAtUnixMs = storedExpiresAtUnixMs;
        if (Seen.Length > 0)
        {
            if (!SiblingSet.TryDecode(Seen, out var seen, out var decodeError))
            {
                result = null;
                error = "ERR the coordinator's read of the key does not decode: " + decodeError;
                return false;
            }

            // The expiry follows the winning sibling's record, as every merge of records does.
            if (seen.Winner is { } theirs && (stored.Winner is not { } mine || theirs.WinsOver(mine)))
            {
                expiresAtUnixMs = SeenExpiresAtUnixMs;
            }

            set = stored.Merge(seen);
        }

        var expired = expiresAtUnixMs != 0 && expiresAtUnixMs <= NowUnixMs;
        if (expired)
        {
            expiresAtUnixMs = 0;
        }

        return set.TryIncrement(Actor, Delta, expired, out result, out error);
    }
}

/// <summary>One request to the local replica store; answered by <see cref="ClusterNode.OnStorage"/> with the same <see cref="Tag"/>.</summary>
internal readonly record struct StorageRequest(
    ulong Tag,
    StorageOperation Operation,
    byte[] Key,
    ReplicaRecord Record,
    ulong First = 0,
    ulong Last = 0,
    int Limit = 0,
    IReadOnlyList<(ulong First, ulong Last)>? Ranges = null,
    RecordUpdate? Update = null,
    NodeId? Target = null,
    IReadOnlyList<ScanEntry>? Entries = null);

/// <summary>The local replica store's answer to a <see cref="StorageRequest"/>.</summary>
/// <remarks><see cref="Record"/>: the key's record for Read, the record it now holds for Update.</remarks>
internal readonly record struct StorageDone(
    ulong Tag,
    ReplicaStatus Status,
    ReplicaRecord Record = default,
    IReadOnlyList<ScanEntry>? Entries = null,
    bool Complete = true,
    ulong Next = 0,
    long Keys = 0,
    long Expires = 0,
    long TtlSumMs = 0,
    string Error = "",
    IReadOnlyList<(NodeId Target, long Count)>? HintCounts = null);

/// <summary>A node's own data, for the cluster: reads, merges, range scans, counts.</summary>
/// <remarks>
/// <see cref="Submit"/> never blocks and never calls back into the node from inside itself: the answer arrives later as
/// an event (<see cref="ClusterNode.OnStorage"/>) on the node's owner thread. Merges and updates of one key apply in the
/// order they were submitted, and each is atomic: an update's read, change and write of the key never interleave with
/// another merge or update of the key. The production store runs over the storage engine; the simulator's keeps a dictionary that a crash
/// cuts back to what was synced.
/// </remarks>
internal interface IReplicaStore
{
    /// <summary>Starts a storage request.</summary>
    void Submit(in StorageRequest request);
}
