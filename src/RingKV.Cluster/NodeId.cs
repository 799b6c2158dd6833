using System;
using System.IO.Hashing;
using System.Text;

namespace RingKV.Cluster;

/// <summary>A node's name in the cluster (<c>--node-id</c>); ordered by ordinal comparison, so decisions that sort nodes are deterministic.</summary>
/// <remarks>
/// <see cref="Actor"/> is the node's actor in version vectors: the XxHash64 of the name's UTF-8 bytes, as the single node
/// computed it, so data written before a node joined a cluster keeps its dots.
/// </remarks>
internal readonly record struct NodeId : IComparable<NodeId>
{
    public NodeId(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        Actor = XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(name));
    }

    /// <summary>The name.</summary>
    public string Name { get; }

    /// <summary>The node's actor id in dots and version vectors.</summary>
    public ulong Actor { get; }

    /// <inheritdoc/>
    public int CompareTo(NodeId other) => string.CompareOrdinal(Name, other.Name);

    /// <inheritdoc/>
    public bool Equals(NodeId other) => string.Equals(Name, other.Name, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Name ?? "");

    /// <inheritdoc/>
    public override string ToString() => Name;

    public static bool operator <(NodeId left, NodeId right) => left.CompareTo(right) < 0;

    public static bool operator >(NodeId left, NodeId right) => left.CompareTo(right) > 0;

    public static bool operator <=(NodeId left, NodeId right) => left.CompareTo(right) <= 0;

    public static bool operator >=(NodeId left, NodeId right) => left.CompareTo(right) >= 0;
}
