using System.Net.Sockets;

namespace RingKV.Net.Peers;

/// <summary>Socket settings both ends of a peer connection use.</summary>
internal static class PeerSockets
{
    /// <summary>Idle seconds before the first keepalive probe.</summary>
    public const int KeepAliveIdleSeconds = 15;

    /// <summary>Seconds between probes.</summary>
    public const int KeepAliveIntervalSeconds = 5;

    /// <summary>Unanswered probes before the kernel drops the connection.</summary>
    public const int KeepAliveProbes = 3;

    /// <summary>No Nagle delay (frames are batched by the link already); TCP keepalive, so an idle connection to a vanished host ends in about 30 s.</summary>
    /// <remarks>
    /// The cluster's failure detector decides whether a node is down; keepalive only makes an idle link notice that
    /// its connection is dead and reconnect. The OS default (two hours before the first probe) would leave it
    /// half-open that long.
    /// </remarks>
    public static void Configure(Socket socket)
    {
        socket.NoDelay = true;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, KeepAliveIdleSeconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, KeepAliveIntervalSeconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, KeepAliveProbes);
    }
}
