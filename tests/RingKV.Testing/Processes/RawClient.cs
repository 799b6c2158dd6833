using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using Xunit;

namespace RingKV.Testing.Processes;

/// <summary>A RESP client over a plain socket, for bytes no client library would send and for per-connection state.</summary>
/// <remarks>
/// Replies decode to: <see cref="string"/> (simple string), <see cref="RespError"/>, <see cref="long"/>,
/// <see cref="byte"/>[] (bulk string), null (RESP2 null bulk/array, RESP3 null), <see cref="object"/>[] (array, set,
/// and a map flattened to key, value, ...), <see cref="bool"/>, <see cref="double"/>. Not thread-safe.
/// </remarks>
public sealed class RawClient : IDisposable
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(15);

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly BufferedStream _input;

    public RawClient(IPEndPoint endPoint)
    {
        _tcp = new TcpClient { NoDelay = true };
        _tcp.Connect(endPoint);
        _stream = _tcp.GetStream();
        _stream.ReadTimeout = (int)ReadTimeout.TotalMilliseconds;
        _stream.WriteTimeout = (int)ReadTimeout.TotalMilliseconds;
        _input = new BufferedStream(_stream, 64 * 1024);
    }

    /// <summary>Bytes received and not read yet (by the kernel's count; nothing has been read ahead before the first read).</summary>
    public int Available => _tcp.Available;

    /// <summary>Encodes <paramref name="arguments"/> as a RESP array of bulk strings.</summary>
    public static byte[] Encode(params object[] arguments)
    {
        var bytes = new MemoryStream();
        Append(bytes, $"*{arguments.Length}\r\n");
        foreach (var argument in arguments)
        {
            var data = argument switch
            {
                byte[] b => b,
                string s => Encoding.UTF8.GetBytes(s),
                IFormattable f => Encoding.UTF8.GetBytes(f.ToString(null, CultureInfo.InvariantCulture)),
                _ => throw new ArgumentException($"cannot encode {argument}"),
            };
            Append(bytes, $"${data.Length}\r\n");
            bytes.Write(data);
            Append(bytes, "\r\n");
        }

        return bytes.ToArray();
    }

    /// <summary>Sends one command and reads its reply.</summary>
    public object? Call(params object[] arguments)
    {
        Send(Encode(arguments));
        return Read();
    }

    /// <summary>Sends one command and returns its reply as text: "+X" simple, "-ERR .." error, ":n" integer, the bulk text, or "(nil)".</summary>
    public string CallText(params object[] arguments) => Describe(Call(arguments));

    public void Send(ReadOnlySpan<byte> bytes)
    {
        _stream.Write(bytes);
        _stream.Flush();
    }

    public void Send(string text) => Send(Encoding.UTF8.GetBytes(text));

    /// <summary>Reads one reply.</summary>
    public object? Read()
    {
        var line = ReadLine();
        Assert.True(line.Length > 0, "empty reply line");
        var rest = line[1..];
        switch (line[0])
        {
            case '+':
                return rest;
            case '-':
                return new RespError(rest);
            case ':':
                return long.Parse(rest, CultureInfo.InvariantCulture);
            case '_':
                return null;
            case '#':
                return rest == "t";
            case ',':
                return double.Parse(rest, CultureInfo.InvariantCulture);
            case '$':
            case '=':
            case '!':
                {
                    var length = int.Parse(rest, CultureInfo.InvariantCulture);
                    if (length < 0)
                    {
                        return null;
                    }

                    var data = new byte[length + 2];
                    _input.ReadExactly(data);
                    Assert.True(data[length] == '\r' && data[length + 1] == '\n', "bulk string not followed by CRLF");
                    return data[..length];
                }

            case '*':
            case '~':
            case '>':
            case '%':
                {
                    var count = int.Parse(rest, CultureInfo.InvariantCulture);
                    if (count < 0)
                    {
                        return null;
                    }

                    if (line[0] == '%')
                    {
                        count *= 2;
                    }

                    var items = new object?[count];
                    for (var i = 0; i < count; i++)
                    {
                        items[i] = Read();
                    }

                    return items;
                }

            default:
                Assert.Fail($"unexpected reply line '{line}'");
                return null;
        }
    }

    /// <summary>Reads until the server closes the connection (EOF or reset) or <paramref name="deadline"/> passes; returns what arrived and whether it closed.</summary>
    public (string Text, bool Closed) ReadUntilClosed(TimeSpan deadline)
    {
        _stream.ReadTimeout = (int)Math.Max(1, deadline.TotalMilliseconds);
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < deadline)
        {
            int n;
            try
            {
                n = _input.Read(buffer);
            }
            catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut })
            {
                return (Encoding.Latin1.GetString(received.ToArray()), false);
            }
            catch (IOException)
            {
                return (Encoding.Latin1.GetString(received.ToArray()), true); // reset
            }

            if (n == 0)
            {
                return (Encoding.Latin1.GetString(received.ToArray()), true);
            }

            received.Write(buffer, 0, n);
        }

        return (Encoding.Latin1.GetString(received.ToArray()), false);
    }

    /// <summary>Writes <paramref name="bytes"/> on a background task, ignoring a write failure once the server closes, then reads until it closes.</summary>
    public (string Text, bool Closed) SendAndReadUntilClosed(byte[] bytes, TimeSpan deadline)
    {
        var writer = Task.Run(() =>
        {
            try
            {
                for (var at = 0; at < bytes.Length; at += 8192)
                {
                    _stream.Write(bytes, at, Math.Min(8192, bytes.Length - at));
                }
            }
            catch (IOException)
            {
                // The server closed the connection while we wrote: that is the expected outcome.
            }
            catch (ObjectDisposedException)
            {
            }
        });
        var result = ReadUntilClosed(deadline);
        _tcp.Client.Close(0);
        writer.Wait(TimeSpan.FromSeconds(10));
        return result;
    }

    public void Dispose()
    {
        _input.Dispose();
        _tcp.Dispose();
    }

    /// <summary>A reply as compact text for assertions.</summary>
    public static string Describe(object? reply) => reply switch
    {
        null => "(nil)",
        string s => "+" + s,
        RespError e => "-" + e.Message,
        long n => ":" + n.ToString(CultureInfo.InvariantCulture),
        byte[] b => Encoding.UTF8.GetString(b),
        object?[] items => "[" + string.Join(", ", Array.ConvertAll(items, Describe)) + "]",
        _ => Convert.ToString(reply, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>Reads one reply line as sent, with its CRLF, without decoding it (to tell "$-1" from "_").</summary>
    public string ReadRawLine() => ReadLine() + "\r\n";

    private string ReadLine()
    {
        var line = new List<byte>();
        while (true)
        {
            var b = _input.ReadByte();
            if (b < 0)
            {
                throw new EndOfStreamException($"connection closed after '{Encoding.UTF8.GetString(line.ToArray())}'");
            }

            if (b == '\n' && line.Count > 0 && line[^1] == '\r')
            {
                line.RemoveAt(line.Count - 1);
                return Encoding.UTF8.GetString(line.ToArray());
            }

            line.Add((byte)b);
        }
    }

    private static void Append(MemoryStream bytes, string text) => bytes.Write(Encoding.UTF8.GetBytes(text));
}

/// <summary>An error reply.</summary>
public sealed record RespError(string Message);
