using System;
using System.Collections.Concurrent;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using RingKV.Core.Errors;
using RingKV.Net.Resp;

namespace RingKV.Server.Clients;

/// <summary>Accepts RESP clients on a TCP port and runs one handler per connection.</summary>
/// <remarks>
/// Thread-safe. Over <c>maxClients</c>, a new client gets Redis's error and is closed. Stopping closes the
/// listening socket, lets every connection finish the commands it has read (their pending read is
/// cancelled), then waits for them.
/// </remarks>
internal sealed class RespListener : IAsyncDisposable
{
    private static readonly byte[] TooManyClients = "-ERR max number of clients reached\r\n"u8.ToArray();

    private readonly Socket _socket;
    private readonly Func<ClientInfo, IRespHandler> _handlerFactory;
    private readonly RespLimits _limits;
    private readonly int _maxClients;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, Connection> _connections = new();
    private Task? _acceptLoop;

    public RespListener(IPEndPoint endPoint, Func<ClientInfo, IRespHandler> handlerFactory, RespLimits limits, int maxClients, ILogger logger, long requestBudgetBytes = long.MaxValue)
    {
        _handlerFactory = handlerFactory;
        _limits = limits;
        Memory = new RespConnectionMemory(requestBudgetBytes);
        _maxClients = maxClients;
        _logger = logger;
        _socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            ClaimExclusively(_socket);
            _socket.Bind(endPoint);
        }
        catch (SocketException e)
        {
            _socket.Dispose();
            throw CannotListen(e, endPoint);
        }

        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    /// <summary>
    /// Makes the port this node's alone: a second process binding it while this one listens fails with "address in use".
    /// </summary>
    /// <remarks>
    /// NOTE: never <see cref="SocketOptionName.ReuseAddress"/>: on Linux and macOS .NET maps it to SO_REUSEPORT, and two
    /// nodes on one port then both start and split the clients between them. Plain SO_REUSEADDR, which lets a restarted
    /// node bind while the last run's connections linger in TIME_WAIT (as Redis sets it), needs nothing here: .NET's Unix
    /// layer sets it on every TCP bind. On Windows SO_REUSEADDR would let another socket steal the port, so there the
    /// socket asks for exclusive use instead.
    /// </remarks>
    private static void ClaimExclusively(Socket socket)
    {
        if (OperatingSystem.IsWindows())
        {
            socket.ExclusiveAddressUse = true;
        }
    }

    private static RingKVException CannotListen(SocketException e, IPEndPoint endPoint) => new(ErrorCode.IO, e.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse => $"address {endPoint} is already in use (is another ringkv or redis-server listening on it?)",
        SocketError.AddressNotAvailable => $"address {endPoint} is not an address of this machine",
        SocketError.AccessDenied => $"not allowed to listen on {endPoint} (ports below 1024 need privileges)",
        _ => $"cannot listen on {endPoint}: {e.Message}",
    }, e);

    /// <summary>The bound address (the real port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The request budget all connections share, and the memory counters INFO shows.</summary>
    public RespConnectionMemory Memory { get; }

    /// <summary>Clients connected now.</summary>
    public int ClientCount => _connections.Count;

    /// <summary>Every connected client.</summary>
    public System.Collections.Generic.IEnumerable<ClientInfo> Clients
    {
        get
        {
            foreach (var connection in _connections.Values)
            {
                yield return connection.Info;
            }
        }
    }

    /// <summary>
    /// Closes every connection <paramref name="match"/> selects (CLIENT KILL): its socket is shut down, so its pending
    /// receive ends and its loop closes it. Returns how many it closed.
    /// </summary>
    public int Kill(Func<ClientInfo, bool> match)
    {
        var killed = 0;
        foreach (var connection in _connections.Values)
        {
            if (!match(connection.Info))
            {
                continue;
            }

            try
            {
                connection.Socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Closed meanwhile: it counts, it is gone.
            }

            killed++;
        }

        return killed;
    }

    /// <summary>Starts accepting clients; throws <see cref="RingKVException"/> naming the address when it cannot listen.</summary>
    public void Start()
    {
        try
        {
            // Two sockets that bound together before either listened meet here instead of in Bind.
            _socket.Listen(1024);
        }
        catch (SocketException e)
        {
            _socket.Dispose();
            throw CannotListen(e, LocalEndPoint);
        }

        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>Stops accepting, lets connections finish what they read, and waits for them (at most <paramref name="grace"/>).</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        _socket.Close();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        foreach (var connection in _connections.Values)
        {
            try
            {
                // A pending receive returns 0: the connection answers what it has read and ends.
                connection.Socket.Shutdown(SocketShutdown.Receive);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already closed by the client.
            }
        }

        var all = new System.Collections.Generic.List<Task>();
        foreach (var connection in _connections.Values)
        {
            all.Add(connection.Run);
        }

        await Task.WhenAny(Task.WhenAll(all), Task.Delay(grace)).ConfigureAwait(false);
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
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                _logger.LogWarning(e, "accept failed");
                continue;
            }

            client.NoDelay = true;
            if (_connections.Count >= _maxClients)
            {
                try
                {
                    client.Send(TooManyClients);
                }
                catch (SocketException)
                {
                }

                client.Dispose();
                continue;
            }

            var info = new ClientInfo(client.RemoteEndPoint?.ToString() ?? "?", client.LocalEndPoint?.ToString() ?? "?", DateTimeOffset.UtcNow);
            var connection = new Connection(client, info);
            _connections[info.Id] = connection;
            connection.Run = RunClientAsync(connection);
        }
    }

    private async Task RunClientAsync(Connection connection)
    {
        await Task.Yield();
        try
        {
            var handler = _handlerFactory(connection.Info);
            var reason = await RespSocketConnection.RunAsync(connection.Socket, handler, _limits, Memory).ConfigureAwait(false);
            LogClose(connection.Info, reason);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client went away.
        }
        catch (Exception e)
        {
            _logger.LogError(e, "connection {Id} failed", connection.Info.Id);
        }
        finally
        {
            _connections.TryRemove(connection.Info.Id, out _);
            connection.Socket.Dispose();
        }
    }

    /// <summary>Logs, once per connection, a close the server decided on because of a memory limit.</summary>
    private void LogClose(ClientInfo client, RespCloseReason reason)
    {
        switch (reason)
        {
            case RespCloseReason.ReplyBufferLimit:
                _logger.LogWarning(
                    "client id={Id} addr={Address} disconnected: it did not read its replies (over half of max-reply-buffer-mb, {Limit} bytes, unread for {Stall} s, or over all of it)",
                    client.Id, client.Address, _limits.MaxReplyBytes, _limits.ReplyStallTimeout.TotalSeconds);
                break;
            case RespCloseReason.RequestTooLarge:
                _logger.LogWarning("client id={Id} addr={Address} disconnected: a request larger than max-request-mb ({Limit} bytes)", client.Id, client.Address, _limits.MaxRequestBytes);
                break;
            case RespCloseReason.RequestMemoryBusy:
                _logger.LogWarning(
                    "client id={Id} addr={Address} disconnected: its request waited {Wait} s for the request memory of all clients (max-request-memory-mb, {Budget} bytes)",
                    client.Id, client.Address, _limits.RequestMemoryWait.TotalSeconds, Memory.RequestBudgetBytes);
                break;
        }
    }

    private sealed class Connection(Socket socket, ClientInfo info)
    {
        public Socket Socket { get; } = socket;

        public ClientInfo Info { get; } = info;

        public Task Run { get; set; } = Task.CompletedTask;
    }
}
