using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Text.Json;
using RingKV.Cluster;
using RingKV.Cluster.Membership;
using RingKV.Core.Errors;

namespace RingKV.Server.Cluster;

/// <summary>What a cluster node must remember across restarts.</summary>
/// <param name="Generation">The last run's incarnation; the next run takes a higher one.</param>
/// <param name="Tokens">The node's tokens on the ring (empty before it first joined).</param>
/// <param name="ClockLeaseUnixMs">No stamp the node issued is at or above this: a restart starts its clock here.</param>
/// <param name="Members">The ring members the node routed by (a restarted node routes by them until gossip tells it better).</param>
/// <param name="State">The node's state with its tokens (a joiner or leaver resumes its change; a node that left does not start again).</param>
internal sealed record PersistedNodeState(ulong Generation, ImmutableArray<ulong> Tokens, long ClockLeaseUnixMs, IReadOnlyList<KnownMember> Members, NodeState State = NodeState.Normal)
{
    public static PersistedNodeState None { get; } = new(0, [], 0, []);
}

/// <summary><c>cluster-state.json</c> in the data directory, replaced whole (<see cref="DurableFile"/>).</summary>
internal sealed class NodeStateFile(string directory)
{
    public string Path { get; } = System.IO.Path.Combine(directory, "cluster-state.json");

    public PersistedNodeState Load()
    {
        if (!File.Exists(Path))
        {
            return PersistedNodeState.None;
        }

        try
        {
            var file = JsonSerializer.Deserialize<StateJson>(File.ReadAllText(Path)) ?? throw new JsonException("empty");
            var members = (file.Members ?? []).Select(m => new KnownMember(new NodeId(m.Id), m.Peer, m.Dc, m.Rack, m.Capacity, [.. m.Tokens ?? []])).ToList();
            var state = string.IsNullOrEmpty(file.State) ? NodeState.Normal
                : Enum.TryParse<NodeState>(file.State, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) ? parsed
                : throw new JsonException($"state '{file.State}' is not a node state");
            return new PersistedNodeState(file.Generation, [.. file.Tokens ?? []], file.ClockLeaseUnixMs, members, state);
        }
        catch (JsonException e)
        {
            throw new RingKVException(ErrorCode.Corruption, $"{Path} is damaged ({e.Message}); it holds the node's tokens and generation, so the node will not guess them: restore it or start with a new data directory");
        }
    }

    public void Save(PersistedNodeState state)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new StateJson
        {
            Generation = state.Generation,
            Tokens = [.. state.Tokens.IsDefault ? [] : state.Tokens],
            ClockLeaseUnixMs = state.ClockLeaseUnixMs,
            State = state.State.ToString().ToUpperInvariant(),
            Members = [.. state.Members.Select(m => new MemberJson { Id = m.Id.Name, Peer = m.PeerAddress, Dc = m.DataCenter, Rack = m.Rack, Capacity = m.Capacity, Tokens = [.. m.Tokens] })],
        });
        DurableFile.Replace(Path, json);
    }

    private sealed class StateJson
    {
        public ulong Generation { get; set; }

        public ulong[]? Tokens { get; set; }

        public long ClockLeaseUnixMs { get; set; }

        public string? State { get; set; }

        public MemberJson[]? Members { get; set; }
    }

    private sealed class MemberJson
    {
        public string Id { get; set; } = "";

        public string Peer { get; set; } = "";

        public string Dc { get; set; } = "";

        public string Rack { get; set; } = "";

        public uint Capacity { get; set; } = 1;

        public ulong[]? Tokens { get; set; }
    }
}
