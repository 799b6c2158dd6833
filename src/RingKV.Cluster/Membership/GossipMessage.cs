using System;
using System.Text;

namespace RingKV.Cluster.Membership;

/// <summary>A membership message: one of <see cref="GossipPing"/>, <see cref="GossipPong"/>, <see cref="GossipSyn"/>, <see cref="GossipAck"/>, <see cref="GossipAck2"/>.</summary>
/// <remarks>
/// Immutable. Every message names its sender and the peer address it listens on, so the receiver can answer a node it
/// does not know yet (a joining node, a seed's first contact) and the transport needs no identity of its own to route
/// gossip. That the sender is who it claims is the transport's business (cluster secret or mutual TLS).
/// </remarks>
internal abstract class GossipMessage
{
    private protected GossipMessage(NodeId from, string fromAddress)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(from.Name, nameof(from));
        ArgumentException.ThrowIfNullOrEmpty(fromAddress);
        CheckLength(from.Name, nameof(from));
        CheckLength(fromAddress, nameof(fromAddress));
        From = from;
        FromAddress = fromAddress;
    }

    /// <summary>The kind, as on the wire.</summary>
    public abstract GossipMessageKind Kind { get; }

    /// <summary>The sender.</summary>
    public NodeId From { get; }

    /// <summary>The sender's peer address, "host:port": where answers go.</summary>
    public string FromAddress { get; }

    /// <summary>Throws unless <paramref name="value"/> fits the codec's string limit.</summary>
    private protected static void CheckLength(string value, string name)
    {
        if (Encoding.UTF8.GetByteCount(value) > GossipCodec.MaxStringBytes)
        {
            throw new ArgumentException($"{name} is longer than {GossipCodec.MaxStringBytes} UTF-8 bytes", name);
        }
    }

    /// <summary>Throws unless <paramref name="count"/> fits the codec's per-message node limit.</summary>
    private protected static void CheckCount(int count, string name)
        => ArgumentOutOfRangeException.ThrowIfGreaterThan(count, GossipCodec.MaxNodes, name);
}
