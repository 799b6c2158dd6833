using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Cli.Scaling;
using RingKV.Cluster.Scaling;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Cli.Tests.Scaling;

public sealed class AutoscaleLoopTests
{
    private static readonly AutoscaleSettings Settings = new()
    {
        Ops = new WaterMarks(1000, 100),
        Window = TimeSpan.FromSeconds(10),
        Cooldown = TimeSpan.FromSeconds(30),
        MinNodes = 1,
        MaxNodes = 5,
        Step = 1,
    };

    [Fact]
    public async Task StepAsync_LoadAboveHighForTheWindow_AddsANodeLogsAndRecordsTheDecision()
    {
        using var directory = new TempDirectory();
        var cluster = new FakeCluster(3, 1500);
        var clock = new ManualTimeProvider();
        var log = new StringWriter();
        var statusFile = Path.Combine(directory.Path, AutoscaleStatus.FileName);
        var loop = new AutoscaleLoop(new AutoscalePolicy(Settings), cluster, cluster, clock, log, statusFile, dryRun: false);

        var first = await loop.StepAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(10));
        var second = await loop.StepAsync(CancellationToken.None);

        Assert.Equal(ScaleAction.Hold, first!.Action);
        Assert.Equal(ScaleAction.ScaleOut, second!.Action);
        Assert.Equal([1], cluster.Adds);
        Assert.Equal(4, cluster.Count);
        Assert.Contains("2030-01-01T00:00:10Z autoscale: ScaleOut 1: ops/s 1500 above the high mark ops/s 1000 for 10 s (window 10 s): adding 1 (3 -> 4)", log.ToString(), StringComparison.Ordinal);
        Assert.Contains("ScaleOut 1 done: added node4", log.ToString(), StringComparison.Ordinal);
        var status = AutoscaleStatus.TryRead(statusFile);
        Assert.NotNull(status);
        Assert.Equal("ScaleOut 1", status.Decision);
        Assert.Equal(3, status.Nodes);
        Assert.False(status.DryRun);
    }

    [Fact]
    public async Task StepAsync_AfterAChange_CooldownThenScalesInTheNewestNode()
    {
        var cluster = new FakeCluster(3, 1500);
        var clock = new ManualTimeProvider();
        var loop = new AutoscaleLoop(new AutoscalePolicy(Settings), cluster, cluster, clock, new StringWriter(), null, dryRun: false);
        await loop.StepAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(10));
        await loop.StepAsync(CancellationToken.None);
        cluster.OpsPerNode = 10;

        clock.Advance(TimeSpan.FromSeconds(29));
        var cooling = await loop.StepAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(1));
        await loop.StepAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(10));
        var scaleIn = await loop.StepAsync(CancellationToken.None);

        Assert.Contains("cooldown", cooling!.Reason, StringComparison.Ordinal);
        Assert.Equal(["node4"], scaleIn!.Remove);
        Assert.Equal(["node4"], cluster.Removes);
        Assert.Equal(2, loop.Changes);
    }

    [Fact]
    public async Task StepAsync_DryRun_DecidesButAppliesNothing()
    {
        var cluster = new FakeCluster(3, 1500);
        var clock = new ManualTimeProvider();
        var log = new StringWriter();
        var loop = new AutoscaleLoop(new AutoscalePolicy(Settings with { Window = TimeSpan.Zero }), cluster, cluster, clock, log, null, dryRun: true);

        var decision = await loop.StepAsync(CancellationToken.None);

        Assert.Equal(ScaleAction.ScaleOut, decision!.Action);
        Assert.Empty(cluster.Adds);
        Assert.Equal(3, cluster.Count);
        Assert.Contains("dry run: ScaleOut 1 not applied", log.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, loop.Changes);
    }

    [Fact]
    public async Task StepAsync_DryRunWithoutProvider_EveryNodeRemovable()
    {
        var cluster = new FakeCluster(3, 10);
        var loop = new AutoscaleLoop(new AutoscalePolicy(Settings with { Window = TimeSpan.Zero }), cluster, null, new ManualTimeProvider(), new StringWriter(), null, dryRun: true);

        var decision = await loop.StepAsync(CancellationToken.None);

        Assert.Equal(["node3"], decision!.Remove);
        Assert.Empty(cluster.Removes);
    }

    [Fact]
    public void Constructor_NoProviderOutsideADryRun_Refused()
    {
        var cluster = new FakeCluster(1, 0);

        Assert.Throws<ArgumentNullException>(() => new AutoscaleLoop(new AutoscalePolicy(Settings), cluster, null, TimeProvider.System, new StringWriter(), null, dryRun: false));
    }

    [Fact]
    public async Task StepAsync_NoNodeAnswers_LogsRecordsAndGoesOn()
    {
        using var directory = new TempDirectory();
        var cluster = new FakeCluster(3, 1500) { ReadFailure = "no node answered KV.RING: 127.0.0.1:7379 does not answer" };
        var log = new StringWriter();
        var statusFile = Path.Combine(directory.Path, AutoscaleStatus.FileName);
        var loop = new AutoscaleLoop(new AutoscalePolicy(Settings), cluster, cluster, new ManualTimeProvider(), log, statusFile, dryRun: false);

        var decision = await loop.StepAsync(CancellationToken.None);
        var recorded = AutoscaleStatus.TryRead(statusFile);
        cluster.ReadFailure = null;
        var next = await loop.StepAsync(CancellationToken.None);

        Assert.Null(decision);
        Assert.Equal("Error", recorded?.Decision);
        Assert.NotNull(next);
        Assert.Contains("autoscale: Error: no node answered KV.RING", log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StepAsync_ProviderFails_LoggedAndTheCooldownStarts()
    {
        var cluster = new FakeCluster(3, 1500) { ChangeFailure = "node4 exited with code 1 before answering PING" };
        var clock = new ManualTimeProvider();
        var log = new StringWriter();
        var loop = new AutoscaleLoop(new AutoscalePolicy(Settings with { Window = TimeSpan.Zero }), cluster, cluster, clock, log, null, dryRun: false);

        await loop.StepAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(1));
        var after = await loop.StepAsync(CancellationToken.None);

        Assert.Contains("ScaleOut 1 failed: node4 exited with code 1", log.ToString(), StringComparison.Ordinal);
        Assert.Contains("cooldown", after!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_MaxRuntime_StopsByItself()
    {
        var cluster = new FakeCluster(3, 500);
        var log = new StringWriter();
        var loop = new AutoscaleLoop(new AutoscalePolicy(Settings), cluster, cluster, TimeProvider.System, log, null, dryRun: false);

        await loop.RunAsync(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(300), TestContext.Current.CancellationToken);

        Assert.True(loop.Steps >= 1);
        Assert.Contains("autoscale: --max-runtime reached after", log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_Cancelled_Stops()
    {
        var cluster = new FakeCluster(3, 500);
        var log = new StringWriter();
        var loop = new AutoscaleLoop(new AutoscalePolicy(Settings), cluster, cluster, TimeProvider.System, log, null, dryRun: false);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await loop.RunAsync(TimeSpan.FromMilliseconds(20), null, cancel.Token);

        Assert.Contains("autoscale: stopped after", log.ToString(), StringComparison.Ordinal);
    }
}
