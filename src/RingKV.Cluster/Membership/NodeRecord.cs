using System;
using System.Collections.Immutable;
using System.Text;

namespace RingKV.Cluster.Membership;

/// <summary>Everything a node gossips about itself: identity, incarnation, state, tokens, placement, addresses, load and suspicions.</summary>
/// <remarks>
/// Immutable; equal when every field is. Records of one node are ordered by (<see cref="Generation"/>,
/// <see cref="Version"/>): gossip keeps the greatest, so a restarted node, whose host gives it a higher generation, wins
/// over everything its earlier incarnation said.
/// Two parts change at different rates. The description (state, tokens, data center, rack, capacity, addresses) changes
/// rarely and is stamped with <see cref="StateVersion"/>, the version of its last change; the heartbeat part
/// (<see cref="Load"/>, <see cref="Suspects"/>) changes every round and travels as a small <see cref="HeartbeatUpdate"/>
/// when the receiver already holds the current description.
/// Invariants: (1) <see cref="Generation"/> &gt;= 1; (2) 1 &lt;= <see cref="StateVersion"/> &lt;= <see cref="Version"/>;
/// (3) <see cref="Suspects"/> is strictly ascending and never names <see cref="Id"/>; (4) every string fits the codec's
/// limits and the addresses are not empty, so a constructed record always encodes.
/// </remarks>
internal sealed class NodeRecord : IEquatable<NodeRecord>
{
    /// <summary>A record with every field given. Requires: the invariants above (else <see cref="ArgumentException"/>).</summary>
    public NodeRecord(
        NodeId id,
        ulong generation,
        ulong version,
        ulong stateVersion,
        NodeState state,
        ImmutableArray<ulong> tokens,
        string dataCenter,
        string rack,
        uint capacity,
        string clientAddress,
        string peerAddress,
        LoadFigures load,
        ImmutableArray<NodeId> suspects)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id.Name, nameof(id));
        CheckString(id.Name, nameof(id), allowEmpty: false);
        ArgumentOutOfRangeException.ThrowIfZero(generation);
        ArgumentOutOfRangeException.ThrowIfZero(stateVersion);
        ArgumentOutOfRangeException.ThrowIfLessThan(version, stateVersion);
        if (state is < NodeState.Joining or > NodeState.Left)
        {
            throw new ArgumentOutOfRangeException(nameof(state), state, "not a node state");
        }

        tokens = tokens.IsDefault ? [] : tokens;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(tokens.Length, GossipCodec.MaxTokens, nameof(tokens));
        ArgumentNullException.ThrowIfNull(dataCenter);
        ArgumentNullException.ThrowIfNull(rack);
        CheckString(dataCenter, nameof(dataCenter), allowEmpty: true);
        CheckString(rack, nameof(rack), allowEmpty: true);
        CheckString(clientAddress, nameof(clientAddress), allowEmpty: false);
        CheckString(peerAddress, nameof(peerAddress), allowEmpty: false);
        suspects = suspects.IsDefault ? [] : suspects;
        CheckSuspects(id, suspects);

        Id = id;
        Generation = generation;
        Version = version;
        StateVersion = stateVersion;
        State = state;
        Tokens = tokens;
        DataCenter = dataCenter;
        Rack = rack;
        Capacity = capacity;
        ClientAddress = clientAddress;
        PeerAddress = peerAddress;
        Load = load;
        Suspects = suspects;
    }

    /// <summary>The node.</summary>
    public NodeId Id { get; }

    /// <summary>The node's incarnation: higher for each run of its process (the host persists and raises it).</summary>
    public ulong Generation { get; }

    /// <summary>The node's heartbeat version within <see cref="Generation"/>: raised by every gossip round and every change.</summary>
    public ulong Version { get; }

    /// <summary>The <see cref="Version"/> at which the description (state, tokens, placement, capacity, addresses) last changed.</summary>
    public ulong StateVersion { get; }

    /// <summary>The node's life-cycle state.</summary>
    public NodeState State { get; }

    /// <summary>The node's tokens on the ring (its vnodes), in the order the node gave them.</summary>
    public ImmutableArray<ulong> Tokens { get; }

    /// <summary>The node's data center.</summary>
    public string DataCenter { get; }

    /// <summary>The node's rack within its data center.</summary>
    public string Rack { get; }

    /// <summary>The node's relative capacity: its share of vnodes is proportional to it.</summary>
    public uint Capacity { get; }

    /// <summary>Where clients reach the node (RESP), "host:port".</summary>
    public string ClientAddress { get; }

    /// <summary>Where other nodes reach the node (internode frames, gossip), "host:port".</summary>
    public string PeerAddress { get; }

    /// <summary>The node's load figures as of <see cref="Version"/>.</summary>
    public LoadFigures Load { get; }

    /// <summary>The peers the node suspects as of <see cref="Version"/> (its own phi-accrual evidence only), ascending.</summary>
    public ImmutableArray<NodeId> Suspects { get; }

    /// <summary>This record's digest: (node, generation, version).</summary>
    public GossipDigest Digest => new(Id, Generation, Version);

    /// <summary>The heartbeat part of this record, as a <see cref="HeartbeatUpdate"/>.</summary>
    public HeartbeatUpdate Heartbeat => new(Id, Generation, Version, StateVersion, Load, Suspects);

    /// <summary>Whether this record is newer than (<paramref name="generation"/>, <paramref name="version"/>).</summary>
    public bool IsNewerThan(ulong generation, ulong version)
        => Generation > generation || (Generation == generation && Version > version);

    /// <summary>This record with the heartbeat part of <paramref name="update"/>. Requires: same node, generation and state version.</summary>
    public NodeRecord With(HeartbeatUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (update.Node != Id || update.Generation != Generation || update.StateVersion != StateVersion)
        {
            throw new ArgumentException("a heartbeat update applies only to the record of its node, generation and state version", nameof(update));
        }

        return new NodeRecord(Id, Generation, update.Version, StateVersion, State, Tokens, DataCenter, Rack, Capacity, ClientAddress, PeerAddress, update.Load, update.Suspects);
    }

    /// <summary>This record at <paramref name="version"/> with the heartbeat part changed (load, suspects).</summary>
    public NodeRecord WithHeartbeat(ulong version, LoadFigures load, ImmutableArray<NodeId> suspects)
        => new(Id, Generation, version, StateVersion, State, Tokens, DataCenter, Rack, Capacity, ClientAddress, PeerAddress, load, suspects);

    /// <summary>This record at <paramref name="version"/> with a new description (which stamps <see cref="StateVersion"/>).</summary>
    public NodeRecord WithDescription(ulong version, NodeState state, ImmutableArray<ulong> tokens)
        => new(Id, Generation, version, version, state, tokens, DataCenter, Rack, Capacity, ClientAddress, PeerAddress, Load, Suspects);

    /// <inheritdoc/>
    public bool Equals(NodeRecord? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        return other is not null
            && Id == other.Id
            && SameHeartbeatPart(other)
            && SameDescription(other);
    }

    /// <summary>Whether both records have the same description (state, tokens, placement, capacity, addresses) and incarnation.</summary>
    public bool SameDescription(NodeRecord other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Id == other.Id
            && Generation == other.Generation
            && StateVersion == other.StateVersion
            && State == other.State
            && Tokens.AsSpan().SequenceEqual(other.Tokens.AsSpan())
            && string.Equals(DataCenter, other.DataCenter, StringComparison.Ordinal)
            && string.Equals(Rack, other.Rack, StringComparison.Ordinal)
            && Capacity == other.Capacity
            && string.Equals(ClientAddress, other.ClientAddress, StringComparison.Ordinal)
            && string.Equals(PeerAddress, other.PeerAddress, StringComparison.Ordinal);
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is NodeRecord other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Id, Generation, Version, StateVersion, State, Tokens.Length, Load);

    /// <inheritdoc/>
    public override string ToString() => $"{Id} g{Generation} v{Version} (s{StateVersion}) {State} {DataCenter}/{Rack} peer {PeerAddress} client {ClientAddress} tokens {Tokens.Length} suspects [{string.Join(',', Suspects)}]";

    /// <summary>Throws unless <paramref name="suspects"/> is strictly ascending, within the codec's limit, and does not name <paramref name="self"/>.</summary>
    internal static void CheckSuspects(NodeId self, ImmutableArray<NodeId> suspects)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(suspects.Length, GossipCodec.MaxNodes, nameof(suspects));
        for (var i = 0; i < suspects.Length; i++)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(suspects[i].Name, nameof(suspects));
            CheckString(suspects[i].Name, nameof(suspects), allowEmpty: false);
            if (suspects[i] == self)
            {
                throw new ArgumentException($"{self} cannot suspect itself", nameof(suspects));
            }

            if (i > 0 && suspects[i - 1] >= suspects[i])
            {
                throw new ArgumentException("suspects must be strictly ascending", nameof(suspects));
            }
        }
    }

    private bool SameHeartbeatPart(NodeRecord other)
        => Generation == other.Generation
            && Version == other.Version
            && Load == other.Load
            && Suspects.AsSpan().SequenceEqual(other.Suspects.AsSpan());

    private static void CheckString(string value, string name, bool allowEmpty)
    {
        ArgumentNullException.ThrowIfNull(value, name);
        if (!allowEmpty && value.Length == 0)
        {
            throw new ArgumentException($"{name} must not be empty", name);
        }

        if (Encoding.UTF8.GetByteCount(value) > GossipCodec.MaxStringBytes)
        {
            throw new ArgumentException($"{name} is longer than {GossipCodec.MaxStringBytes} UTF-8 bytes", name);
        }
    }
}
