using RingKV.Core.Consistency;

namespace RingKV.Server.Clients;

/// <summary>The state one client connection carries between its commands: authentication, protocol, name, consistency defaults.</summary>
/// <remarks>
/// Owned by the connection's command handler; commands that change it are barriers (<see cref="Commands.CommandFlags.Barrier"/>),
/// so no command in flight reads it while it changes. What CLIENT LIST shows of it lives in <see cref="Info"/>, which
/// other connections read.
/// </remarks>
internal sealed class ClientSession(ClientInfo info, bool authenticated)
{
    /// <summary>What CLIENT LIST shows.</summary>
    public ClientInfo Info { get; } = info;

    /// <summary>Whether the client may run commands other than AUTH, HELLO, QUIT and RESET.</summary>
    public bool Authenticated { get; set; } = authenticated;

    /// <summary>RESP version of the replies: 2 or 3.</summary>
    public int Protocol
    {
        get => Info.Protocol;
        set => Info.Protocol = value;
    }

    /// <summary>The level of the connection's plain reads (GET, EXISTS, ...); default: the node's.</summary>
    public ConsistencyLevel ReadConsistency { get; set; }

    /// <summary>The level of the connection's plain writes (SET, DEL, ...); default: the node's.</summary>
    public ConsistencyLevel WriteConsistency { get; set; }

    /// <summary>Back to the state of a new connection (RESET).</summary>
    public void Reset(bool authenticated)
    {
        Authenticated = authenticated;
        Info.Name = "";
        Protocol = 2;
        ReadConsistency = default;
        WriteConsistency = default;
    }
}
