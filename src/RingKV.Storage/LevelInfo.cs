namespace RingKV.Storage;

/// <summary>Files and bytes in one level of the tree.</summary>
public readonly record struct LevelInfo(int Level, int Files, long Bytes, long TargetBytes);
