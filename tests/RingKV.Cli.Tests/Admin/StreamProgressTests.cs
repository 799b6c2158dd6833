using System;
using RingKV.Cli.Admin;
using Xunit;

namespace RingKV.Cli.Tests.Admin;

public sealed class StreamProgressTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    [Fact]
    public void Rate_BytesOverElapsed() =>
        Assert.Equal(1024.0, StreamProgress.Rate(TimeSpan.FromSeconds(1), 1000, TimeSpan.FromSeconds(3), 3048));

    [Fact]
    public void Rate_NoTimePassed_Unknown() =>
        Assert.Null(StreamProgress.Rate(TimeSpan.FromSeconds(2), 0, TimeSpan.FromSeconds(2), 100));

    [Fact]
    public void Rate_CounterWentDown_Zero() =>
        Assert.Equal(0.0, StreamProgress.Rate(TimeSpan.Zero, 5000, TimeSpan.FromSeconds(1), 10));

    [Fact]
    public void Remaining_RestAtThePaceBetweenTheSamples() =>
        Assert.Equal(TimeSpan.FromSeconds(22), StreamProgress.Remaining(TimeSpan.FromSeconds(10), 20, TimeSpan.FromSeconds(20), 45)); // 2.5 points a second, 55 to go

    [Fact]
    public void Remaining_RoundsUpToWholeSeconds() =>
        Assert.Equal(TimeSpan.FromSeconds(2), StreamProgress.Remaining(TimeSpan.Zero, 0, TimeSpan.FromSeconds(1), 40)); // 1.5 s

    [Theory]
    [InlineData(30.0, 30.0)]
    [InlineData(30.0, 20.0)]
    public void Remaining_NoProgress_Unknown(double from, double to) =>
        Assert.Null(StreamProgress.Remaining(TimeSpan.Zero, from, TimeSpan.FromSeconds(4), to));

    [Fact]
    public void Remaining_Done_Zero() =>
        Assert.Equal(TimeSpan.Zero, StreamProgress.Remaining(TimeSpan.Zero, 100, TimeSpan.Zero, 100));

    [Fact]
    public void Progress_NoSamples_ZeroAndUnknown()
    {
        var progress = new StreamProgress(Window);

        Assert.Equal(0, progress.Percent);
        Assert.Equal(0, progress.Bytes);
        Assert.Null(progress.BytesPerSecond);
        Assert.Null(progress.TimeLeft);
        Assert.Equal("join node4: 0.0%, 0 B, ?/s, ? left", progress.Line("join node4"));
    }

    [Fact]
    public void Progress_SteadyStream_RateAndTimeLeft()
    {
        var progress = new StreamProgress(Window);
        for (var second = 0; second <= 4; second++)
        {
            progress.Add(TimeSpan.FromSeconds(second), second * 10, second * (1L << 20)); // 10 points and 1 MiB a second
        }

        Assert.Equal(40, progress.Percent);
        Assert.Equal(4L << 20, progress.Bytes);
        Assert.Equal(1 << 20, progress.BytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(6), progress.TimeLeft);
        Assert.Equal("decommission node3: 40.0%, 4.0 MiB, 1.0 MiB/s, 0:06 left", progress.Line("decommission node3"));
    }

    [Fact]
    public void Progress_StreamSlowsDown_RateFollowsTheWindowNotTheAverage()
    {
        var progress = new StreamProgress(Window);
        progress.Add(TimeSpan.Zero, 0, 0);
        progress.Add(TimeSpan.FromSeconds(1), 50, 100_000); // a fast first second
        for (var second = 2; second <= 20; second++)
        {
            progress.Add(TimeSpan.FromSeconds(second), 50 + ((second - 1) * 1.0), 100_000 + ((second - 1) * 1000L)); // then 1 point and 1000 B a second
        }

        Assert.Equal(1000.0, progress.BytesPerSecond!.Value, 6);
        Assert.Equal(TimeSpan.FromSeconds(31), progress.TimeLeft); // 69 % - 31 points to go at 1 a second
    }

    [Fact]
    public void Progress_Stalled_TimeLeftUnknownRateZero()
    {
        var progress = new StreamProgress(Window);
        progress.Add(TimeSpan.Zero, 10, 500);
        progress.Add(TimeSpan.FromSeconds(3), 10, 500);

        Assert.Equal(0.0, progress.BytesPerSecond);
        Assert.Null(progress.TimeLeft);
    }

    [Fact]
    public void Progress_AtHundred_NoTimeLeft()
    {
        var progress = new StreamProgress(Window);
        progress.Add(TimeSpan.Zero, 100, 10);

        Assert.Equal(TimeSpan.Zero, progress.TimeLeft);
    }

    [Fact]
    public void Progress_PercentOutOfRange_Clamped()
    {
        var progress = new StreamProgress(Window);
        progress.Add(TimeSpan.Zero, 120, -5);

        Assert.Equal(100, progress.Percent);
        Assert.Equal(0, progress.Bytes);
    }

    [Theory]
    [InlineData(0.0, "0:00")]
    [InlineData(35.0, "0:35")]
    [InlineData(34.2, "0:35")]
    [InlineData(725.0, "12:05")]
    [InlineData(3723.0, "1:02:03")]
    public void Duration_MinutesSecondsAndHours(double seconds, string expected) =>
        Assert.Equal(expected, StreamProgress.Duration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void Duration_Unknown_QuestionMark() => Assert.Equal("?", StreamProgress.Duration(null));
}
