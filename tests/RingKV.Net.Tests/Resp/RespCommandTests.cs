using RingKV.Net.Resp;
using Xunit;
using static RingKV.Net.Tests.Resp.TestSequences;

namespace RingKV.Net.Tests.Resp;

public sealed class RespCommandTests
{
    [Theory]
    [InlineData("0", true, 0L)]
    [InlineData("7", true, 7L)]
    [InlineData("-42", true, -42L)]
    [InlineData("9223372036854775807", true, long.MaxValue)]
    [InlineData("-9223372036854775808", true, long.MinValue)]
    [InlineData("9223372036854775808", false, 0L)]
    [InlineData("-9223372036854775809", false, 0L)]
    [InlineData("99999999999999999999", false, 0L)]
    [InlineData("", false, 0L)]
    [InlineData("-", false, 0L)]
    [InlineData("-0", false, 0L)]
    [InlineData("01", false, 0L)]
    [InlineData("+1", false, 0L)]
    [InlineData(" 1", false, 0L)]
    [InlineData("1 ", false, 0L)]
    [InlineData("1a", false, 0L)]
    [InlineData("1.0", false, 0L)]
    public void TryGetInt64_RedisRules(string text, bool ok, long expected)
    {
        var command = Parse($"*2\r\n$6\r\nINCRBY\r\n${text.Length}\r\n{text}\r\n");
        Assert.Equal(ok, command.TryGetInt64(1, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("1.5", true, 1.5)]
    [InlineData("-2", true, -2.0)]
    [InlineData("1e3", true, 1000.0)]
    [InlineData(".5", true, 0.5)]
    [InlineData("inf", true, double.PositiveInfinity)]
    [InlineData("+inf", true, double.PositiveInfinity)]
    [InlineData("-INF", true, double.NegativeInfinity)]
    [InlineData("nan", false, 0.0)]
    [InlineData("NaN", false, 0.0)]
    [InlineData("Infinity", true, double.PositiveInfinity)]
    [InlineData(" 1", false, 0.0)]
    [InlineData("1 ", false, 0.0)]
    [InlineData("abc", false, 0.0)]
    [InlineData("", false, 0.0)]
    public void TryGetDouble_RedisRules(string text, bool ok, double expected)
    {
        var command = Parse($"*2\r\n$5\r\nINCRF\r\n${text.Length}\r\n{text}\r\n");
        Assert.Equal(ok, command.TryGetDouble(1, out var value));
        Assert.Equal(expected, value);
    }

    [Fact]
    public void IsCommand_IgnoresAsciiCase()
    {
        var command = Parse("*3\r\n$3\r\nsEt\r\n$1\r\nk\r\n$2\r\nnx\r\n");
        Assert.True(command.IsCommand("SET"u8));
        Assert.False(command.IsCommand("SETNX"u8));
        Assert.False(command.IsCommand("GET"u8));
        Assert.True(command.ArgumentEquals(2, "NX"u8));
        Assert.False(command.ArgumentEquals(3, "NX"u8));
        Assert.False(command.TryGetInt64(3, out _));
        Assert.Equal("sEt"u8.ToArray(), command.Name.ToArray());
    }

    [Fact]
    public void Indexer_OutOfRange_Throws()
    {
        var command = Parse("*1\r\n$4\r\nPING\r\n");
        Assert.Throws<System.ArgumentOutOfRangeException>(() => command[1].Length);
    }

    private static RespCommand Parse(string payload)
    {
        using var parser = new RespRequestParser(RespLimits.Default);
        var command = new RespCommand();
        Assert.Equal(ParseStatus.Complete, parser.TryParse(Whole(Bytes(payload)), command, out _));
        return command;
    }
}
