using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Cli.Admin;
using RingKV.Cli.Scaling;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Cli.Tests.Scaling;

/// <summary>
/// The local provider reads the cluster.json <c>cluster up</c> writes (<see cref="ClusterManifest"/>) and grows and
/// shrinks through <c>cluster add</c>/<c>remove</c>'s code, so only what it adds is tested here; the real-process
/// scenario is AutoscaleSystemTests.
/// </summary>
public sealed class LocalProcessProviderTests
{
    [Fact]
    public void Create_NoClusterJson_SaysToUseClusterUp()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "local clusters need a POSIX system");
        using var directory = new TempDirectory("ringkv-cli-tests");

        var e = Assert.Throws<FormatException>(() => new LocalProcessProvider(directory.Path, TimeSpan.FromSeconds(1), TextWriter.Null));

        Assert.Contains("written by ringkv cluster up", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_ManifestWithPasswordAndNothingRunning_PasswordKnownNoAddressesListFails()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "local clusters need a POSIX system");
        using var directory = new TempDirectory("ringkv-cli-tests");
        new ClusterManifest(7400, LocalCluster.SharedOptions(3, ["--sync", "none", "--password", "s3cret"]), ["node1", "node2", "node3"], []).Write(directory.Path);

        var provider = new LocalProcessProvider(directory.Path, TimeSpan.FromSeconds(1), TextWriter.Null);

        Assert.Equal("s3cret", provider.Password);
        Assert.Empty(provider.Addresses());
        var e = await Assert.ThrowsAsync<ProviderException>(() => provider.ListAsync(CancellationToken.None));
        Assert.Contains("no node of", e.Message, StringComparison.Ordinal);
    }
}
