using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace RingKV.Cli.Tests.Admin;

/// <summary>
/// A stand-in for a node on loopback: answers each RESP command with what its handler returns (already encoded), on
/// any number of connections, until disposed or <see cref="Stop"/>ped; lets the membership commands' polling be tested
/// before the server side exists and without the timing of real streams.
/// </summary>
internal sealed class FakeNode : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<string[], string> _handler;
    private readonly List<Socket> _sockets = [];
    private readonly Lock _lock = new();

    public FakeNode(Func<string[], string> handler)
    {
        _handler = handler;
        _listener.Start();
        Address = $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _ = AcceptAsync();
    }

    public string Address { get; }

    /// <summary>Stops listening and drops every connection: the node "stopped answering".</summary>
    public void Stop()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_lock)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }
    }

    public void Dispose()
    {
        Stop();
        _stop.Dispose();
    }

    public static string Simple(string text) => $"+{text}\r\n";

    public static string Error(string text) => $"-{text}\r\n";

    public static string Integer(long value) => string.Create(CultureInfo.InvariantCulture, $":{value}\r\n");

    public static string Bulk(string text) => string.Create(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(text)}\r\n{text}\r\n");

    /// <summary>A KV.RING reply of the nodes given as (id, address, state, status).</summary>
    public static string Ring(params (string Id, string Address, string State, string Status)[] nodes)
    {
        var text = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"*{nodes.Length}\r\n"));
        foreach (var (id, address, state, status) in nodes)
        {
            string[] fields = ["id", id, "address", address, "peer", address, "dc", "dc1", "rack", "rack1", "state", state, "status", status,
                "capacity", "1", "ownership", "0.25", "tokens", "16", "load", "0"];
            text.Append(CultureInfo.InvariantCulture, $"*{fields.Length}\r\n");
            foreach (var field in fields)
            {
                text.Append(Bulk(field));
            }
        }

        return text.ToString();
    }

    /// <summary>INFO streaming as the contract has it.</summary>
    public static string Streaming(string change, double percent, double changePercent, long received = 0, long sent = 0) =>
        Bulk(string.Create(CultureInfo.InvariantCulture,
            $"# Streaming\r\nstreaming_change:{change}\r\nstreaming_percent:{percent:0.0}\r\nstreaming_change_percent:{changePercent:0.0}\r\n"
            + $"streaming_bytes_received:{received}\r\nstreaming_bytes_sent:{sent}\r\n\r\n"));

    /// <summary>INFO cluster naming the node.</summary>
    public static string ClusterInfo(string id) => Bulk($"# Cluster\r\ncluster_enabled:0\r\nringkv_node_id:{id}\r\n\r\n");

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                lock (_lock)
                {
                    _sockets.Add(socket);
                }

                _ = Task.Run(() => ServeAsync(socket)); // its reads block: one thread per connection
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        try
        {
            using var stream = new NetworkStream(socket, ownsSocket: true);
            using var input = new BufferedStream(stream);
            while (true)
            {
                var header = ReadLine(input);
                if (header is null)
                {
                    return;
                }

                var count = int.Parse(header.AsSpan(1), CultureInfo.InvariantCulture);
                var arguments = new string[count];
                for (var i = 0; i < count; i++)
                {
                    var length = int.Parse(ReadLine(input)!.AsSpan(1), CultureInfo.InvariantCulture);
                    var bytes = new byte[length + 2];
                    input.ReadExactly(bytes);
                    arguments[i] = Encoding.UTF8.GetString(bytes, 0, length);
                }

                var reply = _handler(arguments);
                await stream.WriteAsync(Encoding.UTF8.GetBytes(reply), _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The client or the node went away.
        }
    }

    private static string? ReadLine(Stream input)
    {
        var line = new StringBuilder();
        while (true)
        {
            var b = input.ReadByte();
            if (b < 0)
            {
                return null;
            }

            if (b == '\r')
            {
                input.ReadByte();
                return line.ToString();
            }

            line.Append((char)b);
        }
    }
}
