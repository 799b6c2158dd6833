using System;
using System.Collections.Generic;
using System.Numerics;
using System.Threading;

namespace RingKV.Storage.Cache;

/// <summary>A sharded cache of decompressed table blocks with a byte budget, evicting least recently used with a second chance.</summary>
/// <remarks>
/// Thread-safe: each shard has its own <see cref="Lock"/> held only for a dictionary lookup (a hit) or a few pointer moves (an insert),
/// never for I/O. A hit allocates nothing; an insert allocates one node. The blocks are opaque (<see cref="ICacheable"/>)
/// and immutable, so eviction only drops the cache's reference and readers holding a block keep using it safely.
/// A block is charged its <see cref="ICacheable.ChargeBytes"/> at insert; each shard keeps its usage under its share of the capacity,
/// so <see cref="UsageBytes"/> ≤ <see cref="CapacityBytes"/> at all times (a block larger than a shard's share is not cached).
/// Eviction order: the list is in insertion order; a hit only sets the node's referenced flag, and eviction moves a
/// referenced tail node to the front instead of dropping it (CLOCK's second chance on an LRU list). Strict LRU, which
/// moved the node to the front on every hit, was rejected: it writes four list pointers under the shard lock on every
/// read, so concurrent readers of a shard queue on the lock and pass its cache lines between cores.
/// A reader may hand <see cref="Insert"/> a slot array of its own (one slot per block of its table): the cache
/// keeps the slot pointing at the block's entry while it is cached and clears it when it evicts the entry, so
/// the reader finds a cached block with one array read and no lock (<see cref="TryGetFromSlot"/>).
/// </remarks>
internal sealed class BlockCache
{
    private readonly Shard[] _shards;
    private readonly int _shardShift;
    private long _capacityBytes;

    /// <summary>Most shards: 16.</summary>
    public const int MaxDefaultShardBits = 4;

    /// <summary>Smallest share of the capacity a shard gets when the shard count is chosen automatically: 512 KiB.</summary>
    public const long MinShardBytes = 512 * 1024;

    /// <summary>
    /// Creates a cache of <paramref name="capacityBytes"/> split over 2^<paramref name="shardBits"/> shards; by default
    /// (-1) up to 16 shards, fewer for a small cache so each shard holds at least <see cref="MinShardBytes"/>.
    /// </summary>
    /// <remarks>The shard count is fixed at construction; each shard gets an equal share of <see cref="CapacityBytes"/>.</remarks>
    public BlockCache(long capacityBytes, int shardBits = -1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(shardBits, -1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(shardBits, 10);
        if (shardBits < 0)
        {
            shardBits = 0;
            while (shardBits < MaxDefaultShardBits && capacityBytes >> (shardBits + 1) >= MinShardBytes)
            {
                shardBits++;
            }
        }

        _shards = new Shard[1 << shardBits];
        _shardShift = 64 - shardBits;
        for (var i = 0; i < _shards.Length; i++)
        {
            _shards[i] = new Shard();
        }

        CapacityBytes = capacityBytes;
    }

    /// <summary>The byte budget; lowering it evicts at once.</summary>
    public long CapacityBytes
    {
        get => Volatile.Read(ref _capacityBytes);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            Volatile.Write(ref _capacityBytes, value);
            var perShard = value / _shards.Length;
            foreach (var shard in _shards)
            {
                shard.SetCapacity(perShard);
            }
        }
    }

    /// <summary>Bytes charged for the cached blocks now.</summary>
    public long UsageBytes
    {
        get
        {
            long total = 0;
            foreach (var shard in _shards)
            {
                total += Volatile.Read(ref shard.UsageBytes);
            }

            return total;
        }
    }

    /// <summary>Blocks cached now.</summary>
    public int Count
    {
        get
        {
            var total = 0;
            foreach (var shard in _shards)
            {
                total += Volatile.Read(ref shard.Count);
            }

            return total;
        }
    }

    /// <summary>Finds the block of file <paramref name="fileNumber"/> at <paramref name="offset"/> and marks it recently used.</summary>
    public bool TryGet(ulong fileNumber, long offset, out ICacheable block)
    {
        var key = new CacheKey(fileNumber, offset);
        return ShardOf(key).TryGet(key, out block);
    }

    /// <summary>Caches a block, replacing any cached at the same place, evicting the least recently used to stay in budget.</summary>
    /// <param name="fileNumber">The block's table.</param>
    /// <param name="offset">The block's offset in its table.</param>
    /// <param name="block">The block.</param>
    /// <param name="slots">When given, <paramref name="slots"/>[<paramref name="slot"/>] points at the entry while it is cached.</param>
    /// <param name="slot">The block's index in <paramref name="slots"/>.</param>
    public void Insert(ulong fileNumber, long offset, ICacheable block, Entry?[]? slots = null, int slot = 0)
    {
        var key = new CacheKey(fileNumber, offset);
        ShardOf(key).Insert(key, block, slots, slot);
    }

    /// <summary>The block a slot filled by <see cref="Insert"/> points at, marked recently used; null when not cached.</summary>
    /// <remarks>
    /// Lock-free. A block evicted while this runs may still be returned: blocks are immutable and stay valid
    /// for whoever holds them, only the cache no longer counts it.
    /// </remarks>
    public static ICacheable? TryGetFromSlot(Entry?[] slots, int slot)
    {
        var entry = Volatile.Read(ref slots[slot]);
        if (entry is null)
        {
            return null;
        }

        entry.Referenced = true;
        return entry.Block;
    }

    /// <summary>Drops every block of a file (a deleted table). Costs a walk over all cached blocks.</summary>
    public void EvictFile(ulong fileNumber)
    {
        foreach (var shard in _shards)
        {
            shard.EvictFile(fileNumber);
        }
    }

    /// <summary>Shards the capacity is split over.</summary>
    public int ShardCount => _shards.Length;

    private Shard ShardOf(CacheKey key) => _shards.Length == 1 ? _shards[0] : _shards[(int)(key.Hash >> _shardShift)];

    internal readonly struct CacheKey(ulong fileNumber, long offset) : IEquatable<CacheKey>
    {
        public readonly ulong FileNumber = fileNumber;
        public readonly long Offset = offset;

        /// <summary>A well-mixed 64-bit hash: high bits pick the shard, low bits feed the dictionary.</summary>
        public ulong Hash => BitOperations.RotateLeft(FileNumber * 0x9E3779B97F4A7C15UL, 31) ^ ((ulong)Offset * 0xC2B2AE3D27D4EB4FUL) * 0x165667B19E3779F9UL;

        public bool Equals(CacheKey other) => FileNumber == other.FileNumber && Offset == other.Offset;

        public override bool Equals(object? obj) => obj is CacheKey other && Equals(other);

        public override int GetHashCode() => (int)Hash;
    }

    /// <summary>A cached block; opaque outside the cache except through <see cref="TryGetFromSlot"/>.</summary>
    internal sealed class Entry
    {
        internal Entry(CacheKey key, ICacheable block)
        {
            Key = key;
            Block = block;
            ChargeBytes = block.ChargeBytes;
        }

        internal CacheKey Key { get; }

        internal ICacheable Block { get; }

        /// <summary>What the block was charged at insert (a value's charge may not change while it is cached).</summary>
        internal int ChargeBytes { get; }

        internal Entry? Prev { get; set; }

        internal Entry? Next { get; set; }

        /// <summary>The reader's slot array and index pointing at this entry, if any (cleared on eviction).</summary>
        internal Entry?[]? Slots { get; set; }

        internal int Slot { get; set; }

        /// <summary>Set by a hit; eviction gives a referenced entry a second chance instead of dropping it.</summary>
        internal bool Referenced { get; set; }
    }

    private sealed class Shard
    {
        public long UsageBytes;
        public int Count;

        private readonly Lock _lock = new();

        // Guarded by _lock: the map, the LRU list (head = most recent) and the capacity.
        private readonly Dictionary<CacheKey, Entry> _map = [];
        private Entry? _head;
        private Entry? _tail;
        private long _capacityBytes;

        public bool TryGet(CacheKey key, out ICacheable block)
        {
            lock (_lock)
            {
                if (_map.TryGetValue(key, out var node))
                {
                    // A hit only marks the node (CLOCK-style second chance): moving it to the front would
                    // rewrite four list pointers under the lock on every read.
                    node.Referenced = true;
                    block = node.Block;
                    return true;
                }
            }

            block = null!;
            return false;
        }

        public void Insert(CacheKey key, ICacheable block, Entry?[]? slots, int slot)
        {
            lock (_lock)
            {
                if (_map.TryGetValue(key, out var existing))
                {
                    RemoveLocked(existing);
                }

                var node = new Entry(key, block) { Slots = slots, Slot = slot };
                if (node.ChargeBytes > _capacityBytes)
                {
                    return;
                }

                _map.Add(key, node);
                if (slots is not null)
                {
                    Volatile.Write(ref slots[slot], node); // before eviction below, which clears it if it drops this node
                }

                node.Next = _head;
                if (_head is not null)
                {
                    _head.Prev = node;
                }

                _head = node;
                _tail ??= node;
                Volatile.Write(ref UsageBytes, UsageBytes + node.ChargeBytes);
                Volatile.Write(ref Count, Count + 1);
                EvictLocked();
            }
        }

        public void SetCapacity(long capacityBytes)
        {
            lock (_lock)
            {
                _capacityBytes = capacityBytes;
                EvictLocked();
            }
        }

        public void EvictFile(ulong fileNumber)
        {
            lock (_lock)
            {
                var node = _head;
                while (node is not null)
                {
                    var next = node.Next;
                    if (node.Key.FileNumber == fileNumber)
                    {
                        RemoveLocked(node);
                    }

                    node = next;
                }
            }
        }

        private void EvictLocked()
        {
            while (UsageBytes > _capacityBytes && _tail is not null)
            {
                var victim = _tail;
                if (victim.Referenced && victim != _head)
                {
                    victim.Referenced = false;
                    MoveToFrontLocked(victim); // used since it last reached the tail: keep it one more round
                    continue;
                }

                RemoveLocked(victim);
            }
        }

        private void RemoveLocked(Entry node)
        {
            if (node.Slots is { } slots && slots[node.Slot] == node)
            {
                Volatile.Write(ref slots[node.Slot], null);
            }

            UnlinkLocked(node);
            _map.Remove(node.Key);
            Volatile.Write(ref UsageBytes, UsageBytes - node.ChargeBytes);
            Volatile.Write(ref Count, Count - 1);
        }

        private void MoveToFrontLocked(Entry node)
        {
            if (node == _head)
            {
                return;
            }

            UnlinkLocked(node);
            node.Next = _head;
            _head!.Prev = node;
            _head = node;
            _tail ??= node;
        }

        private void UnlinkLocked(Entry node)
        {
            if (node.Prev is not null)
            {
                node.Prev.Next = node.Next;
            }
            else
            {
                _head = node.Next;
            }

            if (node.Next is not null)
            {
                node.Next.Prev = node.Prev;
            }
            else
            {
                _tail = node.Prev;
            }

            node.Prev = null;
            node.Next = null;
        }
    }
}
