namespace RingKV.Cluster.AntiEntropy;

/// <summary>One vnode range's result in a pass: the ring range (Start, End], the replicas compared with, and what moved.</summary>
/// <param name="Start">The vnode's previous token (exclusive); equal to <paramref name="End"/> for a one-vnode ring (the whole ring).</param>
/// <param name="End">The vnode's token (inclusive).</param>
/// <param name="Peers">Other replicas of the range this node compared with (or tried to).</param>
/// <param name="Outcome">Equal, repaired, or failed.</param>
/// <param name="KeysRepaired">Keys whose records differed between this node and a peer (each merged on the side that lacked it).</param>
/// <param name="KeysSent">Records this node sent.</param>
/// <param name="KeysReceived">Records this node received and merged.</param>
internal sealed record RepairRangeResult(ulong Start, ulong End, int Peers, RepairOutcome Outcome, long KeysRepaired, long KeysSent, long KeysReceived);
