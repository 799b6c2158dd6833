using System;
using System.Globalization;
using System.Threading;

namespace RingKV.Server.Resp;

/// <summary>What CLIENT LIST shows about one connection.</summary>
/// <remarks>Written by the connection's own handler; read by CLIENT LIST on other connections (torn reads of a name are harmless).</remarks>
internal sealed class ClientInfo
{
    private static long s_nextId;

    public ClientInfo(string address, string localAddress, DateTimeOffset connectedAt)
    {
        Id = Interlocked.Increment(ref s_nextId);
        Address = address;
        LocalAddress = localAddress;
        ConnectedAt = connectedAt;
    }

    public long Id { get; }

    public string Address { get; }

    /// <summary>The server's side of the connection (CLIENT LIST's laddr).</summary>
    public string LocalAddress { get; }

    public DateTimeOffset ConnectedAt { get; }

    public string Name { get; set; } = "";

    public int Protocol { get; set; } = 2;

    public string LastCommand { get; set; } = "NULL";

    public string Describe(DateTimeOffset now) => string.Create(CultureInfo.InvariantCulture,
        $"id={Id} addr={Address} laddr={LocalAddress} fd=0 name={Name} age={(long)(now - ConnectedAt).TotalSeconds} idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 watch=0 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 tot-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 events=r cmd={LastCommand} user=default redir=-1 resp={Protocol} lib-name= lib-ver=");
}
