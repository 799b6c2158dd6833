using System;

namespace RingKV.Cluster.Membership;

/// <summary>The answer to a <see cref="GossipPing"/>: direct evidence, for the pinger, that the sender is alive and reachable both ways.</summary>
internal sealed class GossipPong : GossipMessage
{
    /// <summary>A pong from <paramref name="heartbeat"/>'s node echoing the ping's <paramref name="echoSentAtTicks"/>.</summary>
    public GossipPong(HeartbeatUpdate heartbeat, string fromAddress, long echoSentAtTicks)
        : base((heartbeat ?? throw new ArgumentNullException(nameof(heartbeat))).Node, fromAddress)
    {
        Heartbeat = heartbeat;
        EchoSentAtTicks = echoSentAtTicks;
    }

    /// <inheritdoc/>
    public override GossipMessageKind Kind => GossipMessageKind.Pong;

    /// <summary>The sender's heartbeat part.</summary>
    public HeartbeatUpdate Heartbeat { get; }

    /// <summary>The <see cref="GossipPing.SentAtTicks"/> of the ping this answers.</summary>
    public long EchoSentAtTicks { get; }
}
