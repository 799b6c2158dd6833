using System;
using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using RingKV.Core.Errors;

namespace RingKV.Net.Resp;

/// <summary>Writes RESP2/RESP3 replies into an <see cref="IBufferWriter{T}"/> (a PipeWriter) without allocating.</summary>
/// <remarks>
/// Not thread-safe; one per connection. Each call encodes one element with GetSpan/Advance; the caller
/// flushes (<see cref="RespSocketConnection"/> sends once per receive). <see cref="Protocol"/> picks the
/// encoding of nulls, maps, sets, doubles and booleans: RESP2 writes a map as a flat array of 2n
/// elements, a set as an array, a double as a bulk string, a boolean as 1/0. A class rather than a
/// ref struct so an async handler can keep writing after an await (rejected alternative: a ref struct
/// caching the span saves an interface call per element but cannot cross an await).
/// </remarks>
internal sealed class RespWriter
{
    /// <summary>Longest "&lt;prefix&gt;&lt;int64&gt;\r\n" line.</summary>
    private const int MaxLineBytes = 1 + RespNumber.MaxInt64Length + 2;

    /// <summary>Bulk strings up to this size are written with one GetSpan; larger ones are copied in chunks.</summary>
    private const int SingleSpanBulkBytes = 8 * 1024;

    private readonly IBufferWriter<byte> _output;
    private int _protocol;

    /// <summary>Creates a writer over <paramref name="output"/> speaking RESP <paramref name="protocol"/> (2 or 3).</summary>
    public RespWriter(IBufferWriter<byte> output, int protocol = 2)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        Protocol = protocol;
    }

    /// <summary>The protocol version, 2 or 3; HELLO switches it.</summary>
    public int Protocol
    {
        get => _protocol;
        set
        {
            if (value is not (2 or 3))
            {
                ThrowHelper.InvalidArgument("RESP protocol must be 2 or 3");
            }

            _protocol = value;
        }
    }

    /// <summary>Whether the writer speaks RESP3.</summary>
    public bool IsResp3 => _protocol == 3;

    /// <summary>Writes "+OK".</summary>
    public void WriteOk() => WriteRaw("+OK\r\n"u8);

    /// <summary>Writes a simple string "+text"; CR and LF in <paramref name="text"/> become spaces.</summary>
    public void WriteSimpleString(ReadOnlySpan<byte> text) => WriteLine((byte)'+', text);

    /// <summary>Writes an error "-text", e.g. <c>WriteError("ERR unknown command"u8)</c> or <c>"WRONGTYPE ..."u8</c>; the text carries its code.</summary>
    /// <remarks>CR and LF in <paramref name="text"/> become spaces, as Redis does, so the reply stays one line.</remarks>
    public void WriteError(ReadOnlySpan<byte> text) => WriteLine((byte)'-', text);

    /// <summary>Writes an error "-text" from a string; non-ASCII characters become '?'. For rare, dynamic errors.</summary>
    public void WriteError(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var span = _output.GetSpan(text.Length + 3);
        span[0] = (byte)'-';
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            span[1 + i] = c is '\r' or '\n' ? (byte)' ' : char.IsAscii(c) ? (byte)c : (byte)'?';
        }

        span[1 + text.Length] = (byte)'\r';
        span[2 + text.Length] = (byte)'\n';
        _output.Advance(text.Length + 3);
    }

    /// <summary>Writes an integer ":n".</summary>
    public void WriteInteger(long value) => WriteNumberLine((byte)':', value);

    /// <summary>Writes a bulk string "$len\r\nbytes\r\n".</summary>
    public void WriteBulkString(ReadOnlySpan<byte> value)
    {
        if (value.Length <= SingleSpanBulkBytes)
        {
            var span = _output.GetSpan(value.Length + MaxLineBytes + 2);
            var header = EncodeNumberLine(span, (byte)'$', value.Length);
            value.CopyTo(span[header..]);
            span[header + value.Length] = (byte)'\r';
            span[header + value.Length + 1] = (byte)'\n';
            _output.Advance(header + value.Length + 2);
            return;
        }

        WriteNumberLine((byte)'$', value.Length);
        WriteRaw(value);
        WriteRaw("\r\n"u8);
    }

    /// <summary>Writes a bulk string from a possibly multi-segment sequence.</summary>
    public void WriteBulkString(in ReadOnlySequence<byte> value)
    {
        if (value.IsSingleSegment)
        {
            WriteBulkString(value.FirstSpan);
            return;
        }

        WriteNumberLine((byte)'$', value.Length);
        foreach (var segment in value)
        {
            WriteRaw(segment.Span);
        }

        WriteRaw("\r\n"u8);
    }

    /// <summary>Writes a null bulk string: "$-1" in RESP2, "_" in RESP3.</summary>
    public void WriteNull() => WriteRaw(IsResp3 ? "_\r\n"u8 : "$-1\r\n"u8);

    /// <summary>Writes a null array: "*-1" in RESP2, "_" in RESP3.</summary>
    public void WriteNullArray() => WriteRaw(IsResp3 ? "_\r\n"u8 : "*-1\r\n"u8);

    /// <summary>Writes an array header "*n"; the caller then writes <paramref name="count"/> elements.</summary>
    public void WriteArrayHeader(int count)
    {
        Debug.Assert(count >= 0);
        WriteNumberLine((byte)'*', count);
    }

    /// <summary>Writes a map header: "%n" in RESP3, "*2n" in RESP2; the caller then writes key and value for each of <paramref name="pairs"/>.</summary>
    public void WriteMapHeader(int pairs)
    {
        Debug.Assert(pairs >= 0);
        if (IsResp3)
        {
            WriteNumberLine((byte)'%', pairs);
        }
        else
        {
            WriteNumberLine((byte)'*', 2L * pairs);
        }
    }

    /// <summary>Writes a set header: "~n" in RESP3, "*n" in RESP2.</summary>
    public void WriteSetHeader(int count)
    {
        Debug.Assert(count >= 0);
        WriteNumberLine(IsResp3 ? (byte)'~' : (byte)'*', count);
    }

    /// <summary>Writes a double: ",x" in RESP3, a bulk string in RESP2; shortest round-trip form, "inf", "-inf", "nan".</summary>
    public void WriteDouble(double value)
    {
        Span<byte> text = stackalloc byte[32];
        int length;
        if (double.IsNaN(value))
        {
            "nan"u8.CopyTo(text);
            length = 3;
        }
        else if (double.IsInfinity(value))
        {
            var inf = value > 0 ? "inf"u8 : "-inf"u8;
            inf.CopyTo(text);
            length = inf.Length;
        }
        else if (!value.TryFormat(text, out length, "R", CultureInfo.InvariantCulture))
        {
            Debug.Fail("a double's round-trip form fits in 32 bytes");
            length = 0;
        }

        if (IsResp3)
        {
            WriteLine((byte)',', text[..length]);
        }
        else
        {
            WriteBulkString(text[..length]);
        }
    }

    /// <summary>Writes a boolean: "#t"/"#f" in RESP3, ":1"/":0" in RESP2.</summary>
    public void WriteBoolean(bool value)
    {
        if (IsResp3)
        {
            WriteRaw(value ? "#t\r\n"u8 : "#f\r\n"u8);
        }
        else
        {
            WriteRaw(value ? ":1\r\n"u8 : ":0\r\n"u8);
        }
    }

    /// <summary>Writes a verbatim string "=len\r\nfmt:text\r\n" in RESP3 (a bulk string of <paramref name="text"/> in RESP2).</summary>
    /// <remarks>Requires: <paramref name="format"/> is three bytes, e.g. "txt"u8 or "mkd"u8.</remarks>
    public void WriteVerbatimString(ReadOnlySpan<byte> format, ReadOnlySpan<byte> text)
    {
        if (format.Length != 3)
        {
            ThrowHelper.InvalidArgument("a verbatim string format is three bytes");
        }

        if (!IsResp3)
        {
            WriteBulkString(text);
            return;
        }

        WriteNumberLine((byte)'=', text.Length + 4L);
        WriteRaw(format);
        WriteRaw(":"u8);
        WriteRaw(text);
        WriteRaw("\r\n"u8);
    }

    /// <summary>Writes pre-encoded RESP bytes as they are, e.g. a cached reply.</summary>
    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var span = _output.GetSpan(1);
            var n = Math.Min(span.Length, bytes.Length);
            bytes[..n].CopyTo(span);
            _output.Advance(n);
            bytes = bytes[n..];
        }
    }

    private void WriteLine(byte prefix, ReadOnlySpan<byte> text)
    {
        var span = _output.GetSpan(text.Length + 3);
        span[0] = (byte)prefix;
        var body = span.Slice(1, text.Length);
        text.CopyTo(body);
        if (body.IndexOfAny((byte)'\r', (byte)'\n') >= 0)
        {
            body.Replace((byte)'\r', (byte)' ');
            body.Replace((byte)'\n', (byte)' ');
        }

        span[1 + text.Length] = (byte)'\r';
        span[2 + text.Length] = (byte)'\n';
        _output.Advance(text.Length + 3);
    }

    private void WriteNumberLine(byte prefix, long value)
    {
        var span = _output.GetSpan(MaxLineBytes);
        _output.Advance(EncodeNumberLine(span, prefix, value));
    }

    private static int EncodeNumberLine(Span<byte> span, byte prefix, long value)
    {
        span[0] = prefix;
        var formatted = Utf8Formatter.TryFormat(value, span[1..], out var written);
        Debug.Assert(formatted);
        span[1 + written] = (byte)'\r';
        span[2 + written] = (byte)'\n';
        return written + 3;
    }
}
