using System;
using System.Buffers;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Consistency;
using RingKV.Core.Versioning;
using Xunit;

namespace RingKV.Cluster.Tests.Messages;

public sealed class MessageCodecTests
{
    [Fact]
    public void WireEnums_Values_NeverRenumbered()
    {
        Assert.Equal(
            [(16, "ReplicaRead"), (17, "ReplicaReadReply"), (18, "ReplicaWrite"), (19, "ReplicaWriteReply"), (20, "ReplicaScan"), (21, "ReplicaScanReply"),
             (22, "ReplicaCount"), (23, "ReplicaCountReply"), (24, "ReplicaFlush"), (25, "ReplicaFlushReply"), (26, "CoordinateWrite"), (27, "CoordinateWriteReply"),
             (28, "HintedWrite"), (29, "HintedRead"), (32, "Membership"), (40, "AntiEntropyRoots"), (41, "AntiEntropyRootsReply"), (42, "AntiEntropyDescend"), (43, "AntiEntropyDescendReply"),
             (44, "AntiEntropyPush"), (45, "AntiEntropyPushReply"), (50, "StreamPage"), (51, "StreamPageReply"), (52, "StreamProgress"), (53, "StreamProgressReply")],
            Array.ConvertAll(Enum.GetValues<MessageKind>(), k => ((int)k, k.ToString())));
        Assert.Equal([(0, "Ok"), (1, "Error"), (2, "Busy")], Array.ConvertAll(Enum.GetValues<ReplicaStatus>(), s => ((int)s, s.ToString())));
        Assert.Equal([(0, "Ok"), (1, "Unavailable"), (2, "Timeout"), (3, "Busy"), (4, "Error")], Array.ConvertAll(Enum.GetValues<ClientStatus>(), s => ((int)s, s.ToString())));
        Assert.Equal([(0, "PlainPut"), (1, "PlainDelete"), (2, "VersionedPut"), (3, "VersionedDelete"), (4, "Increment")], Array.ConvertAll(Enum.GetValues<WriteOperation>(), s => ((int)s, s.ToString())));
    }

    public static TheoryData<string> Levels => ["ONE", "TWO", "THREE", "QUORUM", "LOCAL_QUORUM", "EACH_QUORUM", "ALL", "5"];

    [Theory]
    [MemberData(nameof(Levels))]
    public void CoordinateWrite_RoundTrip_SameMessage(string level)
    {
        Assert.True(ConsistencyLevel.TryParse(level, out var consistency));
        var context = VersionVector.FromEntries([new VersionVectorEntry(7, 40, 0), new VersionVectorEntry(9, 3, 0)]);
        var message = new CoordinateWriteRequest(12345, "key"u8.ToArray(), WriteOperation.VersionedPut, "value"u8.ToArray(), context, consistency);

        Assert.Equal(message, RoundTrip(message));
        var delete = message with { Write = WriteOperation.VersionedDelete, Value = [], Context = VersionVector.Empty };
        Assert.Equal(delete, RoundTrip(delete));
        var increment = message with { Write = WriteOperation.Increment, Value = ClientRequest.Increment(0, "key"u8.ToArray(), -5, new ReplicaRecord([2, 0, 0, 0, 0], 77)).Value, Context = VersionVector.Empty };
        Assert.Equal(increment, RoundTrip(increment));
    }

    [Fact]
    public void StreamMessages_RoundTrip_SameMessage()
    {
        Assert.Equal(new StreamPageRequest(7, 10, ulong.MaxValue, 1024), RoundTrip(new StreamPageRequest(7, 10, ulong.MaxValue, 1024)));
        Assert.Equal(new StreamProgressRequest(8, 0xDEADBEEF), RoundTrip(new StreamProgressRequest(8, 0xDEADBEEF)));
        Assert.Equal(new StreamProgressReply(9, 0xDEADBEEF, 40, 12, 317, 123_456_789), RoundTrip(new StreamProgressReply(9, 0xDEADBEEF, 40, 12, 317, 123_456_789)));
        var page = new StreamPageReply(10, ReplicaStatus.Ok, [new ScanEntry([1, 2, 3], new ReplicaRecord([4, 5], 99))], Complete: false, Next: 42);
        var back = Assert.IsType<StreamPageReply>(RoundTrip(page));
        Assert.Equal((page.Status, page.Complete, page.Next), (back.Status, back.Complete, back.Next));
        Assert.Equal([1, 2, 3], Assert.Single(back.Entries).Key);
        Assert.Equal([4, 5], back.Entries[0].Record.Set);
        Assert.Equal(99, back.Entries[0].Record.ExpiresAtUnixMs);
    }

    [Fact]
    public void StreamProgressReply_DoneAboveTotalOrPermilleAboveAThousand_IsRefused()
    {
        var bad = Encode(new StreamProgressReply(9, 1, 2, 3, 5, 0));
        Assert.False(MessageCodec.TryDecode(MessageKind.StreamProgressReply, bad, out _, out _));
        bad = Encode(new StreamProgressReply(9, 1, 2, 2, 1001, 0));
        Assert.False(MessageCodec.TryDecode(MessageKind.StreamProgressReply, bad, out _, out _));
    }

    [Fact]
    public void CoordinateWriteReply_RoundTrip_SameMessage()
    {
        foreach (var status in Enum.GetValues<ClientStatus>())
        {
            var reply = new CoordinateWriteReply(99, status, status == ClientStatus.Ok ? "" : "TIMEOUT QUORUM acked 1 of 2");
            Assert.Equal(reply, RoundTrip(reply));
        }

        // An Ok answer before every replica replied, and a late acknowledgement's update.
        Assert.Equal(new CoordinateWriteReply(7, ClientStatus.Ok, "12", 2, Final: false), RoundTrip(new CoordinateWriteReply(7, ClientStatus.Ok, "12", 2, Final: false)));
        Assert.Equal(new CoordinateWriteReply(7, ClientStatus.Ok, "", 3), RoundTrip(new CoordinateWriteReply(7, ClientStatus.Ok, "", 3)));
    }

    [Fact]
    public void CoordinateWrite_CutAtEveryOffsetOrExtended_RefusedWithAReason()
    {
        var bytes = Encode(new CoordinateWriteRequest(1, "key"u8.ToArray(), WriteOperation.VersionedPut, "v"u8.ToArray(), VersionVector.FromEntries([new VersionVectorEntry(7, 40, 0)]), ConsistencyLevel.Quorum));
        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.False(MessageCodec.TryDecode(MessageKind.CoordinateWrite, bytes.AsSpan(0, length), out _, out var error));
            Assert.NotEmpty(error);
        }

        Assert.False(MessageCodec.TryDecode(MessageKind.CoordinateWrite, [.. bytes, 0], out _, out var extra));
        Assert.Contains("past its end", extra, StringComparison.Ordinal);
    }

    [Fact]
    public void CoordinateWrite_PlainWriteOrContextOfAnotherKey_Refused()
    {
        var plain = Encode(new CoordinateWriteRequest(1, "key"u8.ToArray(), WriteOperation.PlainPut, "v"u8.ToArray(), VersionVector.Empty, ConsistencyLevel.One));
        Assert.False(MessageCodec.TryDecode(MessageKind.CoordinateWrite, plain, out _, out var error));
        Assert.Contains("only versioned writes", error, StringComparison.Ordinal);

        // The context carries the tag of the key it was encoded for: swap the key for another of the same length.
        var bytes = Encode(new CoordinateWriteRequest(1, "key"u8.ToArray(), WriteOperation.VersionedPut, "v"u8.ToArray(), VersionVector.Empty, ConsistencyLevel.One));
        var at = bytes.AsSpan().IndexOf("key"u8);
        "kez"u8.CopyTo(bytes.AsSpan(at));
        Assert.False(MessageCodec.TryDecode(MessageKind.CoordinateWrite, bytes, out _, out error));
        Assert.Contains("another key", error, StringComparison.Ordinal);
    }

    [Fact]
    public void CoordinateWriteReply_UnknownStatus_Refused()
    {
        var bytes = Encode(new CoordinateWriteReply(1, ClientStatus.Error, "x"));
        bytes[1] = 5; // after the one-byte request id
        Assert.False(MessageCodec.TryDecode(MessageKind.CoordinateWriteReply, bytes, out _, out _));
    }

    private static byte[] Encode(ClusterMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        MessageCodec.Encode(message, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    private static ClusterMessage RoundTrip(ClusterMessage message)
    {
        Assert.True(MessageCodec.TryDecode(message.Kind, Encode(message), out var decoded, out var error), error);
        return decoded;
    }
}
