using System;

namespace RingKV.System.Tests.Chaos;

/// <summary>One client operation of a chaos run's history.</summary>
/// <param name="Client">The workload client that issued it.</param>
/// <param name="Node">The node it was sent to (its coordinator).</param>
/// <param name="Kind">Write (SET of a fresh key) or read (GET).</param>
/// <param name="Key">The key.</param>
/// <param name="Value">A write's value; a read's answer (null: nil, or no answer).</param>
/// <param name="Invoked">When the client sent it, from the start of the run.</param>
/// <param name="Completed">When the client saw its outcome, from the start of the run.</param>
/// <param name="Outcome">Ok, fail or unknown.</param>
/// <param name="Error">The error reply or exception, when not ok.</param>
public sealed record Operation(
    int Client,
    int Node,
    OperationKind Kind,
    string Key,
    string? Value,
    TimeSpan Invoked,
    TimeSpan Completed,
    Outcome Outcome,
    string? Error = null);
