using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Cluster;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Errors;
using RingKV.Core.Hashing;
using RingKV.Core.Versioning;
using RingKV.Server.Store;
using RingKV.Storage;

namespace RingKV.Server.Cluster;

/// <summary>
/// The hints a node keeps for DOWN replicas (hinted handoff), in an engine of their own under the data directory's
/// <c>hints/</c>: a record per (target, key), the merge of every write kept for that pair, with when the first was kept.
/// </summary>
/// <remarks>
/// <para>
/// Why an engine of its own rather than keys in the node's: the node's engine orders by the key's token, and its scans
/// (SCAN, DBSIZE, anti-entropy) must see only the node's data; Cassandra keeps hints apart too. The engine gives the
/// hints the same durability (commit log under the node's sync policy, so a kill -9 keeps every acknowledged hint),
/// checksums and compaction as the data.
/// </para>
/// <para>
/// Layout: key = varint length of the target's node id, its UTF-8 bytes, then the user key; value = 8 bytes (LE) of when
/// the first write of the pair was kept (Unix ms), then the encoded sibling set; the engine record's expiry is the
/// hinted record's.
/// </para>
/// <para>
/// Writes (keep, delete-if-unchanged, the expired-hint deletes of a page) go in rounds: those submitted in one round of
/// the node loop become one engine write, and rounds apply one at a time in submission order, so the read-merge-write
/// of a pair never interleaves with another's (no stripe locks needed: hints are off the hot path while every replica is
/// UP). Reads of a page and the start-up count take the same turn.
/// </para>
/// </remarks>
internal sealed class HintStore : IDisposable
{
    private const int ValueHeader = 8;
    private readonly StorageEngine _engine;
    private readonly Action<StorageDone> _done;
    private readonly SemaphoreSlim _turn = new(1, 1);
    private List<StorageRequest> _round = [];

    public HintStore(StorageEngine engine, Action<StorageDone> done)
    {
        _engine = engine;
        _done = done;
    }

    /// <summary>Opens (recovering) the hint engine under <paramref name="dataDirectory"/>/hints with <paramref name="template"/>'s settings but a small memory budget.</summary>
    public static StorageEngine OpenEngine(string dataDirectory, StorageOptions template) =>
        StorageEngine.Open(new StorageOptions
        {
            Directory = System.IO.Path.Combine(dataDirectory, "hints"),
            Sync = template.Sync,
            MemoryBudgetBytes = Math.Min(template.MemoryBudgetBytes ?? long.MaxValue, 32L * 1024 * 1024),
            Compression = template.Compression,
            ColdCompression = template.ColdCompression,
            MaxKeyBytes = template.MaxKeyBytes + 1024, // the target's id ahead of the user key
            MaxValueBytes = template.MaxValueBytes + ValueHeader,
            Time = template.Time,
        });

    /// <summary>Queues a hint request for this round (Hint, HintDelete, HintScan, HintCount) or reads at once (HintedRead's hint part: see <see cref="TryGet"/>).</summary>
    public void Submit(in StorageRequest request) => _round.Add(request);

    /// <summary>Runs the requests submitted since the last call, after those of earlier rounds, on the thread pool.</summary>
    public void Dispatch()
    {
        if (_round.Count == 0)
        {
            return;
        }

        var round = _round;
        _round = [];
        _ = RunAsync(round);
    }

    /// <summary>The hint kept of <paramref name="key"/> for <paramref name="target"/>, if any (its record, without the header).</summary>
    public bool TryGet(NodeId target, ReadOnlySpan<byte> key, out ReplicaRecord record)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        if (_engine.TryGet(HintKeyBytes(target.Name, key), buffer, out var expiresAt) && buffer.WrittenCount >= ValueHeader)
        {
            record = new ReplicaRecord(buffer.WrittenSpan[ValueHeader..].ToArray(), expiresAt?.ToUnixTimeMilliseconds() ?? 0);
            return true;
        }

        record = ReplicaRecord.None;
        return false;
    }

    public void Dispose()
    {
        _turn.Dispose();
        _engine.Dispose();
    }

    private async Task RunAsync(List<StorageRequest> round)
    {
        await _turn.WaitAsync().ConfigureAwait(false);
        var answers = new List<StorageDone>(round.Count);
        try
        {
            var batch = new WriteBatch(4096);
            var staged = new Dictionary<string, (byte[]? Value, long Expiry)>(StringComparer.Ordinal); // this round's writes, by hint key
            foreach (var request in round)
            {
                try
                {
                    answers.Add(request.Operation switch
                    {
                        StorageOperation.Hint => Keep(request, batch, staged),
                        StorageOperation.HintDelete => DeleteIfUnchanged(request, batch, staged),
                        StorageOperation.HintScan => Page(request, batch, staged),
                        _ => CountAll(request),
                    });
                }
                catch (RingKVException e)
                {
                    answers.Add(new StorageDone(request.Tag, ReplicaStatus.Error, Error: e.Message));
                }
            }

            if (batch.Count > 0)
            {
                await _engine.WriteAsync(batch).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is RingKVException or System.IO.IOException or ObjectDisposedException)
        {
            answers.Clear();
            foreach (var request in round)
            {
                answers.Add(new StorageDone(request.Tag, ReplicaStatus.Error, Error: e.Message));
            }
        }
        finally
        {
            _turn.Release();
        }

        foreach (var answer in answers)
        {
            _done(answer);
        }
    }

    /// <summary>Merges the write into the pair's hint (or starts it); Keys 1 when it is new.</summary>
    private StorageDone Keep(in StorageRequest request, WriteBatch batch, Dictionary<string, (byte[]? Value, long Expiry)> staged)
    {
        if (!SiblingSet.TryDecode(request.Record.Set, out var delta, out var error))
        {
            return new StorageDone(request.Tag, ReplicaStatus.Error, Error: $"undecodable hint: {error}");
        }

        var key = HintKey(request.Target!.Value.Name, request.Key);
        var (current, currentExpiry) = Current(key, staged);
        long keptAt;
        byte[] set;
        var expiry = request.Record.ExpiresAtUnixMs;
        if (current is null || current.Length < ValueHeader || !SiblingSet.TryDecode(current.AsSpan(ValueHeader), out var stored, out _))
        {
            keptAt = (long)request.First;
            set = request.Record.Set;
        }
        else
        {
            keptAt = BinaryPrimitives.ReadInt64LittleEndian(current);
            var encoded = new ArrayBufferWriter<byte>(256);
            EngineReplicaStore.Merge(stored, currentExpiry, delta, ref expiry).Encode(encoded);
            set = encoded.WrittenSpan.ToArray();
        }

        var value = new byte[ValueHeader + set.Length];
        BinaryPrimitives.WriteInt64LittleEndian(value, keptAt);
        set.CopyTo(value.AsSpan(ValueHeader));
        Stage(key, value, expiry, batch, staged);
        return new StorageDone(request.Tag, ReplicaStatus.Ok, Keys: current is null ? 1 : 0);
    }

    /// <summary>Deletes the pair's hint when it still holds the record handed over; Keys 1 when deleted.</summary>
    private StorageDone DeleteIfUnchanged(in StorageRequest request, WriteBatch batch, Dictionary<string, (byte[]? Value, long Expiry)> staged)
    {
        var key = HintKey(request.Target!.Value.Name, request.Key);
        var (current, expiry) = Current(key, staged);
        var same = current is not null && current.Length >= ValueHeader && expiry == request.Record.ExpiresAtUnixMs
            && current.AsSpan(ValueHeader).SequenceEqual(request.Record.Set);
        if (same)
        {
            Stage(key, null, 0, batch, staged);
        }

        return new StorageDone(request.Tag, ReplicaStatus.Ok, Keys: same ? 1 : 0);
    }

    /// <summary>
    /// A page of the target's hints from token First (about Limit; 0: none read, a sweep); hints kept before Last (Unix ms)
    /// are deleted instead and counted in Expires.
    /// </summary>
    private StorageDone Page(in StorageRequest request, WriteBatch batch, Dictionary<string, (byte[]? Value, long Expiry)> staged)
    {
        var target = Encoding.UTF8.GetBytes(request.Target!.Value.Name);
        var entries = new List<ScanEntry>();
        long dropped = 0;
        using var it = _engine.NewIterator(new TokenRange(new Token(request.First), new Token(ulong.MaxValue)));
        ulong lastToken = 0;
        while (it.MoveNext())
        {
            if (!TrySplit(it.Key, out var name, out var userKey) || !name.SequenceEqual(target))
            {
                continue;
            }

            var hintKey = Encoding.Latin1.GetString(it.Key);
            if (staged.ContainsKey(hintKey))
            {
                continue; // written in this round: the next page sees it
            }

            var value = it.Value;
            if (value.Length < ValueHeader)
            {
                continue;
            }

            if (BinaryPrimitives.ReadInt64LittleEndian(value) < (long)request.Last)
            {
                Stage(hintKey, null, 0, batch, staged);
                dropped++;
                continue;
            }

            if (request.Limit == 0)
            {
                continue;
            }

            var token = it.Token.Value;
            if (entries.Count >= request.Limit && token != lastToken)
            {
                return new StorageDone(request.Tag, ReplicaStatus.Ok, Entries: entries, Complete: false, Next: token, Expires: dropped);
            }

            entries.Add(new ScanEntry(userKey.ToArray(), new ReplicaRecord(value[ValueHeader..].ToArray(), it.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0)));
            lastToken = token;
        }

        return new StorageDone(request.Tag, ReplicaStatus.Ok, Entries: entries, Complete: true, Expires: dropped);
    }

    /// <summary>Hints kept per target.</summary>
    private StorageDone CountAll(in StorageRequest request)
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        using var it = _engine.NewIterator(TokenRange.All);
        while (it.MoveNext())
        {
            if (TrySplit(it.Key, out var name, out _))
            {
                var id = Encoding.UTF8.GetString(name);
                counts[id] = counts.GetValueOrDefault(id) + 1;
            }
        }

        var list = new List<(NodeId, long)>(counts.Count);
        foreach (var (name, count) in counts)
        {
            if (!string.IsNullOrWhiteSpace(name))
            {
                list.Add((new NodeId(name), count));
            }
        }

        return new StorageDone(request.Tag, ReplicaStatus.Ok, HintCounts: list);
    }

    /// <summary>The pair's hint value as this round left it, else as stored.</summary>
    private (byte[]? Value, long Expiry) Current(string key, Dictionary<string, (byte[]? Value, long Expiry)> staged)
    {
        if (staged.TryGetValue(key, out var written))
        {
            return written;
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        return _engine.TryGet(Encoding.Latin1.GetBytes(key), buffer, out var expiresAt)
            ? (buffer.WrittenSpan.ToArray(), expiresAt?.ToUnixTimeMilliseconds() ?? 0)
            : (null, 0);
    }

    private static void Stage(string key, byte[]? value, long expiry, WriteBatch batch, Dictionary<string, (byte[]? Value, long Expiry)> staged)
    {
        var bytes = Encoding.Latin1.GetBytes(key);
        if (value is null)
        {
            batch.Delete(bytes);
        }
        else
        {
            LocalStore.Put(batch, bytes, value, expiry);
        }

        staged[key] = (value, expiry);
    }

    /// <summary>The hint key of (target, user key), as a Latin-1 string (one char per byte: a dictionary key for the round).</summary>
    private static string HintKey(string target, ReadOnlySpan<byte> key) => Encoding.Latin1.GetString(HintKeyBytes(target, key));

    private static byte[] HintKeyBytes(string target, ReadOnlySpan<byte> key)
    {
        var name = Encoding.UTF8.GetBytes(target);
        Span<byte> length = stackalloc byte[5];
        var n = 0;
        var v = (uint)name.Length;
        while (v >= 0x80)
        {
            length[n++] = (byte)(v | 0x80);
            v >>= 7;
        }

        length[n++] = (byte)v;
        var bytes = new byte[n + name.Length + key.Length];
        length[..n].CopyTo(bytes);
        name.CopyTo(bytes, n);
        key.CopyTo(bytes.AsSpan(n + name.Length));
        return bytes;
    }

    /// <summary>Splits a hint key into the target's id bytes and the user key; false when it is not one.</summary>
    private static bool TrySplit(ReadOnlySpan<byte> hintKey, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> userKey)
    {
        name = userKey = default;
        uint length = 0;
        var shift = 0;
        var at = 0;
        while (true)
        {
            if (at >= hintKey.Length || shift > 28)
            {
                return false;
            }

            var b = hintKey[at++];
            length |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                break;
            }

            shift += 7;
        }

        if (length > (uint)(hintKey.Length - at))
        {
            return false;
        }

        name = hintKey.Slice(at, (int)length);
        userKey = hintKey[(at + (int)length)..];
        return true;
    }
}
