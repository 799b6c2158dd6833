using System;
using System.IO;
using System.Text.Json;
using System.Threading;
using Microsoft.Extensions.Logging;
using RingKV.Core.Versioning;
using RingKV.Storage;

namespace RingKV.Server.Cluster;

/// <summary>
/// Upper bounds on the stamps a replica has stored, per bucket of keys, so a plain write stamped above its bucket's bound
/// can be stored without reading the key first: it supersedes whatever the key holds.
/// </summary>
/// <remarks>
/// Why: a replica merges each plain write's delta into the stored set, and reading that set (with a million random keys,
/// mostly from SSTables) was a fifth of a cluster node's CPU under SET load (docs/benchmarks.md). A last-writer-wins delta
/// stamped above every stamp of a purely last-writer-wins set merges into exactly itself but for the context, whose
/// entries are dots below the new stamp that last-writer-wins drops wherever the sets meet. With a versioned sibling in
/// the picture that is not so (a context may cover a sibling stamped above the new write elsewhere), so a bucket that has
/// stored a versioned set is never written blind again.
/// <para>
/// Invariants: every stamp of every record stored in bucket b is at most <c>_high[b]</c> (long.MaxValue: the bucket has
/// stored a versioned set); every stamp of every record in the engine is at most the durable bound in
/// <c>replica-stamps.json</c>, raised (<see cref="DurableFile"/>) before a batch holding a higher stamp is
/// written, ahead by <see cref="Margin"/> so that happens every few seconds at most. A restart starts every bucket at the
/// durable bound (at long.MaxValue if any versioned set was ever stored); a missing or unreadable file is rebuilt by one
/// scan of the engine. A bucket is a refinement of a replica-store stripe (its index modulo the stripe count is the
/// stripe), so the stripe's holder owns the bucket.
/// </para>
/// </remarks>
internal sealed class StoredStamps
{
    /// <summary>Buckets: 2^18 (2 MiB of bounds), so two writes of different keys rarely share one within a round trip.</summary>
    public const int BucketCount = 1 << 18;

    /// <summary>How far above the stamps it has to cover the durable bound is set: 10 s of hybrid-logical time.</summary>
    public static readonly long Margin = 10_000L << 16;

    private const string FileName = "replica-stamps.json";

    private readonly long[] _high = new long[BucketCount];
    private readonly string _path;
    private readonly Lock _saveLock = new();
    private long _durableBound;
    private bool _versionedDurable;
    private int _renewing;

    private StoredStamps(string path, long bound, bool versioned)
    {
        _path = path;
        _durableBound = bound;
        _versionedDurable = versioned;
        Array.Fill(_high, versioned ? long.MaxValue : bound);
    }

    /// <summary>Writes that went blind and writes that read first, since start (for INFO and tests).</summary>
    public long BlindWrites;

    /// <inheritdoc cref="BlindWrites"/>
    public long ReadWrites;

    /// <summary>The file's path in a data directory.</summary>
    public static string PathIn(string directory) => Path.Combine(directory, FileName);

    /// <summary>Loads the bounds for <paramref name="engine"/>'s records, or scans the engine for them when the file is missing or damaged.</summary>
    public static StoredStamps Open(string directory, StorageEngine engine, ILogger logger)
    {
        var path = PathIn(directory);
        if (File.Exists(path))
        {
            try
            {
                var file = JsonSerializer.Deserialize<StampsJson>(File.ReadAllText(path)) ?? throw new JsonException("empty");
                return new StoredStamps(path, file.StampBound, file.VersionedStored);
            }
            catch (JsonException e)
            {
                logger.LogWarning("{Path} is damaged ({Error}); rebuilding it from the stored records", path, e.Message);
            }
        }

        long latest = long.MinValue;
        var versioned = false;
        using (var it = engine.NewIterator(RingKV.Core.Hashing.TokenRange.All))
        {
            while (it.MoveNext())
            {
                if (SiblingSetFastPath.TryReadStamps(it.Value, out var stamp, out var lwwOnly))
                {
                    latest = Math.Max(latest, stamp.Value);
                    versioned |= !lwwOnly;
                }
                else
                {
                    versioned = true; // an undecodable record: never written over blind
                }
            }
        }

        var stamps = new StoredStamps(path, latest, versioned);
        stamps.Save(latest, versioned);
        return stamps;
    }

    /// <summary>Removes the file (a single node, whose writes it does not track, is about to use the directory).</summary>
    public static void Forget(string directory)
    {
        var path = PathIn(directory);
        if (File.Exists(path))
        {
            File.Delete(path);
            Storage.PosixFileSystem.Instance.SyncDirectory(directory);
        }
    }

    /// <summary>The bucket of a key's 64-bit hash.</summary>
    public static int BucketOf(ulong hash) => (int)(hash % BucketCount);

    /// <summary>Whether a write stamped <paramref name="stamp"/> is above everything bucket <paramref name="bucket"/> stored. Requires: the caller holds the bucket's stripe.</summary>
    public bool IsAbove(int bucket, long stamp) => stamp > _high[bucket];

    /// <summary>Notes a record stored in <paramref name="bucket"/> (its latest stamp, and whether it is purely last-writer-wins).</summary>
    /// <remarks>
    /// An atomic maximum: a stream's bulk store notes its records without the buckets' stripes (see
    /// EngineReplicaStore.IngestAsync), beside the writes that hold them; a bound never goes down.
    /// </remarks>
    public void Stored(int bucket, long latest, bool lastWriterWinsOnly)
    {
        var bound = lastWriterWinsOnly ? latest : long.MaxValue;
        ref var slot = ref _high[bucket];
        var seen = Volatile.Read(ref slot);
        while (bound > seen)
        {
            var was = Interlocked.CompareExchange(ref slot, bound, seen);
            if (was == seen)
            {
                return;
            }

            seen = was;
        }
    }

    /// <summary>The durable bound: no stored stamp is above it.</summary>
    public long DurableBound => Volatile.Read(ref _durableBound);

    /// <summary>
    /// Makes the durable bound cover <paramref name="latest"/> (and the versioned mark durable) before records holding
    /// them are written. Within half a margin of the bound it renews the bound on the thread pool and returns at once, so
    /// the caller (the node loop) waits for the file only when stamps outrun a renewal: at the first write after a start,
    /// or after a jump of the clock.
    /// </summary>
    /// <exception cref="IOException">The file could not be written: the records must not be.</exception>
    public void EnsureDurable(long latest, bool versioned)
    {
        var bound = Volatile.Read(ref _durableBound);
        if (latest <= bound && (!versioned || Volatile.Read(ref _versionedDurable)))
        {
            if (latest > bound - (Margin / 2))
            {
                RenewInBackground(latest);
            }

            return;
        }

        lock (_saveLock)
        {
            if (latest > _durableBound || (versioned && !_versionedDurable))
            {
                RaiseLocked(latest, versioned);
            }
        }
    }

    /// <summary>Saves a bound a margin above <paramref name="latest"/> (never lower than the one saved) and the versioned mark. Requires: _saveLock.</summary>
    private void RaiseLocked(long latest, bool versioned)
    {
        var raised = Math.Max(_durableBound, latest > long.MaxValue - Margin ? long.MaxValue : latest + Margin);
        var marked = versioned || _versionedDurable;
        Save(raised, marked);
        Volatile.Write(ref _versionedDurable, marked);
        Volatile.Write(ref _durableBound, raised);
    }

    private void RenewInBackground(long latest)
    {
        if (Interlocked.Exchange(ref _renewing, 1) == 1)
        {
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(
            static state =>
            {
                var (stamps, latest) = state;
                try
                {
                    lock (stamps._saveLock)
                    {
                        stamps.RaiseLocked(latest, versioned: false);
                    }
                }
                catch (IOException)
                {
                    // Left to the first batch above the bound, which saves itself and fails visibly.
                }
                finally
                {
                    Volatile.Write(ref stamps._renewing, 0);
                }
            },
            (this, latest),
            preferLocal: false);
    }

    private void Save(long bound, bool versioned) =>
        DurableFile.Replace(_path, JsonSerializer.SerializeToUtf8Bytes(new StampsJson { StampBound = bound, VersionedStored = versioned }));

    private sealed class StampsJson
    {
        public long StampBound { get; set; }

        public bool VersionedStored { get; set; }
    }
}
