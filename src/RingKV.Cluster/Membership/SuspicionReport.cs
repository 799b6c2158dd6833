using System;
using System.Collections.Immutable;

namespace RingKV.Cluster.Membership;

/// <summary>One observer's current report: the peers it suspects, and when the local node last saw that report renewed.</summary>
/// <param name="Observer">The node whose report this is.</param>
/// <param name="Suspects">The peers it suspects (from its own direct evidence), in any order.</param>
/// <param name="RenewedAt">Local time at which the observer's heartbeat version last rose as seen here (now, for the local node's own report).</param>
internal readonly record struct SuspicionReport(NodeId Observer, ImmutableArray<NodeId> Suspects, DateTimeOffset RenewedAt);
