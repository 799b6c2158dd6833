using System;
using System.Globalization;
using System.Text;
using System.Threading;

namespace RingKV.Server.Clients;

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

    /// <summary>The client library's name, from CLIENT SETINFO LIB-NAME (empty when not given).</summary>
    public string LibName { get; set; } = "";

    /// <summary>The client library's version, from CLIENT SETINFO LIB-VER (empty when not given).</summary>
    public string LibVersion { get; set; } = "";

    // The last command's name, lower case, and when it ran (Environment.TickCount64): written by the connection's own
    // thread on every command without allocating, read by whoever runs CLIENT LIST (a torn read shows a garbled name).
    private readonly byte[] _lastCommand = new byte[24];
    private int _lastCommandLength;
    private long _lastActiveTicks = Environment.TickCount64;

    /// <summary>The last command's name as CLIENT LIST's <c>cmd</c> shows it (lower case; NULL before the first).</summary>
    public string LastCommand => _lastCommandLength == 0 ? "NULL" : Encoding.ASCII.GetString(_lastCommand, 0, _lastCommandLength);

    /// <summary>Records a command as it runs: its name (cut at 24 bytes) and the time, for <c>cmd</c> and <c>idle</c>.</summary>
    public void NoteCommand(ReadOnlySpan<byte> name)
    {
        var length = Math.Min(name.Length, _lastCommand.Length);
        Ascii.ToLower(name[..length], _lastCommand, out _);
        _lastCommandLength = length;
        _lastActiveTicks = Environment.TickCount64;
    }

    public string Describe(DateTimeOffset now)
    {
        var idleSeconds = Math.Max(0, (Environment.TickCount64 - Volatile.Read(ref _lastActiveTicks)) / 1000);
        return string.Create(CultureInfo.InvariantCulture,
            $"id={Id} addr={Address} laddr={LocalAddress} fd=0 name={Name} age={(long)(now - ConnectedAt).TotalSeconds} idle={idleSeconds} flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 watch=0 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 tot-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 events=r cmd={LastCommand} user=default redir=-1 resp={Protocol} lib-name={LibName} lib-ver={LibVersion}");
    }
}
