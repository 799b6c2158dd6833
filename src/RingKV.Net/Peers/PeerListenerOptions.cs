using System;
using RingKV.Core.Errors;

namespace RingKV.Net.Peers;

/// <summary>Settings of a <see cref="PeerListener"/>.</summary>
internal sealed record PeerListenerOptions
{
    /// <summary>Creates options for a listener that answers hellos with <paramref name="local"/>.</summary>
    public PeerListenerOptions(PeerHello local)
    {
        ArgumentNullException.ThrowIfNull(local);
        Local = local;
    }

    /// <summary>This node's hello; peers of another cluster name or protocol version are refused.</summary>
    public PeerHello Local { get; init; }

    /// <summary>Longest payload accepted after the handshake; a longer frame closes the connection.</summary>
    public int MaxPayloadBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>How long a new connection may take to send its hello.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The clock for the handshake timeout.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Throws <see cref="RingKVException"/> when a setting is out of range.</summary>
    public void Validate()
    {
        if (MaxPayloadBytes is < 0 or > PeerFrameCodec.MaxPayloadLimit)
        {
            ThrowHelper.InvalidArgument("PeerListenerOptions.MaxPayloadBytes is out of range");
        }

        if (HandshakeTimeout <= TimeSpan.Zero)
        {
            ThrowHelper.InvalidArgument("PeerListenerOptions.HandshakeTimeout must be positive");
        }
    }
}
