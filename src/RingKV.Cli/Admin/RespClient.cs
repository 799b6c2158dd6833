using System;
using System.Globalization;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Threading;

namespace RingKV.Cli.Admin;

/// <summary>A blocking RESP2 client for the command line's few admin calls (PING, AUTH, KV.RING) to one node.</summary>
/// <remarks>
/// Not thread-safe; one command at a time. Every connect, send and receive is bounded by the timeout given at
/// <see cref="Connect"/>, so a node that accepts and then says nothing fails the call instead of hanging the
/// command line. A blocking client suits a command line that makes a handful of calls; the server's own paths
/// never block. Rejected alternative: StackExchange.Redis, which sends its own handshake (CLIENT, INFO, CONFIG,
/// CLUSTER) and retries behind a multiplexer, so "this node does not answer" would come late and vague.
/// Replies are limited to <see cref="MaxReplyBytes"/> in all, so a wrong peer cannot make it allocate without bound.
/// </remarks>
internal sealed class RespClient : IDisposable
{
    /// <summary>The largest reply read, in bytes: a KV.RING of hundreds of nodes is a few tens of KiB.</summary>
    public const int MaxReplyBytes = 16 << 20;

    private readonly Socket _socket;
    private readonly BufferedStream _input;
    private readonly NetworkStream _stream;
    private long _readBytes;

    private RespClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _input = new BufferedStream(_stream, 16 * 1024);
    }

    /// <summary>The host:port this client talks to, as given.</summary>
    public string Address { get; private init; } = "";

    /// <summary>Connects to <paramref name="address"/> (host:port) within <paramref name="timeout"/>.</summary>
    /// <exception cref="RespClientException">The address is malformed, or the node refused or did not answer in time.</exception>
    public static RespClient Connect(string address, TimeSpan timeout)
    {
        var (host, port) = HostPort.Parse(address);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using (var cancel = new CancellationTokenSource(timeout))
            {
                socket.ConnectAsync(host, port, cancel.Token).AsTask().GetAwaiter().GetResult();
            }

            socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
            socket.SendTimeout = (int)timeout.TotalMilliseconds;
            return new RespClient(socket) { Address = address };
        }
        catch (OperationCanceledException)
        {
            socket.Dispose();
            throw new RespClientException($"{address} did not accept a connection within {timeout.TotalSeconds:0.#} s");
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new RespClientException($"{address} does not answer: {e.Message}");
        }
    }

    /// <summary>Connects as <see cref="Connect"/> does, then sends AUTH when <paramref name="password"/> is given.</summary>
    /// <exception cref="RespClientException">The node refused or did not answer in time.</exception>
    /// <exception cref="FormatException">The node refused AUTH.</exception>
    public static RespClient Open(string address, string? password, TimeSpan timeout)
    {
        var client = Connect(address, timeout);
        try
        {
            if (password is not null && client.Call("AUTH", password) is { Kind: RespReplyKind.Error } refused)
            {
                throw new FormatException($"{address} refused AUTH: {refused.Text}");
            }

            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Sends one command (arguments as UTF-8 bulk strings) and reads its reply; an error reply is returned, not thrown.</summary>
    /// <exception cref="RespClientException">The connection failed, timed out, closed or carried something that is not RESP.</exception>
    public RespReply Call(params string[] arguments)
    {
        var request = new StringBuilder();
        request.Append(CultureInfo.InvariantCulture, $"*{arguments.Length}\r\n");
        foreach (var argument in arguments)
        {
            request.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(argument)}\r\n{argument}\r\n");
        }

        try
        {
            _stream.Write(Encoding.UTF8.GetBytes(request.ToString()));
            _readBytes = 0;
            return ReadReply(depth: 0);
        }
        catch (IOException e)
        {
            var why = e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock }
                ? $"no reply within {_socket.ReceiveTimeout / 1000.0:0.#} s"
                : e.Message;
            throw new RespClientException($"{Address} did not answer {arguments[0]}: {why}");
        }
    }

    public void Dispose() => _input.Dispose();

    private RespReply ReadReply(int depth)
    {
        if (depth > 8)
        {
            throw Malformed("arrays nested deeper than 8");
        }

        var line = ReadLine();
        if (line.Length == 0)
        {
            throw Malformed("an empty line");
        }

        var rest = line[1..];
        switch (line[0])
        {
            case '+':
                return RespReply.Simple(rest);
            case '-':
                return RespReply.Error(rest);
            case ':':
                return RespReply.Integer(ParseLength(rest, allowNegative: true));
            case '$':
                {
                    var length = ParseLength(rest, allowNegative: true);
                    if (length < 0)
                    {
                        return RespReply.Nil;
                    }

                    Count(length + 2);
                    var bytes = new byte[length + 2];
                    _input.ReadExactly(bytes);
                    if (bytes[^2] != '\r' || bytes[^1] != '\n')
                    {
                        throw Malformed("a bulk string not ended by CRLF");
                    }

                    return RespReply.Bulk(Encoding.UTF8.GetString(bytes, 0, (int)length));
                }

            case '*':
                {
                    var count = ParseLength(rest, allowNegative: true);
                    if (count < 0)
                    {
                        return RespReply.Nil;
                    }

                    Count(count); // each element takes at least a byte: bounds the list before it is allocated
                    var elements = new RespReply[count];
                    for (var i = 0; i < count; i++)
                    {
                        elements[i] = ReadReply(depth + 1);
                    }

                    return RespReply.Array(elements);
                }

            default:
                throw Malformed($"a reply starting with '{line[0]}'");
        }
    }

    private string ReadLine()
    {
        var line = new StringBuilder();
        while (true)
        {
            var b = _input.ReadByte();
            if (b < 0)
            {
                throw new RespClientException($"{Address} closed the connection before replying");
            }

            Count(1);
            if (b == '\r')
            {
                if (_input.ReadByte() != '\n')
                {
                    throw Malformed("a CR not followed by LF");
                }

                return line.ToString();
            }

            line.Append((char)b);
        }
    }

    private long ParseLength(string text, bool allowNegative)
    {
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || (!allowNegative && value < 0))
        {
            throw Malformed($"the length or integer '{text}'");
        }

        return value;
    }

    private void Count(long bytes)
    {
        _readBytes += bytes;
        if (_readBytes > MaxReplyBytes)
        {
            throw Malformed($"a reply larger than {MaxReplyBytes} bytes");
        }
    }

    private RespClientException Malformed(string what) => new($"{Address} sent {what}: it does not look like a RingKV node");
}
