namespace RingKV.Core.Versioning;

/// <summary>One actor's entry in a <see cref="VersionVector"/>: its highest counter seen and when that entry last changed.</summary>
/// <param name="Actor">The actor id.</param>
/// <param name="Counter">Highest counter of the actor's writes this vector has seen; always at least 1.</param>
/// <param name="LastUpdateUnixMs">Caller-supplied time (Unix ms) of the entry's last increment; truncation drops the oldest.</param>
public readonly record struct VersionVectorEntry(ulong Actor, ulong Counter, long LastUpdateUnixMs);
