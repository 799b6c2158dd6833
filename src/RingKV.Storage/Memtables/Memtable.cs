using System;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using System.Threading;
using RingKV.Storage.Keys;

namespace RingKV.Storage.Memtables;

/// <summary>The in-memory sorted table of recent writes: a skip list laid out in an arena of byte chunks.</summary>
/// <remarks>
/// One writer at a time (the engine's write leader), any number of lock-free readers, like LevelDB's
/// skip list. Nodes live in byte chunks, not objects, so an insert allocates nothing but an occasional
/// chunk and the GC sees a handful of arrays instead of millions of nodes.
/// <code>
/// node: | height (4) | next[height] (4 each) | key length (4) | value length (4) | internal key | value |
/// </code>
/// A node reference is <c>(chunk &lt;&lt; 22) | offset</c>; 0 means null (offset 0 of chunk 0 is never a node).
/// Invariants: (1) a node is fully written before any next pointer to it is published with a release
/// store; (2) a chunk slot is set before any node in it is published; (3) entries are never removed.
/// <para>
/// The list is cut into buckets by the top bits of the key's token. Keys are ordered by token first, so
/// bucket order is key order and walking the buckets one after another is walking one list; but a
/// search or an insert starts at its own bucket's head and walks a list of one or two nodes instead of
/// one of the whole memtable (in a 40 MB memtable, two dependent cache misses instead of 25). The
/// tokens are hashes, so the buckets fill evenly; a bucket's list has at most four levels, plenty for the
/// few nodes it holds and still logarithmic up to a few hundred. This is the node-level cost of an insert,
/// which the write leader pays for every key while other writers wait.
/// </para>
/// <para>
/// Point reads do not walk the skip list when they can help it: a hash index (open addressing, linear
/// probing) maps each user key to its newest node, one <c>ulong</c> per slot, <c>(token &gt;&gt; 32) &lt;&lt; 32 |
/// node</c>, so a slot is published with one release store and never seen torn. A walk of a large skip list
/// is some 25 dependent cache misses; the index is one or two. Like RocksDB's memtable whole-key bloom it
/// answers "not here" without a walk, but it also finds the entry. While the index is complete (every key
/// of the memtable is in it) a miss in it means the key is not in the memtable. Past three quarters full it
/// stops taking new keys and is marked incomplete: misses then walk the skip list, hits still do not. A hit
/// whose newest version is newer than the reader's snapshot walks the skip list for the older version.
/// </para>
/// </remarks>
internal sealed class Memtable
{
    private const int MaxHeight = 4;
    private const int OffsetBits = 22;
    private const int OffsetMask = (1 << OffsetBits) - 1;
    private const int MaxChunks = 1 << (31 - OffsetBits);
    private const int MaxChunkBytes = 1 << OffsetBits;
    private const int NodeHeaderBytes = 4;

    private readonly byte[]?[] _chunks = new byte[MaxChunks][];
    private readonly int[] _heads;
    private readonly OccupancyBitmap _occupied;
    private readonly int _bucketCount;
    private readonly int _bucketShift;
    private readonly int _chunkBytes;
    private int _chunkCount;
    private int _offset;
    private ulong _rng;
    private long _allocatedBytes;
    private long _usedBytes;
    private int _entries;
    private readonly ulong[] _index;
    private readonly int _indexMask;
    private int _indexed;
    private volatile bool _indexComplete = true;

    /// <summary>Creates an empty memtable sized for about <paramref name="budgetBytes"/>.</summary>
    public Memtable(long budgetBytes, long firstLogNumber)
    {
        var chunk = 64 * 1024;
        while (chunk < MaxChunkBytes && chunk < budgetBytes / 8)
        {
            chunk <<= 1;
        }

        _chunkBytes = chunk;
        _rng = 0x9E3779B97F4A7C15UL ^ (ulong)budgetBytes;
        FirstLogNumber = firstLogNumber;
        NewChunk(_chunkBytes);
        _offset = 8; // keep reference 0 free for null

        // About one bucket per 256 bytes of budget: one or two 100-byte entries each when full, so an insert
        // reads its bucket's heads and one or two nodes. Every node visited is a cache (and TLB) miss in a
        // memtable of tens of MiB: with one bucket per 2 KiB (about ten entries) an insert visited four or five
        // nodes. A bucket's heads are MaxHeight ints, 16 bytes, so its levels almost always share one cache line.
        var bucketBits = 4;
        while (bucketBits < 20 && (256L << bucketBits) < budgetBytes)
        {
            bucketBits++;
        }

        _bucketShift = 64 - bucketBits;
        _bucketCount = 1 << bucketBits;
        _heads = new int[_bucketCount * MaxHeight];
        _occupied = new OccupancyBitmap(_bucketCount);

        // About one slot per 100 budget bytes: a 100-byte value with its key and node overhead fills the
        // memtable at under three quarters load.
        var slots = 1024;
        while (slots < (1 << 24) && slots < budgetBytes / 100)
        {
            slots <<= 1;
        }

        _index = new ulong[slots];
        _indexMask = slots - 1;
        _allocatedBytes += ((long)slots * sizeof(ulong)) + (_heads.Length * sizeof(int)) + _occupied.SizeBytes;
    }

    /// <summary>The commit-log segment this memtable's first record went to.</summary>
    public long FirstLogNumber { get; }

    /// <summary>Bytes of keys and values stored, plus node overhead.</summary>
    public long UsedBytes => Volatile.Read(ref _usedBytes);

    /// <summary>Bytes of arena chunks allocated (what it costs in memory).</summary>
    public long AllocatedBytes => Volatile.Read(ref _allocatedBytes);

    /// <summary>Entries inserted.</summary>
    public int Count => Volatile.Read(ref _entries);

    /// <summary>Smallest sequence number inserted (ulong.MaxValue when empty).</summary>
    public ulong MinSequence { get; private set; } = ulong.MaxValue;

    /// <summary>Largest sequence number inserted.</summary>
    public ulong MaxSequence { get; private set; }

    /// <summary>
    /// Starts loading what an insert of a key with <paramref name="token"/> reads first (its bucket's heads and its index
    /// slot) without waiting for it. The write leader calls it for every key of a group before inserting any, so the
    /// cache misses of a group overlap instead of following one another.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void Prefetch(ulong token)
    {
        if (Sse.IsSupported)
        {
            var bucket = (int)(token >> _bucketShift);
            Sse.Prefetch0(Unsafe.AsPointer(ref _heads[bucket * MaxHeight]));
            Sse.Prefetch0(Unsafe.AsPointer(ref _index[(int)token & _indexMask]));
        }
    }

    /// <summary>
    /// Starts loading the first node of the bucket of <paramref name="token"/> (after <see cref="Prefetch"/> brought in
    /// its heads): with one or two nodes per bucket, most inserts compare against that node.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void PrefetchFirstNode(ulong token)
    {
        if (Sse.IsSupported)
        {
            var first = Volatile.Read(ref _heads[(int)(token >> _bucketShift) * MaxHeight]);
            if (first != 0)
            {
                Sse.Prefetch0(Unsafe.AsPointer(ref _chunks[first >> OffsetBits]![first & OffsetMask]));
            }
        }
    }

    /// <summary>Inserts an entry. Requires: the single writer; no equal internal key present.</summary>
    public void Add(ReadOnlySpan<byte> internalKey, ReadOnlySpan<byte> value)
    {
        var height = RandomHeight();
        var size = NodeHeaderBytes + (4 * height) + 8 + internalKey.Length + value.Length;
        var node = Allocate(size);
        var chunk = _chunks[node >> OffsetBits]!;
        var at = node & OffsetMask;
        var span = chunk.AsSpan(at, size);
        BinaryPrimitives.WriteInt32LittleEndian(span, height);
        var kv = span[(NodeHeaderBytes + (4 * height))..];
        BinaryPrimitives.WriteInt32LittleEndian(kv, internalKey.Length);
        BinaryPrimitives.WriteInt32LittleEndian(kv[4..], value.Length);
        internalKey.CopyTo(kv[8..]);
        value.CopyTo(kv[(8 + internalKey.Length)..]);

        Span<int> prev = stackalloc int[MaxHeight];
        var bucket = BucketOf(internalKey);
        FindInBucket(bucket, internalKey, prev);
        for (var i = 0; i < height; i++)
        {
            // The new node's next needs no barrier: nobody sees the node until the release below.
            SetNextRelaxed(node, i, GetNext(bucket, prev[i], i));
            SetNext(bucket, prev[i], i, node);
        }

        _occupied.Set(bucket); // after the node is linked: a reader that finds the bit finds the node

        var seq = InternalKey.Sequence(internalKey);
        IndexNewest(internalKey, node, seq);
        if (seq < MinSequence)
        {
            MinSequence = seq;
        }

        if (seq > MaxSequence)
        {
            MaxSequence = seq;
        }

        Interlocked.Add(ref _usedBytes, size);
        Interlocked.Increment(ref _entries);
    }

    /// <summary>
    /// Finds the newest entry of <paramref name="seekKey"/>'s ordered key with a sequence at most the seek key's.
    /// </summary>
    /// <returns>True when found, with its kind and value (valid as long as this memtable is alive).</returns>
    public bool TryGet(ReadOnlySpan<byte> seekKey, out ValueKind kind, out ReadOnlySpan<byte> value) =>
        TryGet(seekKey, out kind, out _, out value);

    /// <summary>As <see cref="TryGet(ReadOnlySpan{byte}, out ValueKind, out ReadOnlySpan{byte})"/>, with the found entry's sequence.</summary>
    public bool TryGet(ReadOnlySpan<byte> seekKey, out ValueKind kind, out ulong sequence, out ReadOnlySpan<byte> value)
    {
        switch (FindIndexed(seekKey, out var newest))
        {
            case IndexAnswer.Absent:
                kind = default;
                sequence = 0;
                value = default;
                return false;
            case IndexAnswer.Found:
                var found = KeyOf(newest);
                kind = InternalKey.Kind(found);
                sequence = InternalKey.Sequence(found);
                value = ValueOf(newest);
                return true;
        }

        return Walk(seekKey, out kind, out sequence, out value);
    }

    /// <summary>The same answer as <see cref="TryGet(ReadOnlySpan{byte}, out ValueKind, out ReadOnlySpan{byte})"/>, from the skip list alone (tests compare the two).</summary>
    internal bool TryGetByWalk(ReadOnlySpan<byte> seekKey, out ValueKind kind, out ReadOnlySpan<byte> value) =>
        Walk(seekKey, out kind, out _, out value);

    private bool Walk(ReadOnlySpan<byte> seekKey, out ValueKind kind, out ulong sequence, out ReadOnlySpan<byte> value)
    {
        var node = FindInBucket(BucketOf(seekKey), seekKey, default);
        if (node != 0)
        {
            var key = KeyOf(node);
            if (InternalKey.CompareOrdered(key, seekKey) == 0)
            {
                kind = InternalKey.Kind(key);
                sequence = InternalKey.Sequence(key);
                value = ValueOf(node);
                return true;
            }
        }

        kind = default;
        sequence = 0;
        value = default;
        return false;
    }

    /// <summary>Whether every key of this memtable is in the hash index (false once it filled up).</summary>
    internal bool IndexComplete => _indexComplete;

    private enum IndexAnswer
    {
        Absent,
        Found,
        Walk,
    }

    /// <summary>Points the key's index slot at <paramref name="node"/>, its newest version (writer only).</summary>
    private void IndexNewest(ReadOnlySpan<byte> internalKey, int node, ulong sequence)
    {
        var token = BinaryPrimitives.ReadUInt64BigEndian(internalKey);
        var tag = token & 0xFFFF_FFFF_0000_0000UL;
        var slot = (int)token & _indexMask;
        while (true)
        {
            var entry = _index[slot];
            if (entry == 0)
            {
                if (_indexed >= (_index.Length >> 2) * 3)
                {
                    _indexComplete = false; // full enough: new keys are found by walking
                    return;
                }

                _indexed++;
                Volatile.Write(ref _index[slot], tag | (uint)node);
                return;
            }

            if ((entry & 0xFFFF_FFFF_0000_0000UL) == tag)
            {
                var other = KeyOf((int)(uint)entry);
                if (InternalKey.CompareOrdered(other, internalKey) == 0)
                {
                    if (InternalKey.Sequence(other) < sequence)
                    {
                        Volatile.Write(ref _index[slot], tag | (uint)node);
                    }

                    return;
                }
            }

            slot = (slot + 1) & _indexMask;
        }
    }

    /// <summary>Looks the key up in the hash index: absent for sure, its visible newest node, or "walk the list".</summary>
    private IndexAnswer FindIndexed(ReadOnlySpan<byte> seekKey, out int node)
    {
        var token = BinaryPrimitives.ReadUInt64BigEndian(seekKey);
        var tag = token & 0xFFFF_FFFF_0000_0000UL;
        var slot = (int)token & _indexMask;
        while (true)
        {
            var entry = Volatile.Read(ref _index[slot]);
            if (entry == 0)
            {
                node = 0;
                return _indexComplete ? IndexAnswer.Absent : IndexAnswer.Walk;
            }

            if ((entry & 0xFFFF_FFFF_0000_0000UL) == tag)
            {
                node = (int)(uint)entry;
                var key = KeyOf(node);
                if (InternalKey.CompareOrdered(key, seekKey) == 0)
                {
                    // Visible to this reader only if not newer than its snapshot; else an older version is wanted.
                    return InternalKey.Sequence(key) <= InternalKey.Sequence(seekKey) ? IndexAnswer.Found : IndexAnswer.Walk;
                }
            }

            slot = (slot + 1) & _indexMask;
        }
    }

    /// <summary>A cursor over every entry.</summary>
    public IInternalIterator NewIterator() => new Iterator(this);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> KeyOf(int node)
    {
        var chunk = Entry(node, out var kv, out var keyLength);
        return chunk.AsSpan(kv + 8, keyLength);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> ValueOf(int node)
    {
        var chunk = Entry(node, out var kv, out var keyLength);
        var valueLength = BinaryPrimitives.ReadInt32LittleEndian(chunk.AsSpan(kv + 4));
        return chunk.AsSpan(kv + 8 + keyLength, valueLength);
    }

    /// <summary>The chunk holding a node, where its key/value header starts and its key length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte[] Entry(int node, out int kv, out int keyLength)
    {
        var chunk = _chunks[node >> OffsetBits]!;
        var at = node & OffsetMask;
        var height = BinaryPrimitives.ReadInt32LittleEndian(chunk.AsSpan(at));
        kv = at + NodeHeaderBytes + (4 * height);
        keyLength = BinaryPrimitives.ReadInt32LittleEndian(chunk.AsSpan(kv));
        return chunk;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int BucketOf(ReadOnlySpan<byte> key) => (int)(BinaryPrimitives.ReadUInt64BigEndian(key) >> _bucketShift);

    /// <summary>The node after <paramref name="node"/> at <paramref name="level"/>; node 0 is the head of <paramref name="bucket"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int GetNext(int bucket, int node, int level)
    {
        if (node == 0)
        {
            return Volatile.Read(ref _heads[(bucket * MaxHeight) + level]);
        }

        var chunk = _chunks[node >> OffsetBits]!;
        var at = (node & OffsetMask) + NodeHeaderBytes + (4 * level);
        return Volatile.Read(ref Unsafe.As<byte, int>(ref chunk[at]));
    }

    private void SetNext(int bucket, int node, int level, int next)
    {
        if (node == 0)
        {
            Volatile.Write(ref _heads[(bucket * MaxHeight) + level], next);
            return;
        }

        var chunk = _chunks[node >> OffsetBits]!;
        var at = (node & OffsetMask) + NodeHeaderBytes + (4 * level);
        Volatile.Write(ref Unsafe.As<byte, int>(ref chunk[at]), next);
    }

    private void SetNextRelaxed(int node, int level, int next)
    {
        var chunk = _chunks[node >> OffsetBits]!;
        var at = (node & OffsetMask) + NodeHeaderBytes + (4 * level);
        Unsafe.As<byte, int>(ref chunk[at]) = next;
    }

    /// <summary>
    /// The first node of <paramref name="bucket"/> at or after <paramref name="key"/>, or 0 when the bucket
    /// has none; fills <paramref name="prev"/> (when not empty) with the last node before it at each level.
    /// </summary>
    private int FindInBucket(int bucket, ReadOnlySpan<byte> key, Span<int> prev)
    {
        // Every search starts at the top level: the bucket's unused levels are null heads in the same cache
        // line, so dropping through them costs nothing, and no per-bucket height has to be kept.
        var node = 0; // the bucket's head
        var level = MaxHeight - 1;
        while (true)
        {
            var next = GetNext(bucket, node, level);
            if (next != 0 && InternalKey.Compare(KeyOf(next), key) < 0)
            {
                node = next;
                continue;
            }

            if (!prev.IsEmpty)
            {
                prev[level] = node;
            }

            if (level == 0)
            {
                return next;
            }

            level--;
        }
    }

    /// <summary>The first node at or after <paramref name="key"/> in the whole table, or 0.</summary>
    private int FindGreaterOrEqual(ReadOnlySpan<byte> key, ref int probes)
    {
        var bucket = BucketOf(key);
        var node = FindInBucket(bucket, key, default);
        return node != 0 ? node : FirstFrom(bucket + 1, ref probes);
    }

    /// <summary>
    /// The first node of the first non-empty bucket from <paramref name="bucket"/> on, or 0; adds the occupancy words and
    /// bucket heads it read to <paramref name="probes"/>.
    /// </summary>
    private int FirstFrom(int bucket, ref int probes)
    {
        while ((bucket = _occupied.NextSet(bucket, ref probes)) >= 0)
        {
            probes++;
            var first = Volatile.Read(ref _heads[bucket * MaxHeight]);
            if (first != 0)
            {
                return first;
            }

            bucket++; // not reached: a bucket's bit is set after its first node is linked
        }

        return 0;
    }

    /// <summary>The node after <paramref name="node"/> in the whole table, or 0.</summary>
    private int NextOf(int node, ref int probes)
    {
        var key = KeyOf(node);
        var bucket = BucketOf(key);
        var next = GetNext(bucket, node, 0);
        return next != 0 ? next : FirstFrom(bucket + 1, ref probes);
    }

    private int RandomHeight()
    {
        // xorshift64*: our own PRNG, deterministic per memtable; branching factor 4 as in LevelDB.
        _rng ^= _rng >> 12;
        _rng ^= _rng << 25;
        _rng ^= _rng >> 27;
        var r = _rng * 2685821657736338717UL;
        var height = 1;
        while (height < MaxHeight && (r & 3) == 0)
        {
            height++;
            r >>= 2;
        }

        return height;
    }

    private int Allocate(int size)
    {
        size = (size + 3) & ~3; // keep next pointers 4-byte aligned
        if (size > _chunkBytes)
        {
            // A large entry gets a chunk of its own, so chunks stay small for small entries.
            NewChunk(size);
            _offset = _chunkBytes; // the next small entry starts a new regular chunk
            return (_chunkCount - 1) << OffsetBits;
        }

        if (_offset + size > _chunkBytes)
        {
            NewChunk(_chunkBytes);
        }

        var node = ((_chunkCount - 1) << OffsetBits) | _offset;
        _offset += size;
        return node;
    }

    private void NewChunk(int size)
    {
        if (_chunkCount == MaxChunks)
        {
            throw new InvalidOperationException("memtable arena exhausted; the memtable budget is too large");
        }

        _chunks[_chunkCount] = new byte[size];
        _chunkCount++;
        _offset = 0;
        Interlocked.Add(ref _allocatedBytes, size);
    }

    /// <summary>A cursor over every entry; <see cref="Probes"/> counts the work of finding non-empty buckets.</summary>
    internal sealed class Iterator(Memtable table) : IInternalIterator
    {
        private int _node;
        private int _probes;

        public bool Valid => _node != 0;

        public ReadOnlySpan<byte> Key => table.KeyOf(_node);

        public ReadOnlySpan<byte> Value => table.ValueOf(_node);

        /// <summary>Occupancy words and bucket heads read so far to step from a bucket to the next non-empty one.</summary>
        internal int Probes => _probes;

        public void SeekToFirst() => _node = table.FirstFrom(0, ref _probes);

        public void Seek(ReadOnlySpan<byte> internalKey) => _node = table.FindGreaterOrEqual(internalKey, ref _probes);

        public void Next() => _node = table.NextOf(_node, ref _probes);

        public void Dispose()
        {
        }
    }
}
