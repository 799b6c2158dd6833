namespace RingKV.Cluster.Membership;

/// <summary>Why a message was refused: a status to count and act on, and a detail (field and byte offset) to log.</summary>
internal readonly record struct GossipDecodeError(GossipDecodeStatus Status, string Detail)
{
    /// <summary>No error.</summary>
    public static GossipDecodeError None => new(GossipDecodeStatus.Ok, "");

    /// <inheritdoc/>
    public override string ToString() => Status == GossipDecodeStatus.Ok ? "ok" : $"{Status}: {Detail}";
}
