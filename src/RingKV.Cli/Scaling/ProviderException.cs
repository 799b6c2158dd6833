using System;

namespace RingKV.Cli.Scaling;

/// <summary>A provider could not add or remove a node; the message names the node and says what went wrong.</summary>
internal sealed class ProviderException(string message) : Exception(message);
