using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace RingKV.Net.Tests.Peers;

/// <summary>A loopback TCP relay between a link and a listener that can damage one byte of what a connection's client sends.</summary>
internal sealed class FlippingProxy : IAsyncDisposable
{
    private readonly Socket _listen = new(SocketType.Stream, ProtocolType.Tcp);
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Socket> _sockets = [];
    private readonly ConcurrentBag<Task> _pumps = [];
    private readonly Task _accepting;
    private long _flipAt = -1;
    private int _connections;

    public FlippingProxy(IPEndPoint upstream)
    {
        _upstream = upstream;
        _listen.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listen.Listen();
        EndPoint = (IPEndPoint)_listen.LocalEndPoint!;
        _accepting = AcceptAsync();
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Connections relayed so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>The next connection gets the byte at <paramref name="offset"/> of its client's stream flipped; later ones are relayed intact.</summary>
    public void FlipNextConnectionAt(long offset) => Interlocked.Exchange(ref _flipAt, offset);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listen.Dispose();
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        await _accepting;
        await Task.WhenAll(_pumps);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listen.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
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

            Interlocked.Increment(ref _connections);
            var flipAt = Interlocked.Exchange(ref _flipAt, -1);
            _pumps.Add(PumpAsync(client, server, flipAt));
            _pumps.Add(PumpAsync(server, client, -1));
        }
    }

    /// <summary>Copies <paramref name="from"/> to <paramref name="to"/> until either ends, then closes both.</summary>
    private static async Task PumpAsync(Socket from, Socket to, long flipAt)
    {
        var buffer = new byte[64 * 1024];
        long offset = 0;
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer);
                if (n == 0)
                {
                    break;
                }

                if (flipAt >= offset && flipAt < offset + n)
                {
                    buffer[flipAt - offset] ^= 0x20;
                }

                await to.SendAsync(buffer.AsMemory(0, n));
                offset += n;
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
            // The other side or the proxy closed.
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }
}
