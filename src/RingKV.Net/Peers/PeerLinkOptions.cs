using System;
using System.Net;
using RingKV.Core.Errors;

namespace RingKV.Net.Peers;

/// <summary>Settings of an outgoing <see cref="PeerLink"/>.</summary>
internal sealed record PeerLinkOptions
{
    /// <summary>Creates options for a link that introduces itself with <paramref name="local"/>.</summary>
    public PeerLinkOptions(PeerHello local)
    {
        ArgumentNullException.ThrowIfNull(local);
        Local = local;
    }

    /// <summary>This node's hello; the peer must answer with the same cluster name and protocol version.</summary>
    public PeerHello Local { get; init; }

    /// <summary>Most encoded bytes queued and being sent; a frame that would pass it is refused (the caller answers -BUSY).</summary>
    public int MaxQueuedBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>Most encoded bytes <see cref="PeerLink.Send"/> holds while the link makes its first connection (or its first reconnect after a break); past it, not connected.</summary>
    /// <remarks>Small: it only spares the first requests after a start a needless failure; a peer that cannot be reached fails them when the attempt does.</remarks>
    public int MaxHeldBytes { get; init; } = 256 * 1024;

    /// <summary>Longest payload a frame may carry; it must match the peer listener's limit.</summary>
    public int MaxPayloadBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>The source address of the link's connections: the node's own internode address; null lets the OS choose.</summary>
    /// <remarks>
    /// As Cassandra binds its outgoing internode connections to listen_address: on a host with several addresses, a
    /// peer (and a firewall rule, or a test that cuts one pair of nodes) sees the node's own address, not whichever the
    /// routing table picks. Ignored when it is a wildcard (<see cref="IPAddress.Any"/>, <see cref="IPAddress.IPv6Any"/>) or of
    /// another address family than the peer's. The port is left to the OS.
    /// </remarks>
    public IPAddress? LocalAddress { get; init; }

    /// <summary>How long a TCP connect may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long the peer may take to answer the hello.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one socket send may make no progress before the connection is declared dead.</summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The wait before the first reconnect attempt (see <see cref="ReconnectBackoff"/>).</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest wait between attempts.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Jitter source: a number in [0, 1) per backoff, called from the link's connect loop (one call at a time).</summary>
    /// <remarks>Tests and the simulator inject a seeded source; the default is <see cref="Random.Shared"/>.</remarks>
    public Func<double> Jitter { get; init; } = static () => Random.Shared.NextDouble();

    /// <summary>The clock for timeouts and backoff.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Throws <see cref="RingKVException"/> when a setting is out of range.</summary>
    public void Validate()
    {
        if (MaxPayloadBytes is < 0 or > PeerFrameCodec.MaxPayloadLimit)
        {
            ThrowHelper.InvalidArgument("PeerLinkOptions.MaxPayloadBytes is out of range");
        }

        if (MaxQueuedBytes < PeerFrameCodec.OverheadBytes + MaxPayloadBytes)
        {
            ThrowHelper.InvalidArgument("PeerLinkOptions.MaxQueuedBytes must hold a frame of the largest payload");
        }

        if (MaxHeldBytes < 0 || MaxHeldBytes > MaxQueuedBytes)
        {
            ThrowHelper.InvalidArgument("PeerLinkOptions.MaxHeldBytes must be between 0 and MaxQueuedBytes");
        }

        if (ConnectTimeout <= TimeSpan.Zero || HandshakeTimeout <= TimeSpan.Zero || SendTimeout <= TimeSpan.Zero)
        {
            ThrowHelper.InvalidArgument("PeerLinkOptions timeouts must be positive");
        }

        if (InitialBackoff <= TimeSpan.Zero || MaxBackoff < InitialBackoff)
        {
            ThrowHelper.InvalidArgument("PeerLinkOptions.InitialBackoff must be positive and at most MaxBackoff");
        }
    }
}
