using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace RingKV.Net.Tests.Peers;

/// <summary>A loopback TCP relay that holds each accepted connection until the test lets it through or closes it.</summary>
/// <remarks>
/// A held connection is open for the client (its connect succeeded) but reaches nobody, so a link stays in its handshake
/// for as long as the test wants: the window <see cref="RingKV.Net.Peers.PeerLink"/> holds frames in.
/// </remarks>
internal sealed class GatedProxy : IAsyncDisposable
{
    private readonly Socket _listen = new(SocketType.Stream, ProtocolType.Tcp);
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<bool> _decisions = Channel.CreateUnbounded<bool>();
    private readonly ConcurrentBag<Socket> _sockets = [];
    private readonly ConcurrentBag<Task> _pumps = [];
    private readonly Task _accepting;
    private int _accepted;

    public GatedProxy(IPEndPoint upstream)
    {
        _upstream = upstream;
        _listen.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listen.Listen();
        EndPoint = (IPEndPoint)_listen.LocalEndPoint!;
        _accepting = AcceptAsync();
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Connections accepted so far (held, relayed or closed).</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>The oldest held connection (or the next one accepted) is relayed to the upstream.</summary>
    public void Release() => _decisions.Writer.TryWrite(true);

    /// <summary>The oldest held connection (or the next one accepted) is closed without reaching the upstream.</summary>
    public void Reject() => _decisions.Writer.TryWrite(false);

    /// <summary>Closes every connection relayed so far, both ends.</summary>
    public void BreakAll()
    {
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listen.Dispose();
        BreakAll();
        await _accepting;
        await Task.WhenAll(_pumps);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket client;
            bool relay;
            try
            {
                client = await _listen.AcceptAsync(_stop.Token);
                Interlocked.Increment(ref _accepted);
                relay = await _decisions.Reader.ReadAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            if (!relay)
            {
                client.Dispose();
                continue;
            }

            var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
            _sockets.Add(client);
            _sockets.Add(server);
            try
            {
                await server.ConnectAsync(_upstream, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            _pumps.Add(PumpAsync(client, server));
            _pumps.Add(PumpAsync(server, client));
        }
    }

    private static async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer);
                if (n == 0)
                {
                    break;
                }

                await to.SendAsync(buffer.AsMemory(0, n));
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
            // The other side or the test closed.
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }
}
