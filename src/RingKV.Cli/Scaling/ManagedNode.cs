namespace RingKV.Cli.Scaling;

/// <summary>A node a provider manages: it started it, or can stop it.</summary>
/// <param name="Id">Its node id.</param>
/// <param name="Address">Its RESP address, host:port.</param>
/// <param name="Detail">What the provider knows of it, for the log: <c>pid 1234</c>, <c>pod ringkv-3</c>.</param>
internal sealed record ManagedNode(string Id, string Address, string Detail);
