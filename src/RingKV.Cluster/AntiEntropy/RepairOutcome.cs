namespace RingKV.Cluster.AntiEntropy;

/// <summary>How one token range ended in an anti-entropy pass.</summary>
internal enum RepairOutcome : byte
{
    /// <summary>Every live replica's tree had this node's root: nothing was sent but hashes.</summary>
    Equal,

    /// <summary>Some replica's tree differed; the records of the differing leaves were exchanged and merged.</summary>
    Repaired,

    /// <summary>Some replica did not answer by the deadline, was DOWN, or failed: the range is not known to agree.</summary>
    Failed,
}
