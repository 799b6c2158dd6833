using System;
using Xunit;

namespace RingKV.Server.Tests.Commands;

public sealed class RepairOptionsTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("1h", 3_600_000)]
    [InlineData("10m", 600_000)]
    [InlineData("30s", 30_000)]
    [InlineData("45", 45_000)]
    [InlineData("500ms", 500)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData(" 2D ", 172_800_000)]
    public void Duration_NumberAndUnit_Parsed(string text, long milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), ServerOptions.Duration(text, "repair-interval"));

    [Theory]
    [InlineData("")]
    [InlineData("h")]
    [InlineData("-1s")]
    [InlineData("1 hour")]
    [InlineData("4000d")]
    public void Duration_NotADuration_FormatExceptionNamingTheSetting(string text)
    {
        var error = Assert.Throws<FormatException>(() => ServerOptions.Duration(text, "repair-interval"));
        Assert.StartsWith($"repair-interval '{text}' is not a duration", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_HourlyPassesAt16MiBPerSecond()
    {
        var options = new ServerOptions();
        options.Validate();
        Assert.Equal(TimeSpan.FromHours(1), options.RepairIntervalSpan());
        Assert.Equal(16 * 1024 * 1024, options.RepairRate);
    }
}
