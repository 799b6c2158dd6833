using System;
using RingKV.System.Tests.Chaos;
using RingKV.Testing.Processes;
using Xunit;

namespace RingKV.System.Tests;

/// <summary>The chaos run's reading of <c>ringkv repair</c>'s output: the contract's last line, nothing else.</summary>
public sealed class RepairPassTests
{
    [Fact]
    public void Parse_LastLineAfterAProgressBar_GivesTheFigures()
    {
        var output = "\u001b[?25l[#####     ] 50% ranges\r[##########] 100% ranges\u001b[?25h\nrepaired 12 keys in 256 ranges (3 differed), sent 4096 bytes, 1.25 s\n";

        var result = RepairPass.Parse(2, "ringkv repair", new RingKvRun(0, output, ""), TimeSpan.FromSeconds(1));

        Assert.Equal(new RepairResult(2, 12, 256, 3, 4096, TimeSpan.FromSeconds(1)), result);
    }

    [Fact]
    public void Parse_NonZeroExit_Throws() =>
        Assert.Throws<InvalidOperationException>(() => RepairPass.Parse(0, "ringkv repair", new RingKvRun(1, "repaired 0 keys in 1 ranges (0 differed), sent 0 bytes, 0.1 s\n", "boom"), TimeSpan.Zero));

    [Fact]
    public void Parse_OtherLastLine_Throws() =>
        Assert.Throws<InvalidOperationException>(() => RepairPass.Parse(0, "ringkv repair", new RingKvRun(0, "repaired 0 keys in 1 ranges (0 differed), sent 0 bytes, 0.1 s\ndone\n", ""), TimeSpan.Zero));
}
