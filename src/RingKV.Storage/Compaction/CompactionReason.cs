namespace RingKV.Storage.Compaction;

/// <summary>Why <see cref="CompactionPicker"/> picked a compaction.</summary>
internal enum CompactionReason
{
    /// <summary>Level 0 holds at least <see cref="StorageOptions.Level0CompactionTrigger"/> tables.</summary>
    Level0FileCount,

    /// <summary>A level holds more bytes than its target.</summary>
    LevelSize,

    /// <summary>No level needed compacting, and a table was mostly tombstones with older data below it.</summary>
    Tombstones,

    /// <summary>Asked for (<see cref="StorageEngine.CompactAll"/>).</summary>
    Manual,
}
