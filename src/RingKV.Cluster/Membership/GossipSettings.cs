using System;

namespace RingKV.Cluster.Membership;

/// <summary>How a <see cref="Gossiper"/> paces its rounds and decides suspicion and DOWN.</summary>
internal sealed record GossipSettings
{
    /// <summary>Time between rounds: a ping to every peer and a gossip exchange with <see cref="Fanout"/> random ones.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Peers not suspected that a round opens a gossip exchange with (besides every seed not yet identified).</summary>
    public int Fanout { get; init; } = 1;

    /// <summary>Phi above which the local node suspects a peer; Cassandra's default, 8.</summary>
    public double PhiThreshold { get; init; } = 8;

    /// <summary>The failure detector's settings; its first-interval estimate should be <see cref="Interval"/>.</summary>
    public PhiAccrualSettings Detector { get; init; } = new();

    /// <summary>Rounds after which an observer's suspicion report stops counting unless renewed (<see cref="DownConsensus"/>, rule 3).</summary>
    /// <remarks>
    /// A trade-off: a dead observer's last report keeps counting this long, so shorter frees a wrongly-DOWN node
    /// sooner; but a live observer's heartbeat must reach every node (directly in pings, or relayed by gossip when it
    /// is cut off from some) within it, or its report flickers. Ten rounds is several times the gossip's
    /// spreading time for tens of nodes.
    /// </remarks>
    public int ReportExpiryRounds { get; init; } = 10;

    /// <summary>A pong answering a ping sent longer ago than this is stale: it feeds no detector.</summary>
    public TimeSpan MaxPongDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a report stays current without renewal: <see cref="ReportExpiryRounds"/> rounds.</summary>
    public TimeSpan ReportExpiry => Interval * ReportExpiryRounds;

    /// <summary>Throws unless every setting is in range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Interval, TimeSpan.Zero, nameof(Interval));
        ArgumentOutOfRangeException.ThrowIfLessThan(Fanout, 1, nameof(Fanout));
        if (!(PhiThreshold > 0) || double.IsInfinity(PhiThreshold))
        {
            throw new ArgumentOutOfRangeException(nameof(PhiThreshold), PhiThreshold, "must be a positive number");
        }

        ArgumentNullException.ThrowIfNull(Detector);
        Detector.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(ReportExpiryRounds, 1, nameof(ReportExpiryRounds));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MaxPongDelay, TimeSpan.Zero, nameof(MaxPongDelay));
    }
}
