namespace RingKV.Storage;

/// <summary>Files and bytes in one level of the tree.</summary>
/// <param name="Level">The level: 0 holds flushed tables, deeper levels sorted runs.</param>
/// <param name="Files">Tables in the level.</param>
/// <param name="Bytes">Bytes of those tables on disk.</param>
/// <param name="TargetBytes">The size above which the level is compacted into the next (0 for level 0, which goes by table count).</param>
/// <param name="Entries">Records in the level's tables: every version and tombstone.</param>
/// <param name="Tombstones">Tombstones among <paramref name="Entries"/>.</param>
public readonly record struct LevelInfo(int Level, int Files, long Bytes, long TargetBytes, long Entries, long Tombstones);
