using System;
using System.Buffers;
using System.Text;
using RingKV.Core.Errors;
using RingKV.Net.Resp;
using Xunit;

namespace RingKV.Net.Tests.Resp;

public sealed class RespWriterTests
{
    [Theory]
    [InlineData(2, "+OK\r\n")]
    [InlineData(3, "+OK\r\n")]
    public void WriteOk_WritesSimpleString(int protocol, string expected) =>
        Assert.Equal(expected, Encode(protocol, w => w.WriteOk()));

    [Fact]
    public void WriteSimpleString_WithLineBreaks_ReplacesThemWithSpaces() =>
        Assert.Equal("+PONG a  b\r\n", Encode(2, w => w.WriteSimpleString("PONG a\r\nb"u8)));

    [Fact]
    public void WriteError_Bytes_WritesTextWithItsCode()
    {
        Assert.Equal("-ERR unknown command\r\n", Encode(2, w => w.WriteError("ERR unknown command"u8)));
        Assert.Equal("-WRONGTYPE Operation against a key\r\n", Encode(3, w => w.WriteError("WRONGTYPE Operation against a key"u8)));
        Assert.Equal("-NOAUTH Authentication required.\r\n", Encode(2, w => w.WriteError("NOAUTH Authentication required."u8)));
    }

    [Fact]
    public void WriteError_String_SanitizesLineBreaksAndNonAscii() =>
        Assert.Equal("-ERR bad  x?\r\n", Encode(2, w => w.WriteError("ERR bad\r\nx\u00e9")));

    [Theory]
    [InlineData(0L, ":0\r\n")]
    [InlineData(-1L, ":-1\r\n")]
    [InlineData(long.MaxValue, ":9223372036854775807\r\n")]
    [InlineData(long.MinValue, ":-9223372036854775808\r\n")]
    public void WriteInteger_WritesDecimal(long value, string expected)
    {
        Assert.Equal(expected, Encode(2, w => w.WriteInteger(value)));
        Assert.Equal(expected, Encode(3, w => w.WriteInteger(value)));
    }

    [Fact]
    public void WriteBulkString_WritesLengthAndBytes()
    {
        Assert.Equal("$5\r\nhello\r\n", Encode(2, w => w.WriteBulkString("hello"u8)));
        Assert.Equal("$0\r\n\r\n", Encode(3, w => w.WriteBulkString(ReadOnlySpan<byte>.Empty)));
        Assert.Equal("$4\r\na\r\nb\r\n", Encode(2, w => w.WriteBulkString("a\r\nb"u8)));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(8 * 1024)]
    [InlineData((8 * 1024) + 1)]
    [InlineData(100_000)]
    public void WriteBulkString_AnySizeIntoSmallSpans_WritesSameBytes(int length)
    {
        var value = new byte[length];
        new Random(length).NextBytes(value);
        var expected = Encoding.Latin1.GetBytes($"${length}\r\n").AsSpan().ToArray();
        var small = new SmallSpanWriter();
        new RespWriter(small).WriteBulkString(value);
        var big = new ArrayBufferWriter<byte>();
        new RespWriter(big).WriteBulkString(value);
        var multi = new ArrayBufferWriter<byte>();
        new RespWriter(multi).WriteBulkString(TestSequences.OneBytePerSegment(value[..Math.Min(length, 5000)]));

        Assert.Equal(big.WrittenSpan.ToArray(), small.Written.ToArray());
        Assert.Equal(expected, big.WrittenSpan[..expected.Length].ToArray());
        Assert.Equal(value, big.WrittenSpan.Slice(expected.Length, length).ToArray());
        Assert.Equal("\r\n"u8.ToArray(), big.WrittenSpan[^2..].ToArray());
        var prefix = value[..Math.Min(length, 5000)];
        var expectedMulti = new ArrayBufferWriter<byte>();
        new RespWriter(expectedMulti).WriteBulkString(prefix);
        Assert.Equal(expectedMulti.WrittenSpan.ToArray(), multi.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData(2, "$-1\r\n", "*-1\r\n")]
    [InlineData(3, "_\r\n", "_\r\n")]
    public void WriteNull_DependsOnProtocol(int protocol, string nullBulk, string nullArray)
    {
        Assert.Equal(nullBulk, Encode(protocol, w => w.WriteNull()));
        Assert.Equal(nullArray, Encode(protocol, w => w.WriteNullArray()));
    }

    [Theory]
    [InlineData(2, "*2\r\n$1\r\na\r\n:1\r\n")]
    [InlineData(3, "*2\r\n$1\r\na\r\n:1\r\n")]
    public void WriteArrayHeader_ThenElements_WritesArray(int protocol, string expected) =>
        Assert.Equal(expected, Encode(protocol, w =>
        {
            w.WriteArrayHeader(2);
            w.WriteBulkString("a"u8);
            w.WriteInteger(1);
        }));

    [Theory]
    [InlineData(2, "*4\r\n$1\r\nk\r\n$1\r\nv\r\n$1\r\nn\r\n:7\r\n")]
    [InlineData(3, "%2\r\n$1\r\nk\r\n$1\r\nv\r\n$1\r\nn\r\n:7\r\n")]
    public void WriteMapHeader_Resp2IsFlatArray_Resp3IsMap(int protocol, string expected) =>
        Assert.Equal(expected, Encode(protocol, w =>
        {
            w.WriteMapHeader(2);
            w.WriteBulkString("k"u8);
            w.WriteBulkString("v"u8);
            w.WriteBulkString("n"u8);
            w.WriteInteger(7);
        }));

    [Theory]
    [InlineData(2, "*3\r\n")]
    [InlineData(3, "~3\r\n")]
    public void WriteSetHeader_DependsOnProtocol(int protocol, string expected) =>
        Assert.Equal(expected, Encode(protocol, w => w.WriteSetHeader(3)));

    [Theory]
    [InlineData(1.5, "$3\r\n1.5\r\n", ",1.5\r\n")]
    [InlineData(-0.25, "$5\r\n-0.25\r\n", ",-0.25\r\n")]
    [InlineData(3.0, "$1\r\n3\r\n", ",3\r\n")]
    [InlineData(double.PositiveInfinity, "$3\r\ninf\r\n", ",inf\r\n")]
    [InlineData(double.NegativeInfinity, "$4\r\n-inf\r\n", ",-inf\r\n")]
    [InlineData(double.NaN, "$3\r\nnan\r\n", ",nan\r\n")]
    [InlineData(0.1, "$3\r\n0.1\r\n", ",0.1\r\n")]
    public void WriteDouble_Resp2IsBulk_Resp3IsDouble(double value, string resp2, string resp3)
    {
        Assert.Equal(resp2, Encode(2, w => w.WriteDouble(value)));
        Assert.Equal(resp3, Encode(3, w => w.WriteDouble(value)));
    }

    [Theory]
    [InlineData(2, ":1\r\n", ":0\r\n")]
    [InlineData(3, "#t\r\n", "#f\r\n")]
    public void WriteBoolean_DependsOnProtocol(int protocol, string whenTrue, string whenFalse)
    {
        Assert.Equal(whenTrue, Encode(protocol, w => w.WriteBoolean(true)));
        Assert.Equal(whenFalse, Encode(protocol, w => w.WriteBoolean(false)));
    }

    [Theory]
    [InlineData(2, "$5\r\nhello\r\n")]
    [InlineData(3, "=9\r\ntxt:hello\r\n")]
    public void WriteVerbatimString_DependsOnProtocol(int protocol, string expected) =>
        Assert.Equal(expected, Encode(protocol, w => w.WriteVerbatimString("txt"u8, "hello"u8)));

    [Fact]
    public void Protocol_SwitchedMidStream_ChangesLaterEncodings() =>
        Assert.Equal("$-1\r\n_\r\n", Encode(2, w =>
        {
            w.WriteNull();
            w.Protocol = 3;
            w.WriteNull();
        }));

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Protocol_Unsupported_Throws(int protocol)
    {
        var exception = Assert.Throws<RingKVException>(() => new RespWriter(new ArrayBufferWriter<byte>(), protocol));
        Assert.Equal(ErrorCode.InvalidArgument, exception.Code);
    }

    [Fact]
    public void Write_EveryReplyKind_AllocatesNothing()
    {
        var output = new ArrayBufferWriter<byte>(64 * 1024);
        var writer = new RespWriter(output, 3);
        WriteEverything(writer);
        output.ResetWrittenCount();

        // The fewest bytes any of three rounds allocated: a per-reply allocation shows in every round, a one-off
        // allocation by the runtime while the loop tiers up in one round at most.
        var allocated = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 100; i++)
            {
                WriteEverything(writer);
                output.ResetWrittenCount();
            }

            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, allocated);

        static void WriteEverything(RespWriter writer)
        {
            writer.WriteOk();
            writer.WriteError("ERR x"u8);
            writer.WriteInteger(123456789);
            writer.WriteBulkString("value"u8);
            writer.WriteNull();
            writer.WriteMapHeader(1);
            writer.WriteDouble(1.25);
            writer.WriteBoolean(true);
            writer.WriteVerbatimString("txt"u8, "info"u8);
        }
    }

    private static string Encode(int protocol, Action<RespWriter> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(new RespWriter(output, protocol));
        return Encoding.Latin1.GetString(output.WrittenSpan);
    }

    /// <summary>Hands out spans no larger than asked (at least 7 bytes), as a fragmented pipe might.</summary>
    private sealed class SmallSpanWriter : IBufferWriter<byte>
    {
        private readonly ArrayBufferWriter<byte> _inner = new();

        public ReadOnlySpan<byte> Written => _inner.WrittenSpan;

        public void Advance(int count) => _inner.Advance(count);

        public Memory<byte> GetMemory(int sizeHint = 0) => _inner.GetMemory(Math.Max(sizeHint, 7))[..Math.Max(sizeHint, 7)];

        public Span<byte> GetSpan(int sizeHint = 0) => _inner.GetSpan(Math.Max(sizeHint, 7))[..Math.Max(sizeHint, 7)];
    }
}
