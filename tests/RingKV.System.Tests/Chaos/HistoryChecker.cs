using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;

namespace RingKV.System.Tests.Chaos;

/// <summary>Checks a write-once history and the final reads after heal and repair.</summary>
/// <remarks>
/// Pure. Each key is written once with a unique value, so for a key there is exactly one right value and "older" means
/// nil. Checks: (a) every acknowledged write's key reads back its value at QUORUM at the end; (b) no read, during the run
/// or at the end, returns a value other than the one its key's write wrote (an unknown or failed write may be present or
/// absent, never different; a write refused before anything was sent, UNAVAILABLE, must be absent); (c) under strict quorum with R+W&gt;N, no read sent after its key's write was acknowledged
/// returns nil. A read sent before the acknowledgement (concurrent with the write) may return either.
/// </remarks>
public static partial class HistoryChecker
{
    public static CheckResult Check(IReadOnlyList<Operation> history, IReadOnlyDictionary<string, FinalRead> finals)
    {
        var result = new CheckResult();
        var writes = new Dictionary<string, Operation>(StringComparer.Ordinal);
        foreach (var op in history)
        {
            if (op.Kind != OperationKind.Write)
            {
                continue;
            }

            if (!writes.TryAdd(op.Key, op))
            {
                throw new ArgumentException($"key {op.Key} written twice: the workload writes each key once", nameof(history));
            }

            switch (op.Outcome)
            {
                case Outcome.Ok:
                    result.WritesOk++;
                    break;
                case Outcome.Fail:
                    result.WritesFailed++;
                    break;
                default:
                    result.WritesUnknown++;
                    break;
            }
        }

        foreach (var op in history)
        {
            if (op.Kind == OperationKind.Read)
            {
                CheckRead(op, writes.GetValueOrDefault(op.Key), result);
            }
        }

        foreach (var (key, write) in writes)
        {
            var final = finals.GetValueOrDefault(key);
            CheckFinal(write, final, result);
        }

        foreach (var (key, final) in finals)
        {
            if (!writes.ContainsKey(key) && final.Value is not null)
            {
                result.WrongValues.Add(new Violation(key, null, final.Value, "final read of a key never written returned a value"));
            }
        }

        return result;
    }

    private static void CheckRead(Operation read, Operation? write, CheckResult result)
    {
        switch (read.Outcome)
        {
            case Outcome.Fail:
                result.ReadsFailed++;
                return;
            case Outcome.Unknown:
                result.ReadsUnknown++;
                return;
        }

        result.ReadsOk++;
        if (read.Value is not null)
        {
            if (write is null || !string.Equals(write.Value, read.Value, StringComparison.Ordinal))
            {
                result.WrongValues.Add(new Violation(read.Key, write?.Value, read.Value, $"read through node{read.Node} at {At(read.Invoked)}-{At(read.Completed)}"));
            }

            return;
        }

        if (write is { Outcome: Outcome.Ok } && write.Completed < read.Invoked)
        {
            result.StaleReads.Add(new Violation(
                read.Key,
                write.Value,
                null,
                $"read through node{read.Node} at {At(read.Invoked)}-{At(read.Completed)}, after the write through node{write.Node} was acknowledged at {At(write.Completed)}"));
        }
    }

    private static void CheckFinal(Operation write, FinalRead? final, CheckResult result)
    {
        if (final is null || !final.Answered)
        {
            if (write.Outcome == Outcome.Ok)
            {
                result.LostWrites.Add(new Violation(write.Key, write.Value, null, $"acknowledged at {At(write.Completed)}; final read not answered: {final?.Error ?? "not read"}"));
            }
            else
            {
                result.FinalReadsUnanswered++;
            }

            return;
        }

        if (final.Value is not null && !string.Equals(final.Value, write.Value, StringComparison.Ordinal))
        {
            result.WrongValues.Add(new Violation(write.Key, write.Value, final.Value, $"final read; the write ({write.Outcome}) was sent at {At(write.Invoked)}"));
            return;
        }

        var present = final.Value is not null;
        switch (write.Outcome)
        {
            case Outcome.Ok when !present:
                result.LostWrites.Add(new Violation(write.Key, write.Value, null, $"acknowledged by node{write.Node} at {At(write.Completed)}; final QUORUM read returned nil"));
                break;
            case Outcome.Unknown when present:
                result.UnknownWritesPresent++;
                break;
            case Outcome.Fail when present && IsRefusal(write.Error):
                result.RefusedWritesPresent.Add(new Violation(write.Key, null, final.Value, $"refused with {write.Error} by node{write.Node} at {At(write.Completed)}"));
                break;
            case Outcome.Fail when present:
                result.FailedWritesPresent.Add(new Violation(write.Key, null, final.Value, $"answered {write.Error} by node{write.Node} at {At(write.Completed)}"));
                break;
        }
    }

    /// <summary>
    /// Whether <paramref name="error"/> is the coordinator's refusal before sending anything (ClientStatus.Unavailable
    /// from its quorum check: <c>UNAVAILABLE QUORUM needs 2, 1 alive</c>), as opposed to a failure after the write left.
    /// </summary>
    public static bool IsRefusal(string? error) => error is not null && RefusalText().IsMatch(error);

    [GeneratedRegex(@"\bUNAVAILABLE [A-Z_0-9]+ needs [0-9]+, [0-9]+ alive")]
    private static partial Regex RefusalText();

    private static string At(TimeSpan t) => $"{t.TotalSeconds:0.000}s";
}
