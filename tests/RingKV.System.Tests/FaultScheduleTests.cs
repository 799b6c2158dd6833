using System.Linq;
using RingKV.System.Tests.Chaos;
using Xunit;

namespace RingKV.System.Tests;

public sealed class FaultScheduleTests
{
    [Fact]
    public void Create_SameSeed_SameFaults()
    {
        var first = FaultSchedule.Create(42, 5, 30).Select(f => f.ToString() + f.Gap).ToArray();
        var second = FaultSchedule.Create(42, 5, 30).Select(f => f.ToString() + f.Gap).ToArray();

        Assert.Equal(first, second);
        Assert.NotEqual(first, FaultSchedule.Create(43, 5, 30).Select(f => f.ToString() + f.Gap).ToArray());
    }

    [Theory]
    [InlineData(1L, 5)]
    [InlineData(7L, 5)]
    [InlineData(99L, 3)]
    public void Create_EveryRound_HasEveryKindOnceAndImpairsAtMostTwoNodes(long seed, int nodes)
    {
        var faults = FaultSchedule.Create(seed, nodes, 30);

        Assert.Equal(30, faults.Count);
        foreach (var round in faults.Chunk(FaultSchedule.KindsPerRound))
        {
            Assert.Equal(FaultSchedule.KindsPerRound, round.Select(f => f.Kind).Distinct().Count());
        }

        foreach (var fault in faults)
        {
            Assert.InRange(fault.Nodes.Count, 1, fault.Kind == FaultKind.Cut && nodes >= 4 ? 2 : 1);
            Assert.All(fault.Nodes, n => Assert.InRange(n, 0, nodes - 1));
            Assert.Equal(fault.Nodes.Count, fault.Nodes.Distinct().Count());
        }
    }
}
