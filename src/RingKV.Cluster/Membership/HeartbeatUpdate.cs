using System;
using System.Collections.Immutable;

namespace RingKV.Cluster.Membership;

/// <summary>The heartbeat part of a node's record (version, load, suspects), sent when the receiver holds the current description.</summary>
/// <remarks>
/// Immutable. A receiver applies it only to a record of the same node, generation and <see cref="StateVersion"/>: had
/// it missed a description change, taking the newer version without the change would hide the change from every later
/// digest exchange (its digest would claim the version that carried it). Invariants as for <see cref="NodeRecord"/>:
/// generation &gt;= 1, 1 &lt;= state version &lt;= version, suspects strictly ascending and not naming the node.
/// </remarks>
internal sealed class HeartbeatUpdate
{
    /// <summary>An update with every field given. Requires: the invariants above (else <see cref="ArgumentException"/>).</summary>
    public HeartbeatUpdate(NodeId node, ulong generation, ulong version, ulong stateVersion, LoadFigures load, ImmutableArray<NodeId> suspects)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(node.Name, nameof(node));
        ArgumentOutOfRangeException.ThrowIfZero(generation);
        ArgumentOutOfRangeException.ThrowIfZero(stateVersion);
        ArgumentOutOfRangeException.ThrowIfLessThan(version, stateVersion);
        suspects = suspects.IsDefault ? [] : suspects;
        NodeRecord.CheckSuspects(node, suspects);
        Node = node;
        Generation = generation;
        Version = version;
        StateVersion = stateVersion;
        Load = load;
        Suspects = suspects;
    }

    /// <summary>The node whose heartbeat this is.</summary>
    public NodeId Node { get; }

    /// <summary>Its generation.</summary>
    public ulong Generation { get; }

    /// <summary>Its heartbeat version.</summary>
    public ulong Version { get; }

    /// <summary>The version of its description this update belongs to.</summary>
    public ulong StateVersion { get; }

    /// <summary>Its load figures.</summary>
    public LoadFigures Load { get; }

    /// <summary>The peers it suspects, ascending.</summary>
    public ImmutableArray<NodeId> Suspects { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Node} g{Generation} v{Version} (s{StateVersion}) suspects [{string.Join(',', Suspects)}]";
}
