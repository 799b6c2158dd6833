using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace RingKV.Testing.Processes;

/// <summary>A TCP proxy in front of one node's peer port that can cut the traffic of chosen source addresses, as a partition does.</summary>
/// <remarks>
/// Each node binds its outgoing internode connections to its own --peer-listen IP, so the proxy knows who connects by
/// the source address. <see cref="Cut"/> blackholes a source in both directions: bytes of its open connections are read
/// and dropped (the sockets stay open, so neither end sees the connection end, as with a pulled cable), and a new
/// connection from it is accepted and held without reaching the node (its handshake goes unanswered). <see cref="Heal"/>
/// closes the blackholed connections, so the node's links reconnect through a forwarding proxy.
/// Bounded: at most <see cref="MaxConnections"/> connections at once (more are closed at accept), 16 KiB per direction;
/// stops by itself after <c>lifetime</c> even if the test never disposes it. Thread-safe.
/// </remarks>
public sealed class CutProxy : IAsyncDisposable
{
    public const int MaxConnections = 64;
    private const int BufferBytes = 16 * 1024;

    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop;
    private readonly Task _accepting;
    private readonly Lock _lock = new();

    // Guarded by _lock.
    private readonly HashSet<IPAddress> _cut = [];
    private readonly HashSet<Connection> _connections = [];

    private long _droppedBytes;

    /// <summary>Listens on <paramref name="listen"/> and forwards to <paramref name="target"/> until disposed or <paramref name="lifetime"/> passed.</summary>
    public CutProxy(IPEndPoint listen, IPEndPoint target, TimeSpan lifetime)
    {
        _target = target;
        _stop = new CancellationTokenSource(lifetime);
        _listener = new TcpListener(listen);
        _listener.Start(MaxConnections);
        EndPoint = (IPEndPoint)_listener.LocalEndpoint;
        _accepting = AcceptAsync(_stop.Token);
    }

    /// <summary>Where the proxy listens: the address its node advertises.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Bytes read from blackholed connections and dropped.</summary>
    public long DroppedBytes => Interlocked.Read(ref _droppedBytes);

    /// <summary>Connections now open through the proxy (forwarded or blackholed) from <paramref name="source"/>.</summary>
    public int ConnectionsFrom(IPAddress source)
    {
        lock (_lock)
        {
            var n = 0;
            foreach (var c in _connections)
            {
                n += c.Source.Equals(source) ? 1 : 0;
            }

            return n;
        }
    }

    /// <summary>From now on nothing from or to <paramref name="source"/> passes: open connections are blackholed, new ones held.</summary>
    public void Cut(IPAddress source)
    {
        lock (_lock)
        {
            _cut.Add(source);
            foreach (var c in _connections)
            {
                if (c.Source.Equals(source))
                {
                    c.Blackholed = true;
                }
            }
        }
    }

    /// <summary>Lets <paramref name="source"/> through again: its blackholed connections are closed, new ones are forwarded.</summary>
    public void Heal(IPAddress source)
    {
        var close = new List<Connection>();
        lock (_lock)
        {
            _cut.Remove(source);
            foreach (var c in _connections)
            {
                if (c.Source.Equals(source) && c.Blackholed)
                {
                    close.Add(c);
                }
            }
        }

        foreach (var c in close)
        {
            c.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        List<Connection> open;
        lock (_lock)
        {
            open = [.. _connections];
        }

        foreach (var c in open)
        {
            c.Close();
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync(CancellationToken stop)
    {
        using var stopRegistration = stop.Register(_listener.Stop);
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(stop).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                break;
            }

            var source = ((IPEndPoint)client.RemoteEndPoint!).Address;
            var connection = new Connection(client, source);
            lock (_lock)
            {
                if (_connections.Count >= MaxConnections)
                {
                    connection.Close();
                    continue;
                }

                connection.Blackholed = _cut.Contains(source);
                _connections.Add(connection);
            }

            _ = RunAsync(connection, stop);
        }

        List<Connection> open;
        lock (_lock)
        {
            open = [.. _connections];
        }

        foreach (var c in open)
        {
            c.Close();
        }
    }

    /// <summary>Connects upstream (unless held) and pumps both ways until either side ends or the proxy stops.</summary>
    private async Task RunAsync(Connection connection, CancellationToken stop)
    {
        try
        {
            if (!connection.Blackholed)
            {
                await connection.Upstream.ConnectAsync(_target, stop).ConfigureAwait(false);
                connection.UpstreamConnected = true;
            }

            // A held connection (cut at accept) never reaches the node: only the client side is read, and dropped.
            var up = Pump(connection, connection.Client, connection.Upstream, stop);
            var down = connection.UpstreamConnected ? Pump(connection, connection.Upstream, connection.Client, stop) : up;
            await Task.WhenAny(up, down).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The node went away or the proxy stopped.
        }
        finally
        {
            lock (_lock)
            {
                _connections.Remove(connection);
            }

            connection.Close();
        }
    }

    private async Task Pump(Connection connection, Socket from, Socket to, CancellationToken stop)
    {
        var buffer = new byte[BufferBytes];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None, stop).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }

                if (connection.Blackholed)
                {
                    Interlocked.Add(ref _droppedBytes, n);
                    continue;
                }

                for (var sent = 0; sent < n;)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, stop).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Closed by either side, by Heal, or by the proxy stopping.
        }
    }

    private sealed class Connection(Socket client, IPAddress source)
    {
        private int _closed;
        private volatile bool _blackholed;

        public Socket Client { get; } = client;

        public Socket Upstream { get; } = new(SocketType.Stream, ProtocolType.Tcp);

        public IPAddress Source { get; } = source;

        public bool UpstreamConnected { get; set; }

        /// <summary>Whether bytes in both directions are dropped instead of forwarded.</summary>
        public bool Blackholed
        {
            get => _blackholed;
            set => _blackholed = value;
        }

        public void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
            {
                return;
            }

            Client.Dispose();
            Upstream.Dispose();
        }
    }
}
