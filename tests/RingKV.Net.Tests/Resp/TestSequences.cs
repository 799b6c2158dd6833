using System;
using System.Buffers;
using System.Collections.Generic;
using System.Text;
using RingKV.Net.Resp;
using Xunit;

namespace RingKV.Net.Tests.Resp;

/// <summary>Builds multi-segment sequences (each segment in its own array between guard bytes) and runs parsers over them.</summary>
internal static class TestSequences
{
    public const byte Guard = 0xEE;
    private const int GuardLength = 8;

    public static byte[] Bytes(string latin1) => Encoding.Latin1.GetBytes(latin1);

    /// <summary>One segment per part; an empty part makes an empty segment.</summary>
    public static ReadOnlySequence<byte> FromParts(IReadOnlyList<byte[]> parts)
    {
        if (parts.Count == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        TestSegment? first = null;
        TestSegment? last = null;
        foreach (var part in parts)
        {
            var memory = Guarded(part);
            if (first is null)
            {
                first = last = new TestSegment(memory, 0);
            }
            else
            {
                last = last!.Append(memory);
            }
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    /// <summary>The payload in one segment between guard bytes.</summary>
    public static ReadOnlySequence<byte> Whole(byte[] payload) => new(Guarded(payload));

    public static ReadOnlySequence<byte> SplitAt(byte[] payload, int offset) =>
        FromParts([payload[..offset], payload[offset..]]);

    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] payload)
    {
        var parts = new List<byte[]>(payload.Length);
        foreach (var b in payload)
        {
            parts.Add([b]);
        }

        return FromParts(parts);
    }

    /// <summary>Parses every command in <paramref name="buffer"/> with a fresh parser.</summary>
    public static ParseOutcome ParseAll(ReadOnlySequence<byte> buffer, RespLimits? limits = null)
    {
        using var parser = new RespRequestParser(limits ?? RespLimits.Default);
        var commands = new List<string>();
        var command = new RespCommand();
        long consumedBytes = 0;
        return ParseAvailable(parser, command, ref buffer, commands, ref consumedBytes);
    }

    /// <summary>Feeds the payload as a pipe would: one more byte per read, unconsumed bytes passed again.</summary>
    public static ParseOutcome ParseIncrementally(byte[] payload, RespLimits? limits = null, bool oneBytePerSegment = false)
    {
        using var parser = new RespRequestParser(limits ?? RespLimits.Default);
        var commands = new List<string>();
        var command = new RespCommand();
        long consumedBytes = 0;
        ParseOutcome outcome = new(commands, ParseStatus.Incomplete, null, 0);
        for (var end = 0; end <= payload.Length; end++)
        {
            var available = payload[(int)consumedBytes..end];
            var buffer = oneBytePerSegment ? OneBytePerSegment(available) : Whole(available);
            outcome = ParseAvailable(parser, command, ref buffer, commands, ref consumedBytes);
            if (outcome.Final == ParseStatus.Error)
            {
                return outcome;
            }
        }

        return outcome;
    }

    public static string Render(RespCommand command)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < command.Count; i++)
        {
            builder.Append(i == 0 ? "[" : " [");
            foreach (var b in command[i])
            {
                if (b is >= 0x20 and < 0x7F && b != (byte)'\\')
                {
                    builder.Append((char)b);
                }
                else
                {
                    builder.Append("\\x").Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            builder.Append(']');
        }

        return builder.ToString();
    }

    private static ParseOutcome ParseAvailable(
        RespRequestParser parser,
        RespCommand command,
        ref ReadOnlySequence<byte> buffer,
        List<string> commands,
        ref long consumedBytes)
    {
        while (true)
        {
            var status = parser.TryParse(buffer, command, out var consumed);

            // NOTE: Slice(0, position) throws when the position is in an empty first segment; offsets don't.
            consumedBytes += buffer.GetOffset(consumed) - buffer.GetOffset(buffer.Start);
            if (status == ParseStatus.Error)
            {
                Assert.Equal(0, command.Count);
                return new ParseOutcome(commands, status, parser.ErrorMessage, consumedBytes);
            }

            buffer = buffer.Slice(consumed);
            if (status == ParseStatus.Incomplete)
            {
                Assert.Equal(0, command.Count);
                return new ParseOutcome(commands, status, null, consumedBytes);
            }

            commands.Add(Render(command));
        }
    }

    private static ReadOnlyMemory<byte> Guarded(byte[] part)
    {
        var array = new byte[part.Length + (2 * GuardLength)];
        array.AsSpan().Fill(Guard);
        part.CopyTo(array, GuardLength);
        return array.AsMemory(GuardLength, part.Length);
    }

    private sealed class TestSegment : ReadOnlySequenceSegment<byte>
    {
        public TestSegment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public TestSegment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new TestSegment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}

/// <summary>What a parser made of a buffer: the commands, how it stopped, and how many bytes it consumed.</summary>
internal sealed record ParseOutcome(List<string> Commands, ParseStatus Final, string? Error, long ConsumedBytes)
{
    public void AssertSameAs(ParseOutcome expected, string context)
    {
        Assert.True(
            expected.Commands.Count == Commands.Count && expected.Final == Final && expected.Error == Error && expected.ConsumedBytes == ConsumedBytes,
            $"{context}: expected {expected} [{string.Join(", ", expected.Commands)}], got {this} [{string.Join(", ", Commands)}]");
        Assert.Equal(expected.Commands, Commands);
    }
}
