using System;
using RingKV.Cluster.Ring;
using RingKV.Core.Errors;
using RingKV.Core.Hashing;
using Xunit;
using static RingKV.Cluster.Tests.Ring.RingMeasures;

namespace RingKV.Cluster.Tests.Ring;

public sealed class ReplicationSettingsTests
{
    [Fact]
    public void Parse_PerDataCenter_SortsByNameAndReadsBack()
    {
        var settings = ReplicationSettings.Parse("dc2:2,dc1:3");
        Assert.Equal([("dc1", 3), ("dc2", 2)], settings.DataCenters);
        Assert.Equal("dc1:3,dc2:2", settings.ToString());
        Assert.Equal(settings, ReplicationSettings.Parse(settings.ToString()));
        Assert.Equal(settings, ReplicationSettings.Parse("  dc1 : 3 ,  dc2:2 "));
        Assert.Equal(settings, ReplicationSettings.PerDataCenter([("dc2", 2), ("dc1", 3)]));
        Assert.False(settings.IsDefault || settings.IsUniform);
    }

    [Fact]
    public void Parse_BareCountAndDefault_AreUniformAndDefault()
    {
        var uniform = ReplicationSettings.Parse("5");
        Assert.True(uniform.IsUniform);
        Assert.Equal("5", uniform.ToString());
        Assert.Equal(ReplicationSettings.Uniform(5), uniform);
        Assert.Same(ReplicationSettings.Default, ReplicationSettings.Parse("default"));
        Assert.Equal("default", ReplicationSettings.Default.ToString());
        Assert.NotEqual(ReplicationSettings.Uniform(3), ReplicationSettings.Default);
    }

    [Theory]
    [InlineData(null, "replication is empty")]
    [InlineData("", "replication is empty")]
    [InlineData("  ", "replication is empty")]
    [InlineData("three", "is not understood")]
    [InlineData("dc1", "is not understood")]
    [InlineData("0", "must be at least 1, got 0")]
    [InlineData("-2", "must be at least 1, got -2")]
    [InlineData("17", "at most 16")]
    [InlineData("dc1:3,", "empty entry (number 2)")]
    [InlineData(",dc1:3", "empty entry (number 1)")]
    [InlineData("dc1:3,,dc2:2", "empty entry (number 2)")]
    [InlineData("dc1:3,dc2", "'dc2' is not data-center:count")]
    [InlineData("dc1:3:4", "'dc1:3:4' is not data-center:count")]
    [InlineData(":3", "data center name '' is invalid")]
    [InlineData("dc 1:3", "data center name 'dc 1' is invalid")]
    [InlineData("dc1:", "replica count '' is not a whole number")]
    [InlineData("dc1:x", "replica count 'x' is not a whole number")]
    [InlineData("dc1:2.5", "replica count '2.5' is not a whole number")]
    [InlineData("dc1:99999999999", "is not a whole number")]
    [InlineData("dc1:0", "replica count for dc1 must be at least 1, got 0 (leave a data center out")]
    [InlineData("dc1:3,dc2:-1", "replica count for dc2 must be at least 1, got -1")]
    [InlineData("dc1:17", "replica count for dc1 is 17; at most 16")]
    [InlineData("dc1:3,dc2:2,dc1:1", "data center dc1 is listed twice")]
    public void Parse_BadInput_SaysWhatIsWrong(string? text, string expected)
    {
        Assert.False(ReplicationSettings.TryParse(text, out var settings, out var error));
        Assert.Null(settings);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        var thrown = Assert.Throws<RingKVException>(() => ReplicationSettings.Parse(text));
        Assert.Equal(ErrorCode.InvalidArgument, thrown.Code);
        Assert.Equal(error, thrown.Message);
    }

    [Fact]
    public void Builders_BadInput_Throw()
    {
        Assert.Throws<RingKVException>(() => ReplicationSettings.Uniform(0));
        Assert.Throws<RingKVException>(() => ReplicationSettings.PerDataCenter([]));
        Assert.Throws<RingKVException>(() => ReplicationSettings.PerDataCenter([("dc1", 1), ("dc1", 2)]));
        Assert.Throws<RingKVException>(() => ReplicationSettings.PerDataCenter([("dc:1", 1)]));
    }

    [Fact]
    public void ReplicasIn_Default_IsOneOnASingleNodeAndThreePerDataCenterOtherwise()
    {
        var one = TokenRing.Create([(Member("a"), [new Token(1)])]);
        var two = one.With(Member("b", "dc2"), [new Token(2)]);
        Assert.Equal(1, ReplicationSettings.Default.ReplicasIn("dc1", one));
        Assert.Equal(3, ReplicationSettings.Default.ReplicasIn("dc1", two));
        Assert.Equal(3, ReplicationSettings.Default.ReplicasIn("dc2", two));
        Assert.Equal(1, ReplicationSettings.Parse("1").ReplicasIn("dc2", two));
        Assert.Equal(3, ReplicationSettings.Parse("3").ReplicasIn("dc1", one));
    }

    [Fact]
    public void ReplicasIn_PerDataCenter_UnlistedKeepsNoneAndUnknownAreReported()
    {
        var ring = TokenRing.Create([(Member("a", "dc1"), [new Token(1)]), (Member("b", "dc2"), [new Token(2)])]);
        var settings = ReplicationSettings.Parse("dc1:2,dc-typo:3");
        Assert.Equal(2, settings.ReplicasIn("dc1", ring));
        Assert.Equal(0, settings.ReplicasIn("dc2", ring));
        Assert.Equal(["dc-typo"], settings.UnknownDataCenters(ring));
        Assert.Empty(ReplicationSettings.Default.UnknownDataCenters(ring));
    }
}
