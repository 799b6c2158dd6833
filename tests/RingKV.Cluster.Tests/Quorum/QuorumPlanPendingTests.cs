using RingKV.Cluster.Coordination;
using RingKV.Core.Consistency;
using Xunit;

namespace RingKV.Cluster.Tests.Quorum;

/// <summary>
/// Pending replicas (a membership change in flight) count on top of the level: each must acknowledge as well, in its
/// data center's group, so a write is on the level's count of the range's future replicas whichever node the change
/// drops.
/// </summary>
public sealed class QuorumPlanPendingTests
{
    [Fact]
    public void Quorum_OnePending_NeedsThreeOfFour_AndFailsOnceTwoFail()
    {
        var plan = QuorumPlan.Create(ConsistencyLevel.Quorum, ["dc1", "dc1", "dc1", "dc1"], "dc1", natural: 3);
        Assert.Equal(3, plan.TotalRequired);
        var tracker = new QuorumTracker(plan);
        Assert.Equal(QuorumState.Pending, tracker.Record(0, success: true));
        Assert.Equal(QuorumState.Pending, tracker.Record(3, success: true)); // the pending one
        Assert.Equal(QuorumState.Succeeded, tracker.Record(1, success: true));

        var failing = new QuorumTracker(plan);
        failing.Record(0, success: false);
        Assert.Equal(QuorumState.Failed, failing.Record(3, success: false));
    }

    [Fact]
    public void One_OnePending_NeedsTwo_AndTheNaturalAloneIsNotEnough()
    {
        var plan = QuorumPlan.Create(ConsistencyLevel.One, ["dc1", "dc1", "dc1", "dc1"], "dc1", natural: 3);
        Assert.Equal(2, plan.TotalRequired);
        var tracker = new QuorumTracker(plan);
        Assert.Equal(QuorumState.Pending, tracker.Record(2, success: true));
        Assert.Equal(QuorumState.Succeeded, tracker.Record(3, success: true));
    }

    [Fact]
    public void LocalQuorum_PendingInAnotherDataCenter_CountsForNothing()
    {
        var plan = QuorumPlan.Create(ConsistencyLevel.LocalQuorum, ["dc1", "dc1", "dc1", "dc2"], "dc1", natural: 3);
        Assert.Equal(2, plan.TotalRequired);
        Assert.Equal(-1, plan.GroupOf(3));
    }

    [Fact]
    public void EachQuorum_PendingJoinsItsDataCenterGroup()
    {
        var plan = QuorumPlan.Create(ConsistencyLevel.EachQuorum, ["dc1", "dc2", "dc1", "dc2", "dc2"], "dc1", natural: 4);
        Assert.Equal(plan.GroupOf(1), plan.GroupOf(4));
        Assert.Equal(2 + 3, plan.TotalRequired); // dc1: 2 of 2; dc2: 2 of 2 plus the pending one
    }

    [Fact]
    public void NoPending_SameAsThePlainPlan()
    {
        var plain = QuorumPlan.Create(ConsistencyLevel.Quorum, ["dc1", "dc1", "dc1"], "dc1");
        var same = QuorumPlan.Create(ConsistencyLevel.Quorum, ["dc1", "dc1", "dc1"], "dc1", natural: 3);
        Assert.Equal(plain.TotalRequired, same.TotalRequired);
        Assert.True(new QuorumTracker(same).CanSucceed([true, true, false], out _, out _));
    }
}
