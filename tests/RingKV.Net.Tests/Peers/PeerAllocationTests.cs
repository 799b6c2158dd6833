using System;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Net.Peers;
using Xunit;
using static RingKV.Net.Tests.Peers.Peers;

namespace RingKV.Net.Tests.Peers;

/// <summary>Runs alone: it counts the bytes every thread of the process allocates.</summary>
[CollectionDefinition(nameof(ProcessAllocations), DisableParallelization = true)]
public sealed class ProcessAllocations
{
}

/// <summary>Allocation budget (bytes, not time) of the steady-state send and receive path over real sockets.</summary>
[Collection(nameof(ProcessAllocations))]
public sealed class PeerAllocationTests
{
    private const int FramesPerBatch = 16;

    [Fact]
    public async Task RequestReplyLoop_SteadyState_AllocatesNothingPerFrame()
    {
        // A request batch goes A -> B; B answers each frame over its own link B -> A; the test thread waits for the replies.
        using var repliesIn = new ManualResetEventSlim();
        var expectedReplies = 0;
        var replies = 0;
        await using var listenerA = Listen(NodeA, new Handler(batch =>
        {
            if (Interlocked.Add(ref replies, batch.Count) == Volatile.Read(ref expectedReplies))
            {
                repliesIn.Set();
            }
        }));
        PeerLink? linkBA = null;
        await using var listenerB = Listen(NodeB, new Handler(batch =>
        {
            for (var i = 0; i < batch.Count; i++)
            {
                linkBA!.TrySend(17, batch[i].RequestId, batch[i].Payload.Span);
            }

            linkBA!.Flush();
        }));
        linkBA = Link(listenerA, NodeB);
        await using var closeBA = linkBA;
        await using var linkAB = Link(listenerB, NodeA);
        await Wait.UntilAsync(() => linkAB.State == PeerLinkState.Connected && linkBA.State == PeerLinkState.Connected, "both links up");

        var payload = new byte[100];
        ulong requestId = 0;
        void Round(int batches)
        {
            for (var b = 0; b < batches; b++)
            {
                repliesIn.Reset();
                Volatile.Write(ref expectedReplies, Volatile.Read(ref replies) + FramesPerBatch);
                for (var i = 0; i < FramesPerBatch; i++)
                {
                    Assert.True(linkAB.TrySend(16, requestId++, payload));
                }

                linkAB.Flush();
                Assert.True(repliesIn.Wait(Wait.Deadline), "the replies came back");
            }
        }

        // Warm up: buffers grow, the pools fill, the loops tier up.
        Round(500);

        // The fewest bytes of three rounds, over every thread: one allocation per frame would be 24+ bytes times 16,000
        // frames each way; the budget is less than one allocation per ten batches, for the runtime's own (timers, tiering).
        const int Batches = 1_000;
        var allocated = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            Round(Batches);
            allocated = Math.Min(allocated, GC.GetTotalAllocatedBytes(precise: true) - before);
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{allocated} bytes allocated for {Batches * FramesPerBatch} request-reply pairs");
        Assert.True(allocated < Batches * 24 / 10, $"{allocated} bytes allocated for {Batches * FramesPerBatch} request-reply pairs");
        Assert.Equal(0, linkAB.FramesFailed + linkBA.FramesFailed);
    }

    private sealed class Handler(Action<PeerFrameBatch> onBatch) : IPeerFrameHandler
    {
        public ValueTask OnBatchAsync(PeerFrameBatch batch)
        {
            onBatch(batch);
            batch.Release();
            return ValueTask.CompletedTask;
        }
    }
}
