using System.Collections.Generic;

namespace RingKV.Cluster.Scaling;

/// <summary>What the autoscale policy decided at a sample, and why, in words an operator reads in a log line.</summary>
/// <param name="Action">Hold, scale out or scale in.</param>
/// <param name="Add">Nodes to add (scale out); 0 otherwise.</param>
/// <param name="Remove">Nodes to decommission, in this order (scale in); empty otherwise.</param>
/// <param name="Reason">Why: the metric, its value, the mark and how long it held; or what keeps it from deciding.</param>
/// <param name="Nodes">How many NORMAL nodes the sample had.</param>
internal sealed record ScaleDecision(ScaleAction Action, int Add, IReadOnlyList<string> Remove, string Reason, int Nodes)
{
    /// <summary>The decision in a few words: <c>Hold</c>, <c>ScaleOut 2</c>, <c>ScaleIn node5,node4</c>.</summary>
    public string Summary => Action switch
    {
        ScaleAction.ScaleOut => $"ScaleOut {Add}",
        ScaleAction.ScaleIn => $"ScaleIn {string.Join(",", Remove)}",
        _ => "Hold",
    };

    /// <summary>Whether it changes the cluster.</summary>
    public bool IsChange => Action != ScaleAction.Hold;

    public static ScaleDecision Hold(string reason, int nodes) => new(ScaleAction.Hold, 0, [], reason, nodes);

    public static ScaleDecision Out(int add, string reason, int nodes) => new(ScaleAction.ScaleOut, add, [], reason, nodes);

    public static ScaleDecision In(IReadOnlyList<string> remove, string reason, int nodes) => new(ScaleAction.ScaleIn, 0, remove, reason, nodes);

    public override string ToString() => $"{Summary}: {Reason}";
}
