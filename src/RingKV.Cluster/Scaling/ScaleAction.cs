namespace RingKV.Cluster.Scaling;

/// <summary>What an autoscale decision does.</summary>
internal enum ScaleAction
{
    /// <summary>Nothing: the reason says why.</summary>
    Hold,

    /// <summary>Add nodes.</summary>
    ScaleOut,

    /// <summary>Decommission the named nodes, one after another.</summary>
    ScaleIn,
}
