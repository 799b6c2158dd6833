using System.Collections.Generic;

namespace RingKV.Cli.Admin;

/// <summary>One node of a local cluster: where it listens, where it keeps its data, pid file and log, and how it is started.</summary>
/// <param name="Name">Its node id, <c>node1</c>, <c>node2</c>, ...</param>
/// <param name="Port">Its RESP port on 127.0.0.1.</param>
/// <param name="PeerPort">Its internode port on 127.0.0.1: the RESP port + 10000.</param>
/// <param name="DataDirectory">Its data directory, DIR/<see cref="Name"/>, as a full path.</param>
/// <param name="PidFile">DIR/<see cref="Name"/>.pid.</param>
/// <param name="LogFile">DIR/<see cref="Name"/>.log: its stdout and stderr.</param>
/// <param name="ServeArguments">The arguments after <c>ringkv</c>: <c>serve</c> and its flags.</param>
internal sealed record LocalNode(string Name, int Port, int PeerPort, string DataDirectory, string PidFile, string LogFile, IReadOnlyList<string> ServeArguments)
{
    /// <summary>127.0.0.1:<see cref="Port"/>.</summary>
    public string Address => $"127.0.0.1:{Port}";

    /// <summary>127.0.0.1:<see cref="PeerPort"/>.</summary>
    public string PeerAddress => $"127.0.0.1:{PeerPort}";
}
