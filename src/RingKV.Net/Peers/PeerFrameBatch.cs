using System;
using System.Buffers;
using System.Diagnostics;
using System.Threading;

namespace RingKV.Net.Peers;

/// <summary>The frames of one receive from one peer, in the order they were sent, with the buffer that holds them.</summary>
/// <remarks>
/// Ownership: the listener hands a batch to <see cref="IPeerFrameHandler.OnBatchAsync"/>, and from then the handler
/// owns it: it may keep it past the call and pass it to another thread (the node loop), and must call
/// <see cref="Release"/> exactly once when done with every payload. Release returns the receive buffer to
/// <see cref="ArrayPool{T}.Shared"/> and the batch to its listener's pool; a payload must not be read after it.
/// A batch is read by one thread at a time. Cost: no allocation per batch once the pool has warmed up.
/// </remarks>
internal sealed class PeerFrameBatch
{
    private readonly Pool _pool;
    private Slot[] _slots = new Slot[16];
    private byte[]? _buffer;
    private int _count;

    private PeerFrameBatch(Pool pool)
    {
        _pool = pool;
    }

    /// <summary>The sending node's id, from its handshake.</summary>
    public string RemoteNodeId { get; private set; } = "";

    /// <summary>Frames in the batch; at least one.</summary>
    public int Count => _count;

    /// <summary>Frame <paramref name="index"/>, in the order the peer sent them.</summary>
    public PeerFrame this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_count, nameof(index));
            var slot = _slots[index];
            return new PeerFrame(slot.Kind, slot.RequestId, new ReadOnlyMemory<byte>(_buffer, slot.Offset, slot.Length));
        }
    }

    /// <summary>Returns the buffer and the batch; call once, after the last read of any payload.</summary>
    public void Release()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is null)
        {
            throw new InvalidOperationException("the batch was released already");
        }

        ArrayPool<byte>.Shared.Return(buffer);
        _count = 0;
        _pool.Return(this);
    }

    internal void Add(byte kind, ulong requestId, int offset, int length)
    {
        if (_count == _slots.Length)
        {
            Array.Resize(ref _slots, _slots.Length * 2);
        }

        _slots[_count++] = new Slot(kind, requestId, offset, length);
    }

    /// <summary>Gives the batch the buffer its frames lie in. Requires: at least one frame added.</summary>
    internal void Attach(byte[] buffer)
    {
        Debug.Assert(_count > 0 && _buffer is null, "a filled batch without a buffer");
        _buffer = buffer;
    }

    private readonly record struct Slot(byte Kind, ulong RequestId, int Offset, int Length);

    /// <summary>Batches for one listener's connections; thread-safe, since batches come back from the handler's threads.</summary>
    internal sealed class Pool
    {
        private const int Retained = 64;

        private readonly Lock _lock = new();
        private readonly PeerFrameBatch?[] _free = new PeerFrameBatch?[Retained];
        private int _freeCount;

        /// <summary>An empty batch for frames from <paramref name="remoteNodeId"/>.</summary>
        public PeerFrameBatch Rent(string remoteNodeId)
        {
            PeerFrameBatch? batch = null;
            lock (_lock)
            {
                if (_freeCount > 0)
                {
                    batch = _free[--_freeCount];
                    _free[_freeCount] = null;
                }
            }

            batch ??= new PeerFrameBatch(this);
            batch.RemoteNodeId = remoteNodeId;
            return batch;
        }

        /// <summary>A batch never handed out, back unused (its frames forgotten).</summary>
        public void ReturnUnused(PeerFrameBatch batch)
        {
            Debug.Assert(batch._buffer is null, "not handed out");
            batch._count = 0;
            Return(batch);
        }

        internal void Return(PeerFrameBatch batch)
        {
            if (batch._slots.Length > 1024)
            {
                batch._slots = new Slot[16];
            }

            lock (_lock)
            {
                if (_freeCount < Retained)
                {
                    _free[_freeCount++] = batch;
                }
            }
        }
    }
}
