using System;
using System.Collections.Generic;
using RingKV.System.Tests.Chaos;
using Xunit;

namespace RingKV.System.Tests;

/// <summary>The chaos checker on synthetic histories: it must catch what it is there to catch.</summary>
public sealed class HistoryCheckerTests
{
    [Fact]
    public void Check_CleanHistory_Passes()
    {
        var history = new List<Operation>
        {
            Write("a", "va", 0, 10, Outcome.Ok),
            Read("a", null, 5, 8),   // concurrent with the write: nil is allowed
            Read("a", "va", 11, 12),
            Write("b", "vb", 20, 30, Outcome.Unknown),
            Read("b", null, 31, 32),  // unknown outcome: absent is allowed
            Write("c", "vc", 40, 41, Outcome.Unknown),
            Write("d", "vd", 50, 51, Outcome.Fail, "UNAVAILABLE QUORUM needs 2, 1 alive"),
            Read("d", null, 52, 53, Outcome.Fail),
        };
        var finals = Finals(("a", "va"), ("b", null), ("c", "vc"), ("d", null));

        var result = HistoryChecker.Check(history, finals);

        Assert.True(result.Passed);
        Assert.Equal((1, 1, 2), (result.WritesOk, result.WritesFailed, result.WritesUnknown));
        Assert.Equal((3, 1, 0), (result.ReadsOk, result.ReadsFailed, result.ReadsUnknown));
        Assert.Equal(1, result.UnknownWritesPresent);
        Assert.Empty(result.FailedWritesPresent);
    }

    [Fact]
    public void Check_OneLostAcknowledgedWriteAndOneStaleRead_FindsBoth()
    {
        var history = new List<Operation>
        {
            Write("kept", "v1", 0, 10, Outcome.Ok),
            Write("lost", "v2", 0, 10, Outcome.Ok),
            Write("stale", "v3", 20, 25, Outcome.Ok),
            Read("stale", null, 26, 27), // sent after the write was acknowledged: nil is stale
            Read("stale", "v3", 28, 29),
        };
        var finals = Finals(("kept", "v1"), ("lost", null), ("stale", "v3"));

        var result = HistoryChecker.Check(history, finals);

        Assert.False(result.Passed);
        var lost = Assert.Single(result.LostWrites);
        Assert.Equal(("lost", "v2"), (lost.Key, lost.Expected));
        var stale = Assert.Single(result.StaleReads);
        Assert.Equal(("stale", "v3"), (stale.Key, stale.Expected));
        Assert.Empty(result.WrongValues);
    }

    [Fact]
    public void Check_AcknowledgedWriteWhoseFinalReadFails_CountsAsLost()
    {
        var history = new List<Operation> { Write("a", "va", 0, 1, Outcome.Ok) };
        var finals = new Dictionary<string, FinalRead> { ["a"] = new FinalRead(null, "TIMEOUT QUORUM replied 1 of 2") };

        var result = HistoryChecker.Check(history, finals);

        Assert.Single(result.LostWrites);
        Assert.False(result.Passed);
    }

    [Fact]
    public void Check_AcknowledgedWriteNeverReadAtTheEnd_CountsAsLost()
    {
        var result = HistoryChecker.Check([Write("a", "va", 0, 1, Outcome.Ok)], Finals());

        Assert.Single(result.LostWrites);
    }

    [Fact]
    public void Check_UnknownWriteReadBackWithAnotherValue_IsAWrongValue()
    {
        var history = new List<Operation>
        {
            Write("a", "va", 0, 10, Outcome.Unknown),
            Read("a", "other", 11, 12),
        };

        var result = HistoryChecker.Check(history, Finals(("a", "also-other")));

        Assert.Equal(2, result.WrongValues.Count);
        Assert.False(result.Passed);
    }

    [Fact]
    public void Check_ReadOfAKeyNeverWritten_ReturningAValue_IsAWrongValue()
    {
        var result = HistoryChecker.Check([Read("ghost", "boo", 0, 1)], Finals());

        Assert.Single(result.WrongValues);
    }

    [Fact]
    public void Check_FailedWritePresentAtTheEnd_IsReportedNotFailed()
    {
        var history = new List<Operation> { Write("a", "va", 0, 1, Outcome.Fail, "UNAVAILABLE the write's coordinating replica: x is not reachable") };

        var result = HistoryChecker.Check(history, Finals(("a", "va")));

        Assert.True(result.Passed);
        Assert.Single(result.FailedWritesPresent);
    }

    [Fact]
    public void Check_RefusedWritePresentAtTheEnd_IsAViolation()
    {
        var history = new List<Operation>
        {
            Write("a", "va", 0, 1, Outcome.Fail, "RedisServerException: ERR UNAVAILABLE QUORUM needs 2, 1 alive"),
            Write("b", "vb", 0, 1, Outcome.Fail, "RedisServerException: UNAVAILABLE QUORUM needs 2, 1 alive"),
        };

        var result = HistoryChecker.Check(history, Finals(("a", "va"), ("b", null)));

        var refused = Assert.Single(result.RefusedWritesPresent);
        Assert.Equal("a", refused.Key);
        Assert.False(result.Passed);
    }

    [Theory]
    [InlineData("UNAVAILABLE QUORUM needs 2, 1 alive", true)]
    [InlineData("RedisServerException: ERR UNAVAILABLE LOCAL_QUORUM needs 2, 0 alive", true)]
    [InlineData("UNAVAILABLE the write's coordinating replica: 127.0.0.1:1 is not reachable (NotConnected)", false)]
    [InlineData("ERR write failed at QUORUM: acked 0 of 2; 127.0.0.1:1 is not reachable (NotConnected)", false)]
    [InlineData(null, false)]
    public void IsRefusal_OnlyTheQuorumCheckBeforeSending(string? error, bool refusal) =>
        Assert.Equal(refusal, HistoryChecker.IsRefusal(error));

    [Fact]
    public void Check_KeyWrittenTwice_IsRefused() =>
        Assert.Throws<ArgumentException>(() => HistoryChecker.Check([Write("a", "1", 0, 1, Outcome.Ok), Write("a", "2", 2, 3, Outcome.Ok)], Finals()));

    private static Operation Write(string key, string value, int invokedMs, int completedMs, Outcome outcome, string? error = null) =>
        new(0, 0, OperationKind.Write, key, value, TimeSpan.FromMilliseconds(invokedMs), TimeSpan.FromMilliseconds(completedMs), outcome, error);

    private static Operation Read(string key, string? value, int invokedMs, int completedMs, Outcome outcome = Outcome.Ok) =>
        new(1, 1, OperationKind.Read, key, value, TimeSpan.FromMilliseconds(invokedMs), TimeSpan.FromMilliseconds(completedMs), outcome);

    private static Dictionary<string, FinalRead> Finals(params (string Key, string? Value)[] reads)
    {
        var finals = new Dictionary<string, FinalRead>(StringComparer.Ordinal);
        foreach (var (key, value) in reads)
        {
            finals[key] = new FinalRead(value);
        }

        return finals;
    }
}
