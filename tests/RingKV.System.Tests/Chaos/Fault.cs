using System;
using System.Collections.Generic;

namespace RingKV.System.Tests.Chaos;

/// <summary>One fault of a schedule: what, on which nodes, held how long, and the quiet gap after its recovery.</summary>
/// <param name="Kind">Kill, pause or cut.</param>
/// <param name="Nodes">The node killed or paused; for a cut, the smaller side (the rest is the other).</param>
/// <param name="Hold">How long the fault lasts before the node is restarted, resumed or the cut healed.</param>
/// <param name="Gap">How long to wait after the cluster recovered before the next fault.</param>
public sealed record Fault(FaultKind Kind, IReadOnlyList<int> Nodes, TimeSpan Hold, TimeSpan Gap)
{
    public override string ToString() => Kind switch
    {
        FaultKind.Cut => $"cut {{{string.Join(',', Nodes)}}} | rest for {Hold.TotalSeconds:0.0} s",
        _ => $"{Kind.ToString().ToLowerInvariant()} node{Nodes[0]} for {Hold.TotalSeconds:0.0} s",
    };
}
