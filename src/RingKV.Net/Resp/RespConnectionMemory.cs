using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace RingKV.Net.Resp;

/// <summary>What the RESP connections of one listener share: the budget for request bytes, and the counters INFO shows.</summary>
/// <remarks>
/// Thread-safe. The budget counts, for every connection, the capacity of its receive buffer beyond the first
/// <see cref="RespSocketConnection.InitialReceiveBytes"/> (which every connection has and max-clients bounds).
/// A connection reserves before it grows its buffer and gives the reservation back when the buffer shrinks.
/// A reservation that does not fit waits in line (first come, first served, so small requests cannot starve a
/// big one) until enough is given back or its deadline passes. Rejected alternative: failing at once when the
/// budget is short; two clients that each send a large request at the same moment would see one of them fail
/// although waiting a moment would serve both, and TCP already makes a waiting client's sends wait.
/// Only the cold path (a buffer that grows or shrinks) touches the budget and the recent maxima; the counters
/// of disconnections are written once per disconnection.
/// </remarks>
internal sealed class RespConnectionMemory
{
    /// <summary>How long a recent maximum is remembered: two windows of this length.</summary>
    private const long RecentWindowMs = 5_000;

    private readonly Lock _lock = new();

    // Guarded by _lock.
    private readonly LinkedList<Waiter> _waiters = new();
    private long _requestBytes;

    private long _requestWaits;
    private long _requestWaitTimeouts;
    private long _requestLimitRejections;
    private long _replyLimitDisconnections;
    private long _buffersReleased;
    private RecentMax _input;
    private RecentMax _output;

    /// <summary>Creates shared state whose request budget is <paramref name="requestBudgetBytes"/>.</summary>
    public RespConnectionMemory(long requestBudgetBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(requestBudgetBytes);
        RequestBudgetBytes = requestBudgetBytes;
    }

    /// <summary>Request bytes all connections may hold at once (beyond their initial buffers).</summary>
    public long RequestBudgetBytes { get; }

    /// <summary>Request bytes reserved now.</summary>
    public long RequestBytes
    {
        get
        {
            lock (_lock)
            {
                return _requestBytes;
            }
        }
    }

    /// <summary>Grows that waited for the budget.</summary>
    public long RequestWaits => Volatile.Read(ref _requestWaits);

    /// <summary>Requests refused because the budget stayed short until their deadline.</summary>
    public long RequestWaitTimeouts => Volatile.Read(ref _requestWaitTimeouts);

    /// <summary>Requests over the per-connection limit (answered with an error, connection closed).</summary>
    public long RequestLimitRejections => Volatile.Read(ref _requestLimitRejections);

    /// <summary>Clients disconnected because their unread replies passed the reply-buffer limit.</summary>
    public long ReplyLimitDisconnections => Volatile.Read(ref _replyLimitDisconnections);

    /// <summary>Grown receive and reply buffers given back after the request or reply that grew them.</summary>
    public long BuffersReleased => Volatile.Read(ref _buffersReleased);

    /// <summary>Largest receive buffer any connection held in the last 5 to 10 seconds (0 when none grew).</summary>
    public long RecentMaxInputBytes => _input.Read(_lock);

    /// <summary>Largest reply buffer any connection held in the last 5 to 10 seconds (0 when none grew).</summary>
    public long RecentMaxOutputBytes => _output.Read(_lock);

    /// <summary>Reserves <paramref name="bytes"/> if they fit now and nobody waits before; false otherwise.</summary>
    public bool TryReserve(long bytes)
    {
        Debug.Assert(bytes >= 0);
        lock (_lock)
        {
            if (_waiters.Count == 0 && _requestBytes + bytes <= RequestBudgetBytes)
            {
                _requestBytes += bytes;
                return true;
            }

            return false;
        }
    }

    /// <summary>Reserves <paramref name="bytes"/>, waiting in line up to <paramref name="wait"/>; false when the deadline passed first.</summary>
    /// <remarks>Requires: <paramref name="bytes"/> &lt;= <see cref="RequestBudgetBytes"/> (else it can only time out). Cold path; allocates.</remarks>
    public async ValueTask<bool> ReserveAsync(long bytes, TimeSpan wait)
    {
        if (TryReserve(bytes))
        {
            return true;
        }

        Interlocked.Increment(ref _requestWaits);
        var waiter = new Waiter(bytes);
        lock (_lock)
        {
            if (_waiters.Count == 0 && _requestBytes + bytes <= RequestBudgetBytes)
            {
                _requestBytes += bytes; // given back between the two locks
                return true;
            }

            waiter.Node = _waiters.AddLast(waiter);
        }

        try
        {
            await waiter.Granted.Task.WaitAsync(wait).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            lock (_lock)
            {
                if (waiter.Granted.Task.IsCompleted)
                {
                    return true; // granted just as the deadline passed
                }

                _waiters.Remove(waiter.Node!);
                GrantLocked(); // a big waiter leaving may let smaller ones behind it in
            }

            Interlocked.Increment(ref _requestWaitTimeouts);
            return false;
        }
    }

    /// <summary>Gives back <paramref name="bytes"/> and lets waiters in that now fit, in order.</summary>
    public void Release(long bytes)
    {
        Debug.Assert(bytes >= 0);
        if (bytes == 0)
        {
            return;
        }

        lock (_lock)
        {
            _requestBytes -= bytes;
            Debug.Assert(_requestBytes >= 0, "released more request bytes than reserved");
            GrantLocked();
        }
    }

    /// <summary>Counts a request over the per-connection limit.</summary>
    public void CountRequestLimitRejection() => Interlocked.Increment(ref _requestLimitRejections);

    /// <summary>Counts a client disconnected for its unread replies.</summary>
    public void CountReplyLimitDisconnection() => Interlocked.Increment(ref _replyLimitDisconnections);

    /// <summary>Counts a grown buffer given back.</summary>
    public void CountBufferReleased() => Interlocked.Increment(ref _buffersReleased);

    /// <summary>Notes a receive buffer that grew to <paramref name="bytes"/>.</summary>
    public void NoteInput(long bytes) => _input.Note(_lock, bytes);

    /// <summary>Notes a reply buffer that grew to <paramref name="bytes"/>.</summary>
    public void NoteOutput(long bytes) => _output.Note(_lock, bytes);

    private void GrantLocked()
    {
        while (_waiters.First is { } first && _requestBytes + first.Value.Bytes <= RequestBudgetBytes)
        {
            _requestBytes += first.Value.Bytes;
            _waiters.RemoveFirst();
            first.Value.Granted.TrySetResult();
        }
    }

    private sealed class Waiter(long bytes)
    {
        public long Bytes { get; } = bytes;

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }
    }

    /// <summary>The largest value noted in the current window and the one before it.</summary>
    private struct RecentMax
    {
        private long _window;
        private long _current;
        private long _previous;

        public void Note(Lock gate, long value)
        {
            lock (gate)
            {
                Rotate();
                _current = Math.Max(_current, value);
            }
        }

        public long Read(Lock gate)
        {
            lock (gate)
            {
                Rotate();
                return Math.Max(_current, _previous);
            }
        }

        private void Rotate()
        {
            var window = Environment.TickCount64 / RecentWindowMs;
            if (window != _window)
            {
                _previous = window == _window + 1 ? _current : 0;
                _current = 0;
                _window = window;
            }
        }
    }
}
