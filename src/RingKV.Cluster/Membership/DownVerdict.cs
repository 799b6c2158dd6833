using System.Collections.Immutable;
using System.Text;

namespace RingKV.Cluster.Membership;

/// <summary>The result of <see cref="DownConsensus.Evaluate"/>: for each suspected node, how many distinct observers currently report it.</summary>
/// <remarks>Immutable. Sorted by node id; lookups are binary searches.</remarks>
internal sealed class DownVerdict
{
    private readonly ImmutableArray<(NodeId Node, int Observers)> _counts;

    internal DownVerdict(ImmutableArray<(NodeId Node, int Observers)> counts)
    {
        _counts = counts;
    }

    /// <summary>A verdict in which no node is suspected.</summary>
    public static DownVerdict Empty { get; } = new([]);

    /// <summary>Every node some current report names, with its observer count, ascending by node.</summary>
    public ImmutableArray<(NodeId Node, int Observers)> Counts => _counts;

    /// <summary>How many distinct observers (the node itself excluded) currently report <paramref name="node"/>.</summary>
    public int ObserversOf(NodeId node)
    {
        int lo = 0, hi = _counts.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var c = _counts[mid].Node.CompareTo(node);
            if (c == 0)
            {
                return _counts[mid].Observers;
            }

            if (c < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return 0;
    }

    /// <summary>Whether <paramref name="node"/> is DOWN for the cluster: at least <see cref="DownConsensus.RequiredObservers"/> observers report it.</summary>
    public bool IsDown(NodeId node) => ObserversOf(node) >= DownConsensus.RequiredObservers;

    /// <inheritdoc/>
    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var (node, observers) in _counts)
        {
            text.Append(text.Length == 0 ? "" : ", ").Append(node).Append(':').Append(observers);
        }

        return text.ToString();
    }
}
