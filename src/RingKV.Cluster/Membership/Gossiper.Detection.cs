using System;
using System.Collections.Immutable;

namespace RingKV.Cluster.Membership;

internal sealed partial class Gossiper
{
    /// <summary>Sets each peer's suspicion from its phi now; when the local suspect set changes, the local record carries the new one at a new version.</summary>
    /// <returns>Whether the local suspect set changed.</returns>
    private bool RecomputeSuspicion()
    {
        var changed = false;
        var count = 0;
        foreach (var peer in _peers.Values)
        {
            var suspected = peer.Record.State != NodeState.Left && peer.Detector.Phi(_now) > _settings.PhiThreshold;
            changed |= suspected != peer.Suspected;
            peer.Suspected = suspected;
            count += suspected ? 1 : 0;
        }

        if (!changed)
        {
            return false;
        }

        // Ascending, as the sorted dictionary iterates: the record's invariant.
        var suspects = ImmutableArray.CreateBuilder<NodeId>(count);
        foreach (var peer in _peers.Values)
        {
            if (peer.Suspected)
            {
                suspects.Add(peer.Record.Id);
            }
        }

        _local = _local.WithHeartbeat(_local.Version + 1, _local.Load, suspects.MoveToImmutable());
        _epoch++;
        _view = null;
        return true;
    }

    /// <summary>Recomputes the DOWN verdicts from the local report and every peer's current one; a change of the DOWN set raises the epoch.</summary>
    private void RecomputeVerdict()
    {
        var reports = new SuspicionReport[_peers.Count + 1];
        var n = 0;
        reports[n++] = new SuspicionReport(_local.Id, _local.Suspects, _now);
        foreach (var peer in _peers.Values)
        {
            // A node that left reports nothing any more; an empty report adds nothing.
            if (peer.Record.State != NodeState.Left && !peer.Record.Suspects.IsEmpty)
            {
                reports[n++] = new SuspicionReport(peer.Record.Id, peer.Record.Suspects, peer.RenewedAt);
            }
        }

        _verdict = DownConsensus.Evaluate(reports.AsSpan(0, n), _now, _settings.ReportExpiry);
        var down = ImmutableArray.CreateBuilder<NodeId>();
        foreach (var (node, observers) in _verdict.Counts)
        {
            if (observers >= DownConsensus.RequiredObservers && Find(node) is { State: not NodeState.Left })
            {
                down.Add(node);
            }
        }

        var downNow = down.ToImmutable();
        if (!downNow.AsSpan().SequenceEqual(_down.AsSpan()))
        {
            _down = downNow;
            _epoch++;
        }

        _view = null;
    }
}
