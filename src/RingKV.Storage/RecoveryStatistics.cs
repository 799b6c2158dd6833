using System;

namespace RingKV.Storage;

/// <summary>What <see cref="StorageEngine.Open"/> did to recover, for the operator's log.</summary>
/// <param name="LogSegments">Commit-log segments read.</param>
/// <param name="LogRecords">Commit-log records (write groups) replayed.</param>
/// <param name="Operations">Puts and deletes in those records.</param>
/// <param name="LogBytes">Payload bytes of those records.</param>
/// <param name="TablesOpened">Tables the manifest listed, opened.</param>
/// <param name="TablesWritten">Level-0 tables written from the replayed records.</param>
/// <param name="Duration">Time the recovery took, from the lock on the directory to a writable engine.</param>
public sealed record RecoveryStatistics(int LogSegments, long LogRecords, long Operations, long LogBytes, int TablesOpened, int TablesWritten, TimeSpan Duration);
