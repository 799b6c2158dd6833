using System;

namespace RingKV.Cli.Admin;

/// <summary>A node could not be reached or did not answer in RESP; the message names the node and says what went wrong.</summary>
internal sealed class RespClientException(string message) : Exception(message);
