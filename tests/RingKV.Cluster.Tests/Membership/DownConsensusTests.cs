using System;
using System.Linq;
using RingKV.Cluster.Membership;
using Xunit;

namespace RingKV.Cluster.Tests.Membership;

public sealed class DownConsensusTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 1, 0, TimeSpan.Zero);
    private static readonly TimeSpan Expiry = TimeSpan.FromSeconds(10);
    private static readonly NodeId A = new("a");
    private static readonly NodeId B = new("b");
    private static readonly NodeId C = new("c");
    private static readonly NodeId X = new("x");

    [Fact]
    public void Evaluate_OneObserverSuspects_IsNotDown()
    {
        var verdict = DownConsensus.Evaluate([Report(A, X), Report(B), Report(C)], Now, Expiry);

        Assert.Equal(1, verdict.ObserversOf(X));
        Assert.False(verdict.IsDown(X));
    }

    [Fact]
    public void Evaluate_TwoObserversSuspect_IsDown()
    {
        var verdict = DownConsensus.Evaluate([Report(A, X), Report(B, X), Report(C)], Now, Expiry);

        Assert.Equal(2, verdict.ObserversOf(X));
        Assert.True(verdict.IsDown(X));
        Assert.False(verdict.IsDown(A));
    }

    [Fact]
    public void Evaluate_LocalReportAndOnePeer_IsDown()
    {
        // The local node's own report is renewed now; it counts like any other observer.
        var verdict = DownConsensus.Evaluate([new SuspicionReport(A, [X], Now), Report(B, X)], Now, Expiry);

        Assert.True(verdict.IsDown(X));
    }

    [Fact]
    public void Evaluate_FewerThanTwoAgain_IsUp()
    {
        Assert.True(DownConsensus.Evaluate([Report(A, X), Report(B, X)], Now, Expiry).IsDown(X));

        // A fresh heartbeat cleared b's suspicion; its next report no longer names x.
        var verdict = DownConsensus.Evaluate([Report(A, X), Report(B)], Now, Expiry);

        Assert.False(verdict.IsDown(X));
        Assert.Equal(1, verdict.ObserversOf(X));
    }

    [Fact]
    public void Evaluate_ReportNotRenewedWithinExpiry_DoesNotCount()
    {
        SuspicionReport[] reports = [Report(A, X), new SuspicionReport(B, [X], Now - Expiry)];
        Assert.True(DownConsensus.Evaluate(reports, Now, Expiry).IsDown(X));

        reports[1] = new SuspicionReport(B, [X], Now - Expiry - TimeSpan.FromTicks(1));
        var verdict = DownConsensus.Evaluate(reports, Now, Expiry);

        Assert.False(verdict.IsDown(X));
        Assert.Equal(1, verdict.ObserversOf(X));
    }

    [Fact]
    public void Evaluate_TwoDeadObserversStaleReports_ReleaseTheNodeAfterExpiry()
    {
        // b and c suspected x, then died: their reports stop being renewed, and x is UP again once both expire.
        SuspicionReport[] reports = [Report(A), new SuspicionReport(B, [X], Now), new SuspicionReport(C, [X], Now)];
        Assert.True(DownConsensus.Evaluate(reports, Now, Expiry).IsDown(X));
        Assert.True(DownConsensus.Evaluate(reports, Now + Expiry, Expiry).IsDown(X));
        Assert.False(DownConsensus.Evaluate(reports, Now + Expiry + TimeSpan.FromMilliseconds(1), Expiry).IsDown(X));
    }

    [Fact]
    public void Evaluate_ObserverNamingItselfOrListedTwice_CountsOnceAndNeverForItself()
    {
        var verdict = DownConsensus.Evaluate([Report(X, X), Report(A, X), Report(A, X)], Now, Expiry);

        Assert.Equal(1, verdict.ObserversOf(X));
        Assert.False(verdict.IsDown(X));
    }

    [Fact]
    public void Evaluate_TwoNodeCluster_NeitherIsEverDown()
    {
        // Each can suspect only the other: one observer per node, whatever happens.
        var verdict = DownConsensus.Evaluate([Report(A, B), Report(B, A)], Now, Expiry);

        Assert.Equal(1, verdict.ObserversOf(A));
        Assert.Equal(1, verdict.ObserversOf(B));
        Assert.False(verdict.IsDown(A));
        Assert.False(verdict.IsDown(B));
    }

    [Fact]
    public void Evaluate_ReportsInAnyOrder_SameVerdict()
    {
        SuspicionReport[] reports = [Report(A, B, X), Report(B, C, X), Report(C, A, B), Report(X, A)];
        var expected = DownConsensus.Evaluate(reports, Now, Expiry).Counts;
        Assert.Equal([(A, 2), (B, 2), (C, 1), (X, 2)], expected.ToArray());

        var permutations = new[] { new[] { 3, 2, 1, 0 }, [1, 3, 0, 2], [2, 0, 3, 1] };
        foreach (var order in permutations)
        {
            var shuffled = order.Select(i => reports[i]).ToArray();
            Assert.Equal(expected.ToArray(), DownConsensus.Evaluate(shuffled, Now, Expiry).Counts.ToArray());
        }
    }

    private static SuspicionReport Report(NodeId observer, params NodeId[] suspects)
        => new(observer, [.. suspects], Now - TimeSpan.FromSeconds(1));
}
