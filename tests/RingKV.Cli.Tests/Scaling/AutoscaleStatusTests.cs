using System;
using System.IO;
using RingKV.Cli.Scaling;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Cli.Tests.Scaling;

public sealed class AutoscaleStatusTests
{
    private static readonly DateTimeOffset At = new(2030, 1, 1, 0, 0, 5, TimeSpan.Zero);

    [Fact]
    public void WriteThenTryRead_RoundTrips()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, AutoscaleStatus.FileName);
        var status = new AutoscaleStatus(At, "ScaleIn node5", "ops/s 50 below the low mark", 5, "node5 LEAVING", DryRun: true, Pid: 42);

        status.Write(path);

        Assert.Equal(status, AutoscaleStatus.TryRead(path));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void TryRead_MissingOrNotOne_Null()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, AutoscaleStatus.FileName);

        Assert.Null(AutoscaleStatus.TryRead(path));
        File.WriteAllText(path, "{ \"time\": 3 }");
        Assert.Null(AutoscaleStatus.TryRead(path));
    }

    [Fact]
    public void Line_SaysDecisionAgeNodesInFlightAndReason()
    {
        var status = new AutoscaleStatus(At, "ScaleOut 1", "ops/s 1500 above the high mark ops/s 1000 for 30 s (window 30 s): adding 1 (3 -> 4)", 3, null, DryRun: false, Pid: 42);

        Assert.Equal(
            "Autoscaler: ScaleOut 1 at 2030-01-01 00:00:05Z (12 s ago), 3 nodes, in flight: none: ops/s 1500 above the high mark ops/s 1000 for 30 s (window 30 s): adding 1 (3 -> 4)",
            status.Line(At + TimeSpan.FromSeconds(12)));
        Assert.Contains("Hold (dry run) at", (status with { Decision = "Hold", DryRun = true }).Line(At + TimeSpan.FromMinutes(10)), StringComparison.Ordinal);
        Assert.Contains("(10 min ago)", status.Line(At + TimeSpan.FromMinutes(10)), StringComparison.Ordinal);
    }

    [Fact]
    public void AutoscalerLine_FileInTheDirectory_ShownByStatus()
    {
        using var directory = new TempDirectory();
        Assert.Null(StatusCommand.AutoscalerLine(directory.Path, At));

        new AutoscaleStatus(At, "Hold", "load within the marks (ops/s 500)", 3, null, DryRun: false, Pid: 42).Write(Path.Combine(directory.Path, AutoscaleStatus.FileName));

        Assert.StartsWith("Autoscaler: Hold at 2030-01-01 00:00:05Z", StatusCommand.AutoscalerLine(directory.Path, At), StringComparison.Ordinal);
    }
}
