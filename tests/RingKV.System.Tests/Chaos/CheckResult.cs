using System.Collections.Generic;

namespace RingKV.System.Tests.Chaos;

/// <summary>What <see cref="HistoryChecker"/> found in one run's history and final reads.</summary>
public sealed class CheckResult
{
    public int WritesOk { get; set; }

    public int WritesFailed { get; set; }

    public int WritesUnknown { get; set; }

    public int ReadsOk { get; set; }

    public int ReadsFailed { get; set; }

    public int ReadsUnknown { get; set; }

    /// <summary>Acknowledged writes the final QUORUM read did not return with their value (or could not read).</summary>
    public List<Violation> LostWrites { get; } = [];

    /// <summary>Reads that returned nil for a key whose write was acknowledged before the read was sent.</summary>
    public List<Violation> StaleReads { get; } = [];

    /// <summary>Reads (during the run or final) that returned a value no write of the key wrote.</summary>
    public List<Violation> WrongValues { get; } = [];

    /// <summary>Unknown-outcome writes found present (with their value) by the final read; the rest were absent.</summary>
    public int UnknownWritesPresent { get; set; }

    /// <summary>Writes answered with an error that the final read found present all the same (a partial write: allowed).</summary>
    public List<Violation> FailedWritesPresent { get; } = [];

    /// <summary>
    /// Writes refused before anything was sent (<c>UNAVAILABLE &lt;level&gt; needs N, M alive</c>: too few live replicas)
    /// that the final read found present: the refusal said nothing was written.
    /// </summary>
    public List<Violation> RefusedWritesPresent { get; } = [];

    /// <summary>Final reads of a key whose write was not acknowledged that got no answer (nothing to check there).</summary>
    public int FinalReadsUnanswered { get; set; }

    /// <summary>No acknowledged write lost, no stale read, no read of a value never written, no refused write applied.</summary>
    public bool Passed => LostWrites.Count == 0 && StaleReads.Count == 0 && WrongValues.Count == 0 && RefusedWritesPresent.Count == 0;
}
