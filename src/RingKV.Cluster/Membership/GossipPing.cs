using System;

namespace RingKV.Cluster.Membership;

/// <summary>A heartbeat sent every round to every known peer that has not left; the peer answers with a <see cref="GossipPong"/>.</summary>
/// <remarks>
/// Carries the sender's heartbeat part, so a peer it can reach learns its suspicions within a round, not after gossip
/// relays them. Receiving a ping feeds no failure detector: the evidence is the pong coming back (see <see cref="Gossiper"/>).
/// </remarks>
internal sealed class GossipPing : GossipMessage
{
    /// <summary>A ping from <paramref name="heartbeat"/>'s node, listening on <paramref name="fromAddress"/>.</summary>
    public GossipPing(HeartbeatUpdate heartbeat, string fromAddress, long sentAtTicks)
        : base((heartbeat ?? throw new ArgumentNullException(nameof(heartbeat))).Node, fromAddress)
    {
        Heartbeat = heartbeat;
        SentAtTicks = sentAtTicks;
    }

    /// <inheritdoc/>
    public override GossipMessageKind Kind => GossipMessageKind.Ping;

    /// <summary>The sender's heartbeat part.</summary>
    public HeartbeatUpdate Heartbeat { get; }

    /// <summary>The sender's clock when it sent the ping (UTC ticks), echoed by the pong; opaque to the receiver.</summary>
    public long SentAtTicks { get; }
}
