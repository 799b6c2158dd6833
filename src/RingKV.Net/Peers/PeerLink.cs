using System;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RingKV.Net.Peers;

/// <summary>The one long-lived outgoing connection to a peer: queues frames without blocking and sends each batch in one socket send.</summary>
/// <remarks>
/// Thread-safety: <see cref="Send"/>, <see cref="Flush"/> and the counters may be called from any thread at any
/// time; they take a short lock and never do I/O or wait. Observer callbacks come from the link's connect loop.
/// Ownership: <see cref="Send"/> copies the payload; the caller keeps its buffer.
/// Sending: frames are encoded into a pending buffer; <see cref="Flush"/> asks the send loop (on the thread pool, never
/// on the caller's thread) to send everything pending, in one socket send when the kernel takes it whole. So the
/// frames a node produces for a peer from one batch of work leave as one send, and flushes that come while a send is
/// in flight are coalesced into the next. Rejected alternative: a send per frame (a -P 16 pipeline became 16 frames
/// and 16 syscalls per replica), or a timer that batches (adds latency to every message).
/// Bound: the bytes queued and being sent never pass <see cref="PeerLinkOptions.MaxQueuedBytes"/>; past it
/// <see cref="Send"/> returns <see cref="PeerSendStatus.Busy"/> and the caller answers -BUSY. Nothing queues without bound.
/// Held while connecting: during the first connect attempt after <see cref="Start"/>, and during the first reconnect
/// after a working connection broke (its backoff included), <see cref="Send"/> queues up to
/// <see cref="PeerLinkOptions.MaxHeldBytes"/>; they leave once the handshake is accepted, or are failed back through
/// <see cref="IPeerLinkObserver.OnFramesFailed"/> when that attempt fails. So the first requests after a node (or its
/// peer) starts wait a few milliseconds for the connection instead of failing. Past the bound, and at any other time the
/// link has no accepted connection (backing off after a failed attempt, refused), <see cref="Send"/> returns
/// <see cref="PeerSendStatus.NotConnected"/> and queues nothing, so the caller counts the replica as failed in the same
/// step instead of waiting for a timeout. Rejected alternative: queue frames for every later attempt (a peer down for
/// seconds would hold requests whose coordinator has long given up on them); one attempt lasts at most
/// <see cref="PeerLinkOptions.ConnectTimeout"/> plus <see cref="PeerLinkOptions.HandshakeTimeout"/>.
/// Failure: when a connection breaks, every frame queued on it and not known to be sent is failed back through
/// <see cref="IPeerLinkObserver.OnFramesFailed"/>; then the link waits <see cref="ReconnectBackoff"/> and tries again,
/// until disposed. A send that makes no progress for <see cref="PeerLinkOptions.SendTimeout"/> breaks the connection.
/// Receiving: the peer's listener sends nothing after it accepts (replies come over the peer's own link to this node's
/// listener); the link reads only to see the connection end, or a refusal.
/// Cost: no allocation per frame or per send once the buffers have grown to the traffic; a connection allocates.
/// TODO: TLS (SslStream under the same loops) and the cluster-secret HMAC in <see cref="PeerHello.Auth"/>.
/// </remarks>
internal sealed class PeerLink : IAsyncDisposable
{
    private const int RetainedBytes = 1024 * 1024;
    private const long NoSend = long.MinValue;

    private readonly PeerLinkOptions _options;
    private readonly IPeerLinkObserver _observer;
    private readonly ILogger _logger;
    private readonly AsyncSignal _wake = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();

    // Guarded by _lock.
    private OutgoingFrames _pending = new();
    private long _queuedBytes;
    private bool _flushRequested;
    private bool _connected; // a handshaken connection's send loop takes frames
    private bool _holding; // not connected, but Send queues up to MaxHeldBytes: the first attempt, or a reconnect after a break
    private bool _closed;

    // Owned by the connect loop, and by the send loop while it runs.
    private OutgoingFrames _sending = new();
    private Task? _run;

    // Read by the stall watchdog.
    private Socket? _socket;
    private long _sendStartedAt = NoSend;
    private volatile bool _stalled;

    private volatile PeerLinkState _state;
    private volatile PeerHello? _remote;
    private long _socketSends;
    private long _framesSent;
    private long _framesFailed;
    private long _refusedSends;
    private long _connects;
    private long _connectAttempts;

    /// <summary>Creates a link to <paramref name="remoteEndPoint"/>; it connects once started.</summary>
    public PeerLink(EndPoint remoteEndPoint, PeerLinkOptions options, IPeerLinkObserver? observer = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(remoteEndPoint);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        RemoteEndPoint = remoteEndPoint;
        _options = options;
        _observer = observer ?? NoObserver.Instance;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The peer's address.</summary>
    public EndPoint RemoteEndPoint { get; }

    /// <summary>The hello of the peer the link last connected to; null before the first connection.</summary>
    public PeerHello? Remote => _remote;

    /// <summary>Where the link is now.</summary>
    public PeerLinkState State => _state;

    /// <summary>Encoded bytes queued or being sent now.</summary>
    public long QueuedBytes
    {
        get
        {
            lock (_lock)
            {
                return _queuedBytes;
            }
        }
    }

    /// <summary>Socket sends done (a partial send counts once per call).</summary>
    public long SocketSends => Interlocked.Read(ref _socketSends);

    /// <summary>Frames handed to the kernel whole.</summary>
    public long FramesSent => Interlocked.Read(ref _framesSent);

    /// <summary>Frames failed back to the observer.</summary>
    public long FramesFailed => Interlocked.Read(ref _framesFailed);

    /// <summary>Calls of <see cref="Send"/> that queued nothing (any status but <see cref="PeerSendStatus.Queued"/>).</summary>
    public long RefusedSends => Interlocked.Read(ref _refusedSends);

    /// <summary>Connections established (handshake accepted).</summary>
    public long Connects => Interlocked.Read(ref _connects);

    /// <summary>Connect attempts started.</summary>
    public long ConnectAttempts => Interlocked.Read(ref _connectAttempts);

    /// <summary>Starts connecting; returns at once.</summary>
    public void Start()
    {
        lock (_lock)
        {
            if (_run is not null || _closed)
            {
                throw new InvalidOperationException("the link was started or closed already");
            }

            _state = PeerLinkState.Connecting;
            _holding = true;
            _run = RunAsync();
        }
    }

    /// <summary>Queues one frame for the peer, or says at once why not (then nothing is queued).</summary>
    /// <remarks>
    /// Never blocks and never sends: call <see cref="Flush"/> after the frames of a batch. Requires: a kind of at least
    /// <see cref="PeerFrameCodec.FirstMessageKind"/> (a reserved kind is a broken contract and throws). Frames to one
    /// peer arrive in the order they were queued. A queued frame is sent, or failed back through
    /// <see cref="IPeerLinkObserver.OnFramesFailed"/> if the connection breaks first; never both silently dropped.
    /// </remarks>
    public PeerSendStatus Send(byte kind, ulong requestId, ReadOnlySpan<byte> payload)
    {
        if (kind < PeerFrameCodec.FirstMessageKind)
        {
            ThrowReservedKind(kind);
        }

        var status = PeerSendStatus.TooLarge;
        if (payload.Length <= _options.MaxPayloadBytes)
        {
            var frameBytes = PeerFrameCodec.OverheadBytes + payload.Length;
            lock (_lock)
            {
                if (_closed)
                {
                    status = PeerSendStatus.Closed;
                }
                else if (!_connected && !(_holding && _queuedBytes + frameBytes <= _options.MaxHeldBytes))
                {
                    status = PeerSendStatus.NotConnected;
                }
                else if (_queuedBytes + frameBytes > _options.MaxQueuedBytes)
                {
                    status = PeerSendStatus.Busy;
                }
                else
                {
                    _pending.Append(kind, requestId, payload);
                    _queuedBytes += frameBytes;
                    return PeerSendStatus.Queued;
                }
            }
        }

        Interlocked.Increment(ref _refusedSends);
        return status;
    }

    /// <summary><see cref="Send"/>, true when the frame was queued.</summary>
    public bool TrySend(byte kind, ulong requestId, ReadOnlySpan<byte> payload) =>
        Send(kind, requestId, payload) == PeerSendStatus.Queued;

    /// <summary>Asks for every queued frame to be sent; returns at once.</summary>
    public void Flush()
    {
        bool wake;
        lock (_lock)
        {
            if (_pending.Count == 0)
            {
                return;
            }

            _flushRequested = true;
            wake = _connected;
        }

        if (wake)
        {
            _wake.Set();
        }
    }

    /// <summary>Closes the connection, fails back every queued frame, and waits for the link's loops to end.</summary>
    public async ValueTask DisposeAsync()
    {
        Task? run;
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            run = _run;
        }

        _stopping.Cancel();
        CloseSocket(Volatile.Read(ref _socket));
        _wake.Set();
        if (run is not null)
        {
            await run.ConfigureAwait(false);
        }
        else
        {
            FailQueued();
        }

        _state = PeerLinkState.Closed;
        _pending.Dispose();
        _sending.Dispose();
        _stopping.Dispose();
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowReservedKind(byte kind) =>
        throw new ArgumentOutOfRangeException(nameof(kind), kind, "kinds below FirstMessageKind are reserved for the handshake");

    private static void CloseSocket(Socket? socket)
    {
        if (socket is null)
        {
            return;
        }

        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already broken or closed.
        }

        socket.Dispose();
    }

    /// <summary>Connect, run, fail back, back off; until disposed.</summary>
    private async Task RunAsync()
    {
        await Task.Yield();
        var attempt = 0;
        while (!_stopping.IsCancellationRequested)
        {
            _state = PeerLinkState.Connecting;
            Outcome outcome;
            try
            {
                outcome = await ConnectAndRunAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // A bug, not the network: log it and keep the link alive.
                _logger.LogError(e, "peer link {Remote} failed", RemoteEndPoint);
                outcome = new Outcome(e.Message, null, false);
            }

            // What the attempt held, or the broken connection had queued, is failed back; nothing joins it meanwhile.
            lock (_lock)
            {
                _holding = false;
            }

            FailQueued();
            if (_stopping.IsCancellationRequested)
            {
                break;
            }

            if (outcome.WasConnected)
            {
                // A broken connection's first reconnect holds frames again (a peer that restarted is back in
                // milliseconds); a failed attempt's next one does not.
                lock (_lock)
                {
                    _holding = !_closed;
                }

                attempt = 0;
            }

            var jitter = Math.Clamp(_options.Jitter(), 0, 0.999_999);
            var delay = ReconnectBackoff.Delay(attempt, _options.InitialBackoff, _options.MaxBackoff, jitter);
            attempt++;
            var down = new PeerLinkDown(outcome.Reason, outcome.Refusal, outcome.WasConnected, attempt, delay);
            _state = PeerLinkState.Backoff;
            Log(down);
            try
            {
                _observer.OnDisconnected(this, down);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "peer link {Remote}: the observer failed", RemoteEndPoint);
            }

            try
            {
                await Task.Delay(delay, _options.TimeProvider, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        FailQueued();
    }

    private void Log(PeerLinkDown down)
    {
        if (down.Refusal is not null)
        {
            _logger.LogWarning(
                "peer {Remote} refused this node ({Reason}): {Message}; retrying in {RetryMs} ms",
                RemoteEndPoint,
                down.Refusal.Reason,
                down.Refusal.Message,
                (long)down.RetryIn.TotalMilliseconds);
        }
        else if (down.WasConnected || down.Attempt == 1)
        {
            _logger.LogWarning("peer link {Remote} down: {Reason}; retrying in {RetryMs} ms", RemoteEndPoint, down.Reason, (long)down.RetryIn.TotalMilliseconds);
        }
        else if (_logger.IsEnabled(LogLevel.Debug))
        {
            _logger.LogDebug(
                "peer link {Remote} attempt {Attempt} failed: {Reason}; retrying in {RetryMs} ms",
                RemoteEndPoint,
                down.Attempt,
                down.Reason,
                (long)down.RetryIn.TotalMilliseconds);
        }
    }

    /// <summary>One connection's life: connect, handshake, send until it breaks. Never throws.</summary>
    private async Task<Outcome> ConnectAndRunAsync()
    {
        Interlocked.Increment(ref _connectAttempts);
        // A name or a v4-mapped address needs a dual-mode socket; a plain address its own family.
        var socket = RemoteEndPoint is IPEndPoint { Address.IsIPv4MappedToIPv6: false } ip
            ? new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(SocketType.Stream, ProtocolType.Tcp);
        Volatile.Write(ref _socket, socket);
        using var reader = new FrameReader();
        try
        {
            PeerSockets.Configure(socket);
            if (_options.LocalAddress is { } local && RemoteEndPoint is IPEndPoint remote && local.AddressFamily == remote.AddressFamily
                && !local.Equals(IPAddress.Any) && !local.Equals(IPAddress.IPv6Any))
            {
                // Port 0: the OS picks an ephemeral port of that address.
                socket.Bind(new IPEndPoint(local, 0));
            }

            if (_stopping.IsCancellationRequested)
            {
                return new Outcome("the link is closed", null, false);
            }

            var failure = await ConnectAsync(socket).ConfigureAwait(false);
            if (failure is not null)
            {
                return new Outcome(failure, null, false);
            }

            var handshake = await HandshakeAsync(socket, reader).ConfigureAwait(false);
            if (handshake.Remote is null)
            {
                return new Outcome(handshake.Failure!, handshake.Refusal, false);
            }

            _remote = handshake.Remote;
            Interlocked.Increment(ref _connects);
            _stalled = false;
            lock (_lock)
            {
                // From here Send queues; before the observer hears of it, so its callback may send. Held frames leave first.
                _connected = true;
                _holding = false;
                _state = PeerLinkState.Connected;
            }

            if (_logger.IsEnabled(LogLevel.Information))
            {
                _logger.LogInformation("peer link {Remote} connected to node {NodeId}", RemoteEndPoint, handshake.Remote.NodeId);
            }

            try
            {
                _observer.OnConnected(this, handshake.Remote);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "peer link {Remote}: the observer failed", RemoteEndPoint);
            }

            var reason = await RunConnectionAsync(socket, reader).ConfigureAwait(false);
            return new Outcome(reason, null, true);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            return new Outcome(_stopping.IsCancellationRequested ? "the link is closed" : Describe(e), null, false);
        }
        finally
        {
            lock (_lock)
            {
                _connected = false; // also when a bug threw past RunConnectionAsync
            }

            Volatile.Write(ref _socket, null);
            CloseSocket(socket);
        }
    }

    private async Task<string?> ConnectAsync(Socket socket)
    {
        using var deadline = new CancellationTokenSource(_options.ConnectTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, _stopping.Token);
        try
        {
            await socket.ConnectAsync(RemoteEndPoint, linked.Token).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !_stopping.IsCancellationRequested)
        {
            return string.Create(CultureInfo.InvariantCulture, $"connect timed out after {_options.ConnectTimeout.TotalMilliseconds} ms");
        }
        catch (SocketException e)
        {
            return "connect failed: " + Describe(e);
        }
    }

    /// <summary>Sends this node's hello and reads the answer: the peer's hello, or why not.</summary>
    private async Task<Handshake> HandshakeAsync(Socket socket, FrameReader reader)
    {
        using var deadline = new CancellationTokenSource(_options.HandshakeTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, _stopping.Token);
        PeerFrameHeader header;
        int payloadOffset;
        try
        {
            await HandshakeFrames.SendAllAsync(socket, HandshakeFrames.Hello(PeerFrameKind.Hello, _options.Local), linked.Token).ConfigureAwait(false);
            while (true)
            {
                var status = reader.TryRead(HandshakeFrames.MaxPayloadBytes, out header, out payloadOffset, out var error);
                if (status == PeerFrameStatus.Complete)
                {
                    break;
                }

                if (status == PeerFrameStatus.Error)
                {
                    return Handshake.Failed("bad handshake reply: " + reader.Describe(error, HandshakeFrames.MaxPayloadBytes));
                }

                var received = await socket.ReceiveAsync(reader.ReceiveMemory(), SocketFlags.None, linked.Token).ConfigureAwait(false);
                if (received == 0)
                {
                    return Handshake.Failed("the peer closed the connection during the handshake");
                }

                reader.Received(received);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !_stopping.IsCancellationRequested)
        {
            return Handshake.Failed(
                string.Create(CultureInfo.InvariantCulture, $"no handshake reply within {_options.HandshakeTimeout.TotalMilliseconds} ms"));
        }

        var payload = reader.Buffer.AsSpan(payloadOffset, header.PayloadLength);
        switch ((PeerFrameKind)header.Kind)
        {
            case PeerFrameKind.Accepted:
                if (!PeerHello.TryDecode(payload, out var remote, out var helloError))
                {
                    return Handshake.Failed("bad handshake reply: " + helloError);
                }

                var local = _options.Local;
                if (remote!.ClusterName != local.ClusterName)
                {
                    return Handshake.Failed($"the peer is node '{remote.NodeId}' of cluster '{remote.ClusterName}', not '{local.ClusterName}'");
                }

                if (remote.ProtocolVersion != local.ProtocolVersion)
                {
                    return Handshake.Failed(string.Create(
                        CultureInfo.InvariantCulture,
                        $"the peer speaks protocol version {remote.ProtocolVersion}, this node {local.ProtocolVersion}"));
                }

                return new Handshake(remote, null, null);

            case PeerFrameKind.Refused:
                if (!PeerRefusal.TryDecode(payload, out var refusal))
                {
                    return Handshake.Failed("the peer refused the handshake with a malformed refusal");
                }

                return new Handshake(null, refusal, $"refused ({refusal!.Reason}): {refusal.Message}");

            default:
                return Handshake.Failed(string.Create(CultureInfo.InvariantCulture, $"unexpected frame kind {header.Kind} in the handshake reply"));
        }
    }

    /// <summary>Runs the send loop and the end-of-stream watch until either ends; returns why.</summary>
    private async Task<string> RunConnectionAsync(Socket socket, FrameReader reader)
    {
        // Closes the socket if the link is disposed now, whether or not DisposeAsync saw this socket.
        using var stopRegistration = _stopping.Token.Register(static s => CloseSocket((Socket)s!), socket);
        var period = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, _options.SendTimeout.Ticks / 4));
        using var watchdog = _options.TimeProvider.CreateTimer(_ => CheckStall(socket), null, period, period);
        var watching = WatchAsync(socket, reader);
        var sending = SendLoopAsync(socket);
        _wake.Set();
        var first = await Task.WhenAny(watching, sending).ConfigureAwait(false);
        lock (_lock)
        {
            _connected = false;
        }

        _wake.Set();
        CloseSocket(socket);
        var sendEnd = await sending.ConfigureAwait(false);
        var watchEnd = await watching.ConfigureAwait(false);
        if (_stalled)
        {
            return string.Create(CultureInfo.InvariantCulture, $"a send made no progress for {_options.SendTimeout.TotalMilliseconds} ms");
        }

        return ReferenceEquals(first, sending) ? sendEnd : watchEnd;
    }

    /// <summary>Sends what each flush asked for; returns when the connection breaks or is closed. Never throws.</summary>
    private async Task<string> SendLoopAsync(Socket socket)
    {
        try
        {
            while (true)
            {
                bool send;
                lock (_lock)
                {
                    if (!_connected)
                    {
                        return "the connection is closed";
                    }

                    send = _flushRequested && _pending.Count > 0;
                    if (send)
                    {
                        (_pending, _sending) = (_sending, _pending);
                        _flushRequested = false;
                    }
                }

                if (!send)
                {
                    await _wake.WaitAsync().ConfigureAwait(false);
                    continue;
                }

                var bytes = _sending.Bytes;
                while (!bytes.IsEmpty)
                {
                    Volatile.Write(ref _sendStartedAt, _options.TimeProvider.GetTimestamp());
                    var sent = await socket.SendAsync(bytes, SocketFlags.None).ConfigureAwait(false);
                    Volatile.Write(ref _sendStartedAt, NoSend);
                    Interlocked.Increment(ref _socketSends);
                    bytes = bytes[sent..];
                }

                lock (_lock)
                {
                    _queuedBytes -= _sending.ByteCount;
                }

                Interlocked.Add(ref _framesSent, _sending.Count);
                _sending.Clear(RetainedBytes);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return "send failed: " + Describe(e);
        }
        finally
        {
            Volatile.Write(ref _sendStartedAt, NoSend);
        }
    }

    /// <summary>Reads until the peer closes or refuses; the listener sends nothing else. Never throws.</summary>
    private static async Task<string> WatchAsync(Socket socket, FrameReader reader)
    {
        try
        {
            while (true)
            {
                var status = reader.TryRead(HandshakeFrames.MaxPayloadBytes, out var header, out var payloadOffset, out var error);
                if (status == PeerFrameStatus.Error)
                {
                    return "bad frame from the peer: " + reader.Describe(error, HandshakeFrames.MaxPayloadBytes);
                }

                if (status == PeerFrameStatus.Complete)
                {
                    if (header.Kind == (byte)PeerFrameKind.Refused
                        && PeerRefusal.TryDecode(reader.Buffer.AsSpan(payloadOffset, header.PayloadLength), out var refusal))
                    {
                        return $"the peer closed the connection ({refusal!.Reason}): {refusal.Message}";
                    }

                    return string.Create(CultureInfo.InvariantCulture, $"unexpected frame kind {header.Kind} from the peer's listener");
                }

                var received = await socket.ReceiveAsync(reader.ReceiveMemory(), SocketFlags.None).ConfigureAwait(false);
                if (received == 0)
                {
                    return "the peer closed the connection";
                }

                reader.Received(received);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return "receive failed: " + Describe(e);
        }
    }

    /// <summary>Breaks the connection when one send has made no progress for the send timeout (the peer stopped reading or vanished).</summary>
    private void CheckStall(Socket socket)
    {
        var started = Volatile.Read(ref _sendStartedAt);
        if (started == NoSend || _options.TimeProvider.GetElapsedTime(started) < _options.SendTimeout)
        {
            return;
        }

        // A late tick of an ended connection's timer must not mark the next connection stalled.
        if (ReferenceEquals(Volatile.Read(ref _socket), socket))
        {
            _stalled = true;
        }

        CloseSocket(socket);
    }

    /// <summary>Fails back every queued frame. Requires: no send loop running (the connect loop owns <see cref="_sending"/>).</summary>
    private void FailQueued()
    {
        // Frames in a send that broke went first; then the ones queued after them.
        FailAndClear(_sending);
        lock (_lock)
        {
            (_pending, _sending) = (_sending, _pending);
            _flushRequested = false;
        }

        FailAndClear(_sending);
    }

    private void FailAndClear(OutgoingFrames frames)
    {
        if (frames.Count == 0)
        {
            return;
        }

        lock (_lock)
        {
            _queuedBytes -= frames.ByteCount;
            Debug.Assert(_queuedBytes >= 0, "queued bytes count what is queued");
        }

        Interlocked.Add(ref _framesFailed, frames.Count);
        try
        {
            _observer.OnFramesFailed(this, frames.Ids);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "peer link {Remote}: the observer failed", RemoteEndPoint);
        }

        frames.Clear(RetainedBytes);
    }

    private static string Describe(Exception e) => e switch
    {
        SocketException s => s.SocketErrorCode.ToString(),
        ObjectDisposedException => "the socket was closed",
        _ => e.Message,
    };

    private readonly record struct Outcome(string Reason, PeerRefusal? Refusal, bool WasConnected);

    private readonly record struct Handshake(PeerHello? Remote, PeerRefusal? Refusal, string? Failure)
    {
        public static Handshake Failed(string reason) => new(null, null, reason);
    }

    private sealed class NoObserver : IPeerLinkObserver
    {
        public static readonly NoObserver Instance = new();
    }
}
