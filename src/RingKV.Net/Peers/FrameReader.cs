using System;
using System.Buffers;

namespace RingKV.Net.Peers;

/// <summary>A connection's receive buffer: the room for each socket receive, and the frames in it decoded in place.</summary>
/// <remarks>
/// Not thread-safe; one per connection. The buffer is rented from <see cref="ArrayPool{T}.Shared"/>; it grows to hold
/// the largest frame being received (never past the payload limit, which is checked from the header first) and is
/// exchanged for a small one once a big frame is consumed. <see cref="Detach"/> hands the buffer, with the frames
/// decoded from it, to someone else and goes on in a fresh one.
/// </remarks>
internal sealed class FrameReader : IDisposable
{
    /// <summary>Buffer size of an idle connection.</summary>
    public const int InitialBytes = 16 * 1024;

    /// <summary>A receive gets at least this much room.</summary>
    private const int MinReceiveBytes = 4 * 1024;

    /// <summary>A buffer grown past this by a big frame is given back once the frame is consumed.</summary>
    private const int RetainedBytes = 1024 * 1024;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialBytes);
    private int _start;
    private int _end;
    private int _needBytes = PeerFrameCodec.HeaderBytes;

    /// <summary>The current buffer; frames decoded since the last receive lie in it.</summary>
    public byte[] Buffer => _buffer;

    /// <summary>Received bytes not yet decoded.</summary>
    public int BufferedBytes => _end - _start;

    /// <summary>Decodes the next frame; on Complete its payload is at <paramref name="payloadOffset"/> of <see cref="Buffer"/>.</summary>
    /// <remarks>The payload stays valid until the next <see cref="ReceiveMemory"/> or <see cref="Detach"/>.</remarks>
    public PeerFrameStatus TryRead(int maxPayloadBytes, out PeerFrameHeader header, out int payloadOffset, out PeerFrameError error)
    {
        var available = _buffer.AsSpan(_start, _end - _start);
        var status = PeerFrameCodec.TryDecode(available, maxPayloadBytes, out header, out var needBytes, out error);
        payloadOffset = _start + PeerFrameCodec.HeaderBytes;
        if (status == PeerFrameStatus.Complete)
        {
            _start += needBytes;
            _needBytes = PeerFrameCodec.HeaderBytes;
        }
        else if (status == PeerFrameStatus.Incomplete)
        {
            _needBytes = needBytes;
        }

        return status;
    }

    /// <summary>The text for the error the last <see cref="TryRead"/> returned.</summary>
    public string Describe(PeerFrameError error, int maxPayloadBytes) =>
        PeerFrameCodec.Describe(error, _buffer.AsSpan(_start, _end - _start), maxPayloadBytes);

    /// <summary>Room for the next receive: compacts or grows the buffer for the frame being read.</summary>
    /// <remarks>
    /// The caller receives into it straight from the socket, then calls <see cref="Received"/>. Rejected alternative:
    /// an async receive method here, whose state machine each awaiting caller would allocate per receive.
    /// </remarks>
    public Memory<byte> ReceiveMemory()
    {
        if (_start == _end)
        {
            _start = _end = 0;
            if (_buffer.Length > RetainedBytes)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = ArrayPool<byte>.Shared.Rent(InitialBytes);
            }
        }

        if (_buffer.Length - _end < MinReceiveBytes || _buffer.Length - _start < _needBytes)
        {
            MakeRoom();
        }

        return _buffer.AsMemory(_end);
    }

    /// <summary>Counts <paramref name="count"/> bytes received into <see cref="ReceiveMemory"/>.</summary>
    public void Received(int count)
    {
        System.Diagnostics.Debug.Assert(count >= 0 && count <= _buffer.Length - _end, "received into the room given");
        _end += count;
    }

    /// <summary>Gives away the buffer (the caller returns it to the pool) and goes on in a fresh one holding the undecoded bytes.</summary>
    public byte[] Detach()
    {
        var old = _buffer;
        var pending = _end - _start;
        var fresh = ArrayPool<byte>.Shared.Rent(Math.Max(InitialBytes, Math.Max(pending, _needBytes) + MinReceiveBytes));
        old.AsSpan(_start, pending).CopyTo(fresh);
        _buffer = fresh;
        _start = 0;
        _end = pending;
        return old;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _start = _end = 0;
    }

    /// <summary>Moves the undecoded bytes to the front, into a bigger buffer when the pending frame or a receive needs it.</summary>
    private void MakeRoom()
    {
        var pending = _end - _start;
        var needed = Math.Max(_needBytes, pending) + MinReceiveBytes;
        var target = _buffer.Length >= needed ? _buffer : ArrayPool<byte>.Shared.Rent(needed);
        System.Buffer.BlockCopy(_buffer, _start, target, 0, pending);
        if (!ReferenceEquals(target, _buffer))
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = target;
        }

        _start = 0;
        _end = pending;
    }
}
