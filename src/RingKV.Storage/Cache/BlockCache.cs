using System;
using System.Collections.Generic;
using System.Numerics;
using System.Threading;
using RingKV.Storage.Tables;

namespace RingKV.Storage.Cache;

/// <summary>A sharded cache of decompressed table blocks with a byte budget, evicting least recently used with a second chance.</summary>
/// <remarks>
/// Thread-safe: each shard has its own <see cref="Lock"/> held only for a dictionary lookup (a hit) or a few pointer moves (an insert),
/// never for I/O. A hit allocates nothing; an insert allocates one node. Blocks are immutable GC-managed arrays, so
/// eviction only drops the cache's reference and readers holding a block keep using it safely.
/// A block is charged <see cref="Block.ChargeBytes"/>; each shard keeps its usage under its share of the capacity,
/// so <see cref="UsageBytes"/> ≤ <see cref="CapacityBytes"/> at all times (a block larger than a shard's share is not cached).
/// Eviction order: the list is in insertion order; a hit only sets the node's referenced flag, and eviction moves a
/// referenced tail node to the front instead of dropping it (CLOCK's second chance on an LRU list). Strict LRU, which
/// moved the node to the front on every hit, was rejected after profiling: those pointer writes under the shard lock
/// were the costliest part of a cached read when two cores read at once.
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
    public bool TryGet(ulong fileNumber, long offset, out Block block)
    {
        var key = new CacheKey(fileNumber, offset);
        return ShardOf(key).TryGet(key, out block);
    }

    /// <summary>Caches a block, replacing any cached at the same place, evicting the least recently used to stay in budget.</summary>
    public void Insert(ulong fileNumber, long offset, Block block)
    {
        var key = new CacheKey(fileNumber, offset);
        ShardOf(key).Insert(key, block);
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

    private readonly struct CacheKey(ulong fileNumber, long offset) : IEquatable<CacheKey>
    {
        public readonly ulong FileNumber = fileNumber;
        public readonly long Offset = offset;

        /// <summary>A well-mixed 64-bit hash: high bits pick the shard, low bits feed the dictionary.</summary>
        public ulong Hash => BitOperations.RotateLeft(FileNumber * 0x9E3779B97F4A7C15UL, 31) ^ ((ulong)Offset * 0xC2B2AE3D27D4EB4FUL) * 0x165667B19E3779F9UL;

        public bool Equals(CacheKey other) => FileNumber == other.FileNumber && Offset == other.Offset;

        public override bool Equals(object? obj) => obj is CacheKey other && Equals(other);

        public override int GetHashCode() => (int)Hash;
    }

    private sealed class Node(CacheKey key, Block block)
    {
        public readonly CacheKey Key = key;
        public Block Block = block;
        public Node? Prev;
        public Node? Next;

        /// <summary>Set by a hit; eviction gives a referenced node a second chance instead of dropping it.</summary>
        public bool Referenced;
    }

    private sealed class Shard
    {
        public long UsageBytes;
        public int Count;

        private readonly Lock _lock = new();

        // Guarded by _lock: the map, the LRU list (head = most recent) and the capacity.
        private readonly Dictionary<CacheKey, Node> _map = [];
        private Node? _head;
        private Node? _tail;
        private long _capacityBytes;

        public bool TryGet(CacheKey key, out Block block)
        {
            lock (_lock)
            {
                if (_map.TryGetValue(key, out var node))
                {
                    // A hit only marks the node (CLOCK-style second chance): moving it to the front on every
                    // hit rewrote four list pointers under the lock, the costliest part of a cached read.
                    node.Referenced = true;
                    block = node.Block;
                    return true;
                }
            }

            block = null!;
            return false;
        }

        public void Insert(CacheKey key, Block block)
        {
            lock (_lock)
            {
                if (_map.TryGetValue(key, out var existing))
                {
                    RemoveLocked(existing);
                }

                if (block.ChargeBytes > _capacityBytes)
                {
                    return;
                }

                var node = new Node(key, block);
                _map.Add(key, node);
                node.Next = _head;
                if (_head is not null)
                {
                    _head.Prev = node;
                }

                _head = node;
                _tail ??= node;
                Volatile.Write(ref UsageBytes, UsageBytes + block.ChargeBytes);
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

        private void RemoveLocked(Node node)
        {
            UnlinkLocked(node);
            _map.Remove(node.Key);
            Volatile.Write(ref UsageBytes, UsageBytes - node.Block.ChargeBytes);
            Volatile.Write(ref Count, Count - 1);
        }

        private void MoveToFrontLocked(Node node)
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

        private void UnlinkLocked(Node node)
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
