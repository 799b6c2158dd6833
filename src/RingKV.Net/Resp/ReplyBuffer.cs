using System;
using System.Buffers;
using System.Net.Sockets;

namespace RingKV.Net.Resp;

/// <summary>A connection's reply bytes not yet sent: a growable buffer that streams big replies to the socket and holds at most a limit of them.</summary>
/// <remarks>
/// Not thread-safe; written by the connection's handler, sent by its loop. Replies of small pipelines stay in the
/// first buffer and leave with the loop's one send per receive. When the handler would grow the buffer past
/// <see cref="PushBytes"/>, the buffer first hands what it holds to the socket without waiting (a non-blocking
/// send of what the kernel takes now), so a big reply or a deep pipeline streams through a small buffer while
/// the client reads. Bytes in the buffer are always a prefix of the connection's reply stream (handlers write
/// replies in order), so sending them early never reorders anything.
/// Past <c>maxUnsentBytes</c> the buffer overflows: it stops keeping bytes (writes go to a scratch array), and
/// the loop disconnects the client. A failed send marks it <see cref="Failed"/> the same way.
/// Memory: grown storage beyond <see cref="ConnectionBuffer.PooledMaxBytes"/> is mapped and given back by
/// <see cref="Clear"/>, so an idle connection keeps only its first buffer.
/// </remarks>
internal sealed class ReplyBuffer : IBufferWriter<byte>, IDisposable
{
    /// <summary>Unsent bytes at which the buffer sends before it grows.</summary>
    public const int PushBytes = 64 * 1024;

    private readonly int _initialBytes;
    private readonly long _maxUnsentBytes;
    private readonly Socket? _socket;
    private readonly RespConnectionMemory? _memory;
    private ConnectionBuffer _buffer;
    private int _sent;
    private int _written;
    private byte[]? _scratch;
    private bool _overflowed;
    private bool _failed;
    private bool _dropping;

    /// <summary>Creates a buffer of <paramref name="initialBytes"/> that keeps up to <paramref name="maxUnsentBytes"/> unsent and pushes to <paramref name="socket"/> when given.</summary>
    /// <remarks>Requires: a given <paramref name="socket"/> is non-blocking (<see cref="Socket.Blocking"/> false), so a push never waits.</remarks>
    public ReplyBuffer(int initialBytes, long maxUnsentBytes = long.MaxValue, Socket? socket = null, RespConnectionMemory? memory = null)
    {
        _initialBytes = initialBytes;
        _maxUnsentBytes = maxUnsentBytes;
        _socket = socket;
        _memory = memory;
        _buffer = new ConnectionBuffer(initialBytes);
    }

    /// <summary>The bytes written and not yet sent.</summary>
    public ReadOnlyMemory<byte> UnsentMemory => _buffer.Memory[_sent.._written];

    /// <summary>Count of <see cref="UnsentMemory"/>.</summary>
    public int UnsentCount => _written - _sent;

    /// <summary>Bytes the buffer can hold now without growing.</summary>
    public int Capacity => _buffer.Capacity;

    /// <summary>Whether the unsent bytes would have passed the limit; later writes were dropped.</summary>
    public bool Overflowed
    {
        get => _overflowed;
        private set
        {
            _overflowed = value;
            _dropping |= value;
        }
    }

    /// <summary>Whether a push to the socket failed (the client reset the connection); later writes were dropped.</summary>
    public bool Failed
    {
        get => _failed;
        private set
        {
            _failed = value;
            _dropping |= value;
        }
    }

    /// <summary>Bytes handed to the socket by pushes since the last <see cref="Clear"/>.</summary>
    public long PushedBytes { get; private set; }

    /// <inheritdoc/>
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (_dropping)
        {
            return; // the bytes went to the scratch array
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Capacity - _written);
        _written += count;
    }

    /// <inheritdoc/>
    public Memory<byte> GetMemory(int sizeHint = 0) => Ensure(sizeHint) ? _buffer.Memory[_written..] : Scratch(sizeHint);

    /// <inheritdoc/>
    public Span<byte> GetSpan(int sizeHint = 0) => Ensure(sizeHint) ? _buffer.Span[_written..] : Scratch(sizeHint);

    /// <summary>Records that the loop sent <paramref name="count"/> of the unsent bytes.</summary>
    public void MarkSent(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, UnsentCount);
        _sent += count;
        if (_sent == _written)
        {
            _sent = _written = 0;
        }
    }

    /// <summary>Forgets the unsent bytes; storage grown past <paramref name="retainBytes"/> is exchanged for a first-size buffer.</summary>
    public void Clear(int retainBytes)
    {
        _sent = _written = 0;
        PushedBytes = 0;
        _scratch = null;
        if (_buffer.Capacity > retainBytes)
        {
            _buffer.Resize(_initialBytes, 0, 0);
            _memory?.CountBufferReleased();
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _buffer.Release();
        _sent = _written = 0;
        _scratch = null;
    }

    /// <summary>Makes room for <paramref name="sizeHint"/> bytes (at least one); false when the buffer overflowed or failed.</summary>
    private bool Ensure(int sizeHint)
    {
        if (_dropping)
        {
            return false;
        }

        var needed = Math.Max(sizeHint, 1);
        return _buffer.Capacity - _written >= needed || MakeRoom(needed);
    }

    private bool MakeRoom(int needed)
    {
        if (_socket is not null && UnsentCount >= PushBytes)
        {
            Push(_socket);
            if (Failed)
            {
                return false;
            }
        }

        var unsent = UnsentCount;
        if (unsent + (long)needed > _maxUnsentBytes)
        {
            Overflowed = true;
            return false;
        }

        if (_buffer.Capacity - unsent >= needed)
        {
            // What was sent left room at the front: move the rest there.
            _buffer.Span[_sent.._written].CopyTo(_buffer.Span);
        }
        else
        {
            var target = (int)Math.Min(_maxUnsentBytes, Math.Max((long)_buffer.Capacity * 2, unsent + (long)needed));
            _buffer.Resize(Math.Max(target, unsent + needed), _sent, _written);
            _memory?.NoteOutput(_buffer.Capacity);
        }

        _written = unsent;
        _sent = 0;
        return true;
    }

    /// <summary>Sends what the kernel takes now without waiting.</summary>
    private void Push(Socket socket)
    {
        while (UnsentCount > 0)
        {
            var sent = socket.Send(_buffer.Span[_sent.._written], SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock || (error == SocketError.Success && sent == 0))
            {
                return;
            }

            if (error != SocketError.Success)
            {
                Failed = true;
                return;
            }

            PushedBytes += sent;
            MarkSent(sent);
        }
    }

    private byte[] Scratch(int sizeHint)
    {
        var size = Math.Max(sizeHint, 4096);
        if (_scratch is null || _scratch.Length < size)
        {
            _scratch = new byte[size];
        }

        return _scratch;
    }
}
