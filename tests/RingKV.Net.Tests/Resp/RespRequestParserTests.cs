using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using CsCheck;
using RingKV.Net.Resp;
using Xunit;
using static RingKV.Net.Tests.Resp.TestSequences;

namespace RingKV.Net.Tests.Resp;

public sealed class RespRequestParserTests
{
    private static readonly RespLimits SmallLimits = new()
    {
        MaxArguments = 4,
        MaxBulkBytes = 16,
        MaxInlineBytes = 24,
        MaxRequestBytes = 48,
    };

    /// <summary>Payloads with the commands they hold and the error that stops parsing, if any (else it stops Incomplete).</summary>
    public static TheoryData<string, string[], string?> Payloads => new()
    {
        {
            "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
            ["[SET] [key] [value]"], null
        },
        {
            "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nset a b\r\n",
            ["[PING]", "[GET] [k]", "[PING]", "[set] [a] [b]"], null
        },
        {
            "*3\r\n$3\r\nSET\r\n$4\r\n\r\n\r\n\r\n$6\r\na\r\nb\0c\r\n",
            ["[SET] [\\x0D\\x0A\\x0D\\x0A] [a\\x0D\\x0Ab\\x00c]"], null
        },
        {
            "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n*1\r\n$0\r\n\r\n",
            ["[ECHO] []", "[]"], null
        },
        {
            "*0\r\n*-1\r\n\r\n\n   \r\n*1\r\n$4\r\nPING\r\n\r\n",
            ["[PING]"], null
        },
        {
            "SET \"a b\" 'c\\'d' \"\\x41\\n\\\\\\\"\" \"\"\r\n",
            ["[SET] [a b] [c'd] [A\\x0A\\x5C\"] []"], null
        },
        {
            "GET k\nGET  j \t\n",
            ["[GET] [k]", "[GET] [j]"], null
        },
        {
            "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET",
            ["[PING]"], null
        },
        {
            "*1\r\n$4\r\nPING\r\n*1\r\n+PING\r\n",
            ["[PING]"], "Protocol error: expected '$', got '+'"
        },
        {
            "PING\r\n*2147483648\r\n",
            ["[PING]"], RespErrors.InvalidMultibulkLength
        },
        {
            "*2\r\n$3\r\nGET\r\n$999999999999\r\n",
            [], RespErrors.InvalidBulkLength
        },
        {
            "*1\r\n$-1\r\n",
            [], RespErrors.InvalidBulkLength
        },
        {
            "*1\r\n$3\r\nabcXY",
            [], RespErrors.InvalidBulkLength
        },
        {
            "*x\r\n",
            [], RespErrors.InvalidMultibulkLength
        },
        {
            "*1\r\n$3\rXabc\r\n",
            [], RespErrors.InvalidBulkLength
        },
        {
            "*111111111111111111111111",
            [], RespErrors.InvalidMultibulkLength
        },
        {
            "GET \"abc\r\n",
            [], RespErrors.UnbalancedQuotes
        },
        {
            "GET \"abc\"d\r\n",
            [], RespErrors.UnbalancedQuotes
        },
    };

    [Theory]
    [MemberData(nameof(Payloads))]
    public void TryParse_WholeBuffer_GivesExpectedCommands(string payload, string[] commands, string? error)
    {
        var outcome = ParseAll(Whole(Bytes(payload)));
        Assert.Equal(commands, outcome.Commands);
        Assert.Equal(error is null ? ParseStatus.Incomplete : ParseStatus.Error, outcome.Final);
        Assert.Equal(error, outcome.Error);
    }

    [Theory]
    [MemberData(nameof(Payloads))]
    public void TryParse_EverySegmentSplit_GivesSameOutcome(string payload, string[] commands, string? error)
    {
        _ = (commands, error);
        AssertSegmentInvariant(Bytes(payload), RespLimits.Default);
    }

    [Fact]
    public void TryParse_CompleteInFirstSegment_ArgumentsPointIntoBuffer()
    {
        var payload = Bytes("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n");
        var buffer = Whole(payload);
        using var parser = new RespRequestParser(RespLimits.Default);
        var command = new RespCommand();

        Assert.Equal(ParseStatus.Complete, parser.TryParse(buffer, command, out var consumed));

        Assert.Equal(payload.Length, buffer.Slice(0, consumed).Length);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(command.GetMemory(1), out var argument));
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(buffer.First, out var source));
        Assert.Same(source.Array, argument.Array);
    }

    [Fact]
    public void TryParse_InlineLineAtLimit_Completes()
    {
        var line = new string('a', RespLimits.Default.MaxInlineBytes);
        var outcome = ParseAll(Whole(Bytes(line + "\r\n")));
        Assert.Equal(ParseStatus.Incomplete, outcome.Final);
        Assert.Single(outcome.Commands);
    }

    [Theory]
    [InlineData("a\r\n")]
    [InlineData("a\n")]
    [InlineData("xx")]
    public void TryParse_InlineLineOverLimit_GivesTooBigInlineRequest(string ending)
    {
        var payload = Bytes(new string('a', RespLimits.Default.MaxInlineBytes) + ending);
        var outcome = ParseAll(Whole(payload));
        Assert.Equal(ParseStatus.Error, outcome.Final);
        Assert.Equal(RespErrors.TooBigInlineRequest, outcome.Error);
        outcome.AssertSameAs(ParseAll(SplitAt(payload, 1000)), "split");
    }

    [Fact]
    public void TryParse_LongInlineWithoutNewline_StaysIncompleteUntilLimit()
    {
        var outcome = ParseAll(Whole(Bytes(new string('a', RespLimits.Default.MaxInlineBytes))));
        Assert.Equal(ParseStatus.Incomplete, outcome.Final);
    }

    [Fact]
    public void TryParse_HugeDeclaredLengths_ErrorWithoutAllocating()
    {
        var multibulk = Whole(Bytes("*2147483648\r\n"));
        var bulk = Whole(Bytes("*1\r\n$999999999999\r\n"));
        var tooBigForLimit = Whole(Bytes("*1\r\n$536870913\r\n"));
        using var parser = new RespRequestParser(RespLimits.Default);
        var command = new RespCommand();
        _ = parser.TryParse(multibulk, command, out _);
        _ = parser.TryParse(bulk, command, out _);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var first = parser.TryParse(multibulk, command, out _);
        var second = parser.TryParse(bulk, command, out _);
        var third = parser.TryParse(tooBigForLimit, command, out _);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(ParseStatus.Error, first);
        Assert.Equal(ParseStatus.Error, second);
        Assert.Equal(ParseStatus.Error, third);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void TryParse_DeclaredBulkUnderLimit_IsIncompleteWithoutBuffering()
    {
        var payload = Bytes("*1\r\n$536870912\r\nabc");
        using var parser = new RespRequestParser(RespLimits.Default);
        var command = new RespCommand();
        var buffer = SplitAt(payload, 10);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var status = parser.TryParse(buffer, command, out var consumed);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(ParseStatus.Incomplete, status);
        Assert.Equal(0, buffer.Slice(0, consumed).Length);
        Assert.True(allocated < 64 * 1024, $"allocated {allocated} bytes");
    }

    [Fact]
    public void TryParse_RequestOverMaxRequestBytes_GivesRequestTooLargeBeforeItsBytesArrive()
    {
        var limits = RespLimits.Default with { MaxRequestBytes = 64, MaxInlineBytes = 32 };
        var payload = Bytes("*3\r\n$3\r\nSET\r\n$20\r\n01234567890123456789\r\n$20\r\n01234567890123456789\r\n");
        var outcome = ParseAll(Whole(payload), limits);
        Assert.Equal(ParseStatus.Error, outcome.Final);
        Assert.Equal(RespErrors.RequestTooLargePrefix + "64 bytes)", outcome.Error);
        AssertSegmentInvariant(payload, limits);

        // Decided by the header of the argument that crosses the limit, before its data is buffered.
        using var parser = new RespRequestParser(limits);
        var headerOnly = Bytes("*3\r\n$3\r\nSET\r\n$20\r\n01234567890123456789\r\n$20\r\n");
        Assert.Equal(ParseStatus.Error, parser.TryParse(Whole(headerOnly), new RespCommand(), out _));
        Assert.True(parser.IsRequestTooLarge);
    }

    [Fact]
    public void TryParse_CommandOfManyArgumentsArrivingInPieces_ParsesEachArgumentOnce()
    {
        var text = new StringBuilder("*20001\r\n$4\r\nMSET\r\n");
        for (var i = 0; i < 10_000; i++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"$6\r\nk{i:D5}\r\n$3\r\nval\r\n");
        }

        var payload = Bytes(text.ToString());
        using var parser = new RespRequestParser(RespLimits.Default);
        var command = new RespCommand();
        var status = ParseStatus.Incomplete;
        for (var end = 1000; status == ParseStatus.Incomplete; end = Math.Min(payload.Length, end + 1000))
        {
            status = parser.TryParse(Whole(payload[..end]), command, out _); // the same bytes again, plus 1000 more
        }

        Assert.Equal(ParseStatus.Complete, status);
        Assert.Equal(20_001, command.Count);
        Assert.Equal("k09999", Encoding.ASCII.GetString(command[19_999]));

        // Each read goes on from the last whole argument: about one pass, not one pass per read (which was two million).
        Assert.InRange(parser.ArgumentsParsed, 20_001, 20_001 + 400);
    }

    [Fact]
    public void TryParse_BigArgumentPending_NeedBytesIsWhereItEnds()
    {
        using var parser = new RespRequestParser(RespLimits.Default);
        var command = new RespCommand();
        var header = Bytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\n");

        Assert.Equal(ParseStatus.Incomplete, parser.TryParse(Whole([.. header, .. new byte[100]]), command, out _));

        // The value ends 1,000,000 bytes after its header, then CRLF: a receive loop can size its buffer once.
        Assert.Equal(header.Length + 1_000_000 + 2, parser.NeedBytes);
        Assert.False(parser.IsRequestTooLarge);
    }

    [Fact]
    public void TryParse_ArgumentsOverLimit_GiveInvalidMultibulkLength()
    {
        var outcome = ParseAll(Whole(Bytes("*5\r\n")), SmallLimits);
        Assert.Equal(ParseStatus.Error, outcome.Final);
        Assert.Equal(RespErrors.InvalidMultibulkLength, outcome.Error);
    }

    [Fact]
    public void TryParse_ReusedAcrossCommands_ClearsPreviousArguments()
    {
        using var parser = new RespRequestParser(RespLimits.Default);
        var command = new RespCommand();
        Assert.Equal(ParseStatus.Complete, parser.TryParse(Whole(Bytes("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")), command, out _));
        Assert.Equal(3, command.Count);

        Assert.Equal(ParseStatus.Incomplete, parser.TryParse(Whole(Bytes("*2\r\n$1\r\na\r\n")), command, out _));
        Assert.Equal(0, command.Count);
    }

    [Fact]
    public void TryParse_RandomBytes_NeverThrowsAndIsSegmentInvariant() =>
        Gen.Byte.Array[0, 120].Sample(
            payload => AssertSegmentInvariant(payload, SmallLimits, splitEverywhere: false),
            iter: 2000);

    [Fact]
    public void TryParse_RandomProtocolTokens_NeverThrowsAndIsSegmentInvariant() =>
        Gen.OneOf(
                "*", "$", "\r\n", "\r", "\n", "0", "1", "2", "3", "4", "5", "16", "17", "-1", "-", "+", "x",
                "abc", " ", "\"", "'", "\\", "\\x41", "\\x4", "PING", "*1\r\n$4\r\nPING\r\n", "*2\r\n", "$3\r\n")
            .Array[0, 40]
            .Select(tokens => Bytes(string.Concat(tokens)))
            .Sample(
                payload => AssertSegmentInvariant(payload, SmallLimits, splitEverywhere: false),
                iter: 3000);

    [Fact]
    public void TryParse_RandomValidCommands_RoundTripAcrossSplits() =>
        Gen.Byte.Array[0, 20].Array[1, 4].Array[1, 4].Sample(
            commands =>
            {
                var payload = new List<byte>();
                var expected = new List<string>();
                foreach (var arguments in commands)
                {
                    payload.AddRange(Bytes($"*{arguments.Length}\r\n"));
                    foreach (var argument in arguments)
                    {
                        payload.AddRange(Bytes($"${argument.Length}\r\n"));
                        payload.AddRange(argument);
                        payload.AddRange(Bytes("\r\n"));
                    }

                    var command = new RespCommand();
                    command.Begin(arguments.SelectMany(a => a).ToArray());
                    var offset = 0;
                    foreach (var argument in arguments)
                    {
                        command.Add(offset, argument.Length);
                        offset += argument.Length;
                    }

                    expected.Add(Render(command));
                }

                var bytes = payload.ToArray();
                var outcome = ParseAll(OneBytePerSegment(bytes));
                Assert.Equal(expected, outcome.Commands);
                Assert.Equal(ParseStatus.Incomplete, outcome.Final);
                Assert.Equal(bytes.Length, outcome.ConsumedBytes);
                AssertSegmentInvariant(bytes, RespLimits.Default, splitEverywhere: false);
            },
            iter: 300);

    private static void AssertSegmentInvariant(byte[] payload, RespLimits limits, bool splitEverywhere = true)
    {
        var expected = ParseAll(Whole(payload), limits);
        ParseAll(OneBytePerSegment(payload), limits).AssertSameAs(expected, "one byte per segment");
        ParseIncrementally(payload, limits).AssertSameAs(expected, "incremental");
        if (splitEverywhere)
        {
            ParseIncrementally(payload, limits, oneBytePerSegment: true).AssertSameAs(expected, "incremental, one byte per segment");
            for (var offset = 0; offset <= payload.Length; offset++)
            {
                ParseAll(SplitAt(payload, offset), limits).AssertSameAs(expected, $"split at {offset}");
            }
        }
        else
        {
            var offset = payload.Length / 3;
            ParseAll(SplitAt(payload, offset), limits).AssertSameAs(expected, $"split at {offset}");
            ParseAll(FromParts([payload[..offset], [], payload[offset..(2 * offset)], payload[(2 * offset)..]]), limits)
                .AssertSameAs(expected, "three splits and an empty segment");
        }
    }
}
