using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RingKV.Net.Peers;

/// <summary>Accepts peers' links, runs the handshake, and hands every received frame to the handler, one receive's frames per batch.</summary>
/// <remarks>
/// Thread-safe. Each connection runs straight on its socket, as <see cref="Resp.RespSocketConnection"/> does: one
/// pooled receive buffer, every whole frame decoded in place, no hop through the thread pool between the receive and
/// the handler. The buffer holding a receive's frames goes to the handler with the batch (and the connection goes on
/// in a fresh pooled buffer), so the frames need not be copied to outlive the call.
/// Handshake: the first frame must be a hello within <see cref="PeerListenerOptions.HandshakeTimeout"/> and at most
/// <see cref="HandshakeFrames.MaxPayloadBytes"/> long (a peer that is not yet accepted cannot make the node buffer
/// more); a hello of another cluster, protocol version or auth scheme is answered with a refusal, logged, counted
/// in <see cref="Refusals"/>, and the connection closed. An accepted peer gets this node's hello back.
/// After it: a damaged frame, a frame over the payload limit or a frame of a reserved kind is logged and closes the
/// connection, after the whole frames before it are delivered. Nothing is ever sent after the accept.
/// Stopping closes the listening socket, ends each connection's pending receive, waits for the handlers it is in.
/// TODO: TLS (SslStream under the same loop) and the cluster-secret HMAC.
/// </remarks>
internal sealed class PeerListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly PeerListenerOptions _options;
    private readonly IPeerFrameHandler _handler;
    private readonly ILogger _logger;
    private readonly PeerFrameBatch.Pool _batches = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, Connection> _connections = new();
    private Task? _acceptLoop;
    private long _nextConnectionId;
    private long _refusals;
    private long _accepted;
    private long _protocolErrors;
    private long _batchesReceived;
    private long _framesReceived;

    /// <summary>Binds <paramref name="endPoint"/> (port 0 picks one; see <see cref="LocalEndPoint"/>); accepts once started.</summary>
    public PeerListener(IPEndPoint endPoint, PeerListenerOptions options, IPeerFrameHandler handler, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        options.Validate();
        _options = options;
        _handler = handler;
        _logger = logger ?? NullLogger.Instance;
        _socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _socket.Bind(endPoint);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }

        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    /// <summary>The bound address (the real port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Handshakes refused (another cluster, protocol version or auth, or a malformed hello).</summary>
    public long Refusals => Interlocked.Read(ref _refusals);

    /// <summary>Handshakes accepted.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Accepted connections closed for a bad frame.</summary>
    public long ProtocolErrors => Interlocked.Read(ref _protocolErrors);

    /// <summary>Batches handed to the handler (one per receive that completed a frame).</summary>
    public long BatchesReceived => Interlocked.Read(ref _batchesReceived);

    /// <summary>Frames handed to the handler.</summary>
    public long FramesReceived => Interlocked.Read(ref _framesReceived);

    /// <summary>Peers connected now (handshaking or accepted).</summary>
    public int ConnectionCount => _connections.Count;

    public void Start()
    {
        _socket.Listen(512);
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>Stops accepting, ends every connection, and waits for them (at most <paramref name="grace"/> for handlers to return).</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        _socket.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        var runs = new List<Task>();
        foreach (var connection in _connections.Values)
        {
            try
            {
                connection.Socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Closed by the peer already.
            }

            runs.Add(connection.Run);
        }

        await Task.WhenAny(Task.WhenAll(runs), Task.Delay(grace, _options.TimeProvider)).ConfigureAwait(false);
        foreach (var connection in _connections.Values)
        {
            connection.Socket.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket peer;
            try
            {
                peer = await _socket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                _logger.LogWarning(e, "peer accept failed");
                continue;
            }

            PeerSockets.Configure(peer);
            var connection = new Connection(Interlocked.Increment(ref _nextConnectionId), peer, peer.RemoteEndPoint?.ToString() ?? "?");
            _connections[connection.Id] = connection;
            connection.Run = RunConnectionAsync(connection);
        }
    }

    private async Task RunConnectionAsync(Connection connection)
    {
        await Task.Yield();
        using var reader = new FrameReader();
        try
        {
            var hello = await HandshakeAsync(connection, reader).ConfigureAwait(false);
            if (hello is not null)
            {
                await ReceiveLoopAsync(connection, reader, hello).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The peer went away, or the listener is stopping.
        }
        catch (Exception e)
        {
            _logger.LogError(e, "peer connection from {Remote} failed", connection.Remote);
        }
        finally
        {
            _connections.TryRemove(connection.Id, out _);
            connection.Socket.Dispose();
        }
    }

    /// <summary>Reads the hello and accepts or refuses it; returns the peer's hello when accepted, null when the connection is to close.</summary>
    private async Task<PeerHello?> HandshakeAsync(Connection connection, FrameReader reader)
    {
        using var deadline = new CancellationTokenSource(_options.HandshakeTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, _stopping.Token);
        var socket = connection.Socket;
        PeerFrameHeader header;
        int payloadOffset;
        try
        {
            while (true)
            {
                var status = reader.TryRead(HandshakeFrames.MaxPayloadBytes, out header, out payloadOffset, out var error);
                if (status == PeerFrameStatus.Complete)
                {
                    break;
                }

                if (status == PeerFrameStatus.Error)
                {
                    var text = reader.Describe(error, HandshakeFrames.MaxPayloadBytes);
                    if (error == PeerFrameError.BadMagic)
                    {
                        // Not a RingKV peer (a RESP client on the wrong port, a scanner): nothing it could read.
                        _logger.LogWarning("peer connection from {Remote} closed: {Error}", connection.Remote, text);
                        Interlocked.Increment(ref _refusals);
                        return null;
                    }

                    await RefuseAsync(connection, null, new PeerRefusal(PeerRefusalReason.BadHandshake, text)).ConfigureAwait(false);
                    return null;
                }

                var received = await socket.ReceiveAsync(reader.ReceiveMemory(), SocketFlags.None, linked.Token).ConfigureAwait(false);
                if (received == 0)
                {
                    return null;
                }

                reader.Received(received);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !_stopping.IsCancellationRequested)
        {
            _logger.LogWarning(
                "peer connection from {Remote} closed: no hello within {TimeoutMs} ms",
                connection.Remote,
                (long)_options.HandshakeTimeout.TotalMilliseconds);
            return null;
        }

        if (header.Kind != (byte)PeerFrameKind.Hello)
        {
            await RefuseAsync(
                connection,
                null,
                new PeerRefusal(
                    PeerRefusalReason.BadHandshake,
                    string.Create(CultureInfo.InvariantCulture, $"the first frame must be a hello, not kind {header.Kind}"))).ConfigureAwait(false);
            return null;
        }

        if (!PeerHello.TryDecode(reader.Buffer.AsSpan(payloadOffset, header.PayloadLength), out var hello, out var helloError))
        {
            await RefuseAsync(connection, null, new PeerRefusal(PeerRefusalReason.BadHandshake, helloError!)).ConfigureAwait(false);
            return null;
        }

        var refusal = Check(hello!);
        if (refusal is not null)
        {
            await RefuseAsync(connection, hello, refusal).ConfigureAwait(false);
            return null;
        }

        await HandshakeFrames.SendAllAsync(socket, HandshakeFrames.Hello(PeerFrameKind.Accepted, _options.Local), linked.Token).ConfigureAwait(false);
        Interlocked.Increment(ref _accepted);
        if (_logger.IsEnabled(LogLevel.Information))
        {
            _logger.LogInformation("peer node {NodeId} connected from {Remote}", hello!.NodeId, connection.Remote);
        }

        return hello;
    }

    /// <summary>Why <paramref name="hello"/> is refused, or null when it is accepted.</summary>
    private PeerRefusal? Check(PeerHello hello)
    {
        var local = _options.Local;
        if (hello.ClusterName != local.ClusterName)
        {
            return new PeerRefusal(
                PeerRefusalReason.OtherCluster,
                $"node '{local.NodeId}' is in cluster '{local.ClusterName}', not '{hello.ClusterName}'");
        }

        if (hello.ProtocolVersion != local.ProtocolVersion)
        {
            return new PeerRefusal(
                PeerRefusalReason.OtherProtocolVersion,
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"node '{local.NodeId}' speaks protocol version {local.ProtocolVersion}, not {hello.ProtocolVersion}"));
        }

        if (hello.AuthScheme != PeerAuthScheme.None || !hello.Auth.IsEmpty)
        {
            return new PeerRefusal(
                PeerRefusalReason.AuthenticationFailed,
                string.Create(CultureInfo.InvariantCulture, $"node '{local.NodeId}' does not know auth scheme {(byte)hello.AuthScheme}"));
        }

        return null;
    }

    private async Task RefuseAsync(Connection connection, PeerHello? hello, PeerRefusal refusal)
    {
        Interlocked.Increment(ref _refusals);
        _logger.LogWarning(
            "refused peer {NodeId} from {Remote} ({Reason}): {Message}",
            hello?.NodeId ?? "?",
            connection.Remote,
            refusal.Reason,
            refusal.Message);
        try
        {
            await HandshakeFrames.SendAllAsync(connection.Socket, HandshakeFrames.Refused(refusal), _stopping.Token).ConfigureAwait(false);
            connection.Socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The peer is gone; it is refused either way.
        }
    }

    /// <summary>Delivers frames until the peer closes or breaks the protocol.</summary>
    private async Task ReceiveLoopAsync(Connection connection, FrameReader reader, PeerHello hello)
    {
        var socket = connection.Socket;
        var nodeId = hello.NodeId;
        PeerFrameBatch? batch = _batches.Rent(nodeId);
        try
        {
            while (true)
            {
                string? failure = null;
                while (true)
                {
                    var status = reader.TryRead(_options.MaxPayloadBytes, out var header, out var payloadOffset, out var error);
                    if (status == PeerFrameStatus.Incomplete)
                    {
                        break;
                    }

                    if (status == PeerFrameStatus.Error)
                    {
                        failure = reader.Describe(error, _options.MaxPayloadBytes);
                        break;
                    }

                    if (header.Kind < PeerFrameCodec.FirstMessageKind)
                    {
                        failure = string.Create(CultureInfo.InvariantCulture, $"frame of reserved kind {header.Kind} after the handshake");
                        break;
                    }

                    batch.Add(header.Kind, header.RequestId, payloadOffset, header.PayloadLength);
                }

                if (batch.Count > 0)
                {
                    // The whole frames before a bad one are delivered: the peer sent them intact.
                    batch.Attach(reader.Detach());
                    Interlocked.Increment(ref _batchesReceived);
                    Interlocked.Add(ref _framesReceived, batch.Count);
                    var handing = batch;
                    batch = null;
                    var pending = _handler.OnBatchAsync(handing);
                    if (pending.IsCompletedSuccessfully)
                    {
                        pending.GetAwaiter().GetResult();
                    }
                    else
                    {
                        await pending.ConfigureAwait(false);
                    }

                    batch = _batches.Rent(nodeId);
                }

                if (failure is not null)
                {
                    Interlocked.Increment(ref _protocolErrors);
                    _logger.LogWarning("peer connection from node {NodeId} at {Remote} closed: {Error}", nodeId, connection.Remote, failure);
                    return;
                }

                var received = await socket.ReceiveAsync(reader.ReceiveMemory(), SocketFlags.None).ConfigureAwait(false);
                if (received == 0)
                {
                    return;
                }

                reader.Received(received);
            }
        }
        finally
        {
            if (batch is not null)
            {
                _batches.ReturnUnused(batch);
            }
        }
    }

    private sealed class Connection(long id, Socket socket, string remote)
    {
        public long Id { get; } = id;

        public Socket Socket { get; } = socket;

        public string Remote { get; } = remote;

        public Task Run { get; set; } = Task.CompletedTask;
    }
}
