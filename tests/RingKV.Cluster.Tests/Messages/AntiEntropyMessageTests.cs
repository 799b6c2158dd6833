using System;
using System.Buffers;
using RingKV.Cluster.Messages;
using Xunit;

namespace RingKV.Cluster.Tests.Messages;

public sealed class AntiEntropyMessageTests
{
    private static readonly ScanEntry[] Entries =
    [
        new("a"u8.ToArray(), new ReplicaRecord([1, 2, 3], 0)),
        new("tomb"u8.ToArray(), new ReplicaRecord([9], 1_900_000_000_000)),
    ];

    public static TheoryData<string> Kinds => ["roots", "rootsReply", "descend", "descendReply", "push", "pushReply"];

    private static ClusterMessage Sample(string kind) => kind switch
    {
        "roots" => new AntiEntropyRootsRequest(7, [new AntiEntropyRange(0, ulong.MaxValue, 100_000), new AntiEntropyRange(5, 5, 0)]),
        "rootsReply" => new AntiEntropyRootsReply(7, ReplicaStatus.Ok, [new AntiEntropyRoot(15, 0xDEADBEEF, 99_999), new AntiEntropyRoot(0, 0, 0)], ""),
        "descend" => new AntiEntropyDescendRequest(8, 7, [new AntiEntropyDescent(0, 4, 4, [0, 3, 15]), new AntiEntropyDescent(1, 0, 2, [0])]),
        "descendReply" => new AntiEntropyDescendReply(8, ReplicaStatus.Error, [1UL, ulong.MaxValue, 0], "no session 7"),
        "push" => new AntiEntropyPushRequest(9, 7, [new AntiEntropyLeaves(0, [3, 1 << 19]), new AntiEntropyLeaves(1, [])], Entries),
        _ => new AntiEntropyPushReply(9, ReplicaStatus.Ok, 2, Entries, ""),
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void AntiEntropyMessage_RoundTrip_SameBytesAndKind(string kind)
    {
        var message = Sample(kind);
        var bytes = Encode(message);
        Assert.True(MessageCodec.TryDecode(message.Kind, bytes, out var decoded, out var error), error);
        Assert.Equal(message.GetType(), decoded.GetType());
        Assert.Equal(message.RequestId, decoded.RequestId);
        Assert.Equal(bytes, Encode(decoded));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void AntiEntropyMessage_CutAtEveryOffsetOrExtended_RefusedWithAReason(string kind)
    {
        var message = Sample(kind);
        var bytes = Encode(message);
        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.False(MessageCodec.TryDecode(message.Kind, bytes.AsSpan(0, length), out _, out var error), $"cut at {length}");
            Assert.NotEmpty(error);
        }

        Assert.False(MessageCodec.TryDecode(message.Kind, [.. bytes, 0], out _, out var extra));
        Assert.Contains("past its end", extra, StringComparison.Ordinal);
    }

    [Fact]
    public void AntiEntropyMessages_OutsideATree_Refused()
    {
        // A root deeper than the deepest tree.
        Assert.False(TryDecode(new AntiEntropyRootsReply(1, ReplicaStatus.Ok, [new AntiEntropyRoot(21, 0, 0)])));
        // A step node not below 2^level, a step past the deepest level, a step of no levels.
        Assert.False(TryDecode(new AntiEntropyDescendRequest(1, 1, [new AntiEntropyDescent(0, 2, 1, [4])])));
        Assert.False(TryDecode(new AntiEntropyDescendRequest(1, 1, [new AntiEntropyDescent(0, 18, 3, [0])])));
        Assert.False(TryDecode(new AntiEntropyDescendRequest(1, 1, [new AntiEntropyDescent(0, 2, 0, [0])])));
        // A leaf not below 2^20, a wrapping range.
        Assert.False(TryDecode(new AntiEntropyPushRequest(1, 1, [new AntiEntropyLeaves(0, [1 << 20])], [])));
        Assert.False(TryDecode(new AntiEntropyRootsRequest(1, [new AntiEntropyRange(6, 5, 0)])));
        Assert.True(TryDecode(new AntiEntropyDescendRequest(1, 1, [new AntiEntropyDescent(0, 2, 1, [3])])));
    }

    private static bool TryDecode(ClusterMessage message) => MessageCodec.TryDecode(message.Kind, Encode(message), out _, out _);

    private static byte[] Encode(ClusterMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        MessageCodec.Encode(message, buffer);
        return buffer.WrittenSpan.ToArray();
    }
}
