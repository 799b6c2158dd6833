using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using RingKV.Core.Errors;

namespace RingKV.Server.Memcached;

/// <summary>Accepts memcached text-protocol clients on a TCP port and runs a <see cref="MemcachedSession"/> per connection.</summary>
/// <remarks>
/// Thread-safe. Every connection is an asynchronous loop (no thread waits on its socket); the clients count against
/// the node's max-clients apart from the RESP ones. Stopping closes the listening socket, shuts the connections'
/// receive side (each answers what it has read and ends) and waits for them.
/// </remarks>
internal sealed class MemcachedListener : IAsyncDisposable
{
    private static readonly byte[] TooManyClients = "SERVER_ERROR max number of clients reached\r\n"u8.ToArray();

    private readonly Socket _socket;
    private readonly NodeContext _node;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, Connection> _connections = new();
    private long _nextId;
    private Task? _acceptLoop;
    private CancellationTokenSource? _pendingFlush;

    private static readonly TimeSpan MaxFlushDelayStep = TimeSpan.FromDays(1);

    // Counters for "stats", updated with Interlocked by the sessions.
    internal long CmdGet;
    internal long CmdSet;
    internal long GetHits;
    internal long GetMisses;
    internal long TotalConnections;

    /// <summary>"stats reset": the command and hit counters start again from 0 (the connection counts stay).</summary>
    internal void ResetStats()
    {
        Interlocked.Exchange(ref CmdGet, 0);
        Interlocked.Exchange(ref CmdSet, 0);
        Interlocked.Exchange(ref GetHits, 0);
        Interlocked.Exchange(ref GetMisses, 0);
    }

    public MemcachedListener(IPEndPoint endPoint, NodeContext node, ILogger logger)
    {
        _node = node;
        _logger = logger;
        Items = new MemcachedItems(node.Store, single: node.Store is Store.LocalStore);
        _socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (OperatingSystem.IsWindows())
            {
                _socket.ExclusiveAddressUse = true;
            }

            _socket.Bind(endPoint);
        }
        catch (SocketException e)
        {
            _socket.Dispose();
            throw new RingKVException(ErrorCode.IO, $"cannot listen for memcached clients on {endPoint}: {e.Message}", e);
        }

        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    /// <summary>The bound address (the real port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>memcached clients connected now.</summary>
    public int ClientCount => _connections.Count;

    /// <summary>The node served.</summary>
    public NodeContext Node => _node;

    /// <summary>Items (values and their flags) over the node's store, shared by the sessions.</summary>
    public MemcachedItems Items { get; private set; } = null!;

    /// <summary>Starts accepting clients.</summary>
    public void Start()
    {
        try
        {
            _socket.Listen(1024);
        }
        catch (SocketException e)
        {
            _socket.Dispose();
            throw new RingKVException(ErrorCode.IO, $"cannot listen for memcached clients on {LocalEndPoint}: {e.Message}", e);
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

        var all = new System.Collections.Generic.List<Task>();
        foreach (var connection in _connections.Values)
        {
            try
            {
                connection.Socket.Shutdown(SocketShutdown.Receive);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already closed by the client.
            }

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

    /// <summary>
    /// flush_all with a delay: flushes every key after <paramref name="delay"/>, replacing a flush still pending;
    /// null cancels the pending one (a flush_all without delay, which flushes at once itself).
    /// </summary>
    /// <remarks>Kept in memory only: a restart forgets a pending flush (memcached forgets everything then).</remarks>
    internal void ScheduleFlush(TimeSpan? delay)
    {
        var next = delay is null ? null : new CancellationTokenSource();
        var previous = Interlocked.Exchange(ref _pendingFlush, next);
        previous?.Cancel();
        previous?.Dispose();
        if (next is not null)
        {
            _ = FlushLaterAsync(delay!.Value, next);
        }
    }

    private async Task FlushLaterAsync(TimeSpan delay, CancellationTokenSource pending)
    {
        try
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(pending.Token, _stopping.Token);

            // In steps: one timer waits at most about 49 days, and a flush_all may name a Unix time years ahead.
            var due = _node.Time.GetUtcNow() + delay;
            for (var left = delay; left > TimeSpan.Zero; left = due - _node.Time.GetUtcNow())
            {
                await Task.Delay(left < MaxFlushDelayStep ? left : MaxFlushDelayStep, _node.Time, stop.Token).ConfigureAwait(false);
            }

            if (Interlocked.CompareExchange(ref _pendingFlush, null, pending) == pending)
            {
                pending.Dispose();
                await _node.Store.FlushAllAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // Replaced by a later flush_all, or the node is stopping.
        }
        catch (RingKVException e)
        {
            _logger.LogWarning(e, "delayed memcached flush_all failed");
        }
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

                _logger.LogWarning(e, "memcached accept failed");
                continue;
            }

            client.NoDelay = true;
            if (_connections.Count >= _node.Options.MaxClients)
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

            Interlocked.Increment(ref TotalConnections);
            var id = Interlocked.Increment(ref _nextId);
            var connection = new Connection(client);
            _connections[id] = connection;
            connection.Run = RunClientAsync(id, client);
        }
    }

    private async Task RunClientAsync(long id, Socket client)
    {
        await Task.Yield();
        try
        {
            await new MemcachedSession(client, this).RunAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or System.IO.IOException)
        {
            // The client went away.
        }
        catch (Exception e)
        {
            _logger.LogError(e, "memcached connection {Id} failed", id);
        }
        finally
        {
            _connections.TryRemove(id, out _);
            client.Dispose();
        }
    }

    private sealed class Connection(Socket socket)
    {
        public Socket Socket { get; } = socket;

        public Task Run { get; set; } = Task.CompletedTask;
    }
}
