namespace RingKV.System.Tests.Chaos;

/// <summary>The faults a chaos run injects.</summary>
public enum FaultKind
{
    /// <summary>SIGKILL a node, then restart it on the same data directory and ports.</summary>
    Kill,

    /// <summary>SIGSTOP a node, then SIGCONT it.</summary>
    Pause,

    /// <summary>Blackhole the internode traffic between two groups of nodes, then heal.</summary>
    Cut,
}
