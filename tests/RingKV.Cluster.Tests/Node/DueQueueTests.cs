using System.Collections.Generic;
using RingKV.Cluster.Coordination;
using Xunit;

namespace RingKV.Cluster.Tests.Node;

public sealed class DueQueueTests
{
    [Fact]
    public void TryTakeDue_IdsAddedWithGrowingDues_TakenInOrderOnlyOnceDue()
    {
        var queue = new DueQueue<ulong>();
        queue.Add(1, 100);
        queue.Add(2, 100);
        queue.Add(3, 250);

        Assert.False(queue.TryTakeDue(99, out _));
        Assert.Equal([1UL, 2UL], TakeAll(queue, 200));
        Assert.Equal(1, queue.Count);
        Assert.Equal([3UL], TakeAll(queue, 250));
    }

    [Fact]
    public void Add_DueBelowTheLastOne_NeverDueBeforeAnEarlierId()
    {
        // The clock stepped back between the two: the second is held to the first's due, not taken ahead of it.
        var queue = new DueQueue<ulong>();
        queue.Add(1, 500);
        queue.Add(2, 300);

        Assert.Empty(TakeAll(queue, 400));
        Assert.Equal([1UL, 2UL], TakeAll(queue, 500));
    }

    private static List<ulong> TakeAll(DueQueue<ulong> queue, long now)
    {
        var ids = new List<ulong>();
        while (queue.TryTakeDue(now, out var id))
        {
            ids.Add(id);
        }

        return ids;
    }
}
