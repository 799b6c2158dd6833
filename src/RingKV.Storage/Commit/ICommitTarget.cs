using System;
using System.Collections.Generic;
using RingKV.Storage.Log;
using RingKV.Storage.Memtables;

namespace RingKV.Storage.Commit;

/// <summary>Where a group goes once prepared: the first sequence number it takes, the memtable it fills, the log segment it is appended to.</summary>
internal readonly record struct CommitSlot(ulong FirstSequence, Memtable Memtable, CommitLogWriter Log);

/// <summary>The engine's side of a commit, called by the <see cref="CommitPipeline"/>'s leader, one group at a time.</summary>
internal interface ICommitTarget
{
    /// <summary>
    /// Makes room for the next group (<paramref name="force"/>: freeze the memtable even when not full) and reserves its
    /// sequence numbers. When room takes a wait (a write stall) or file I/O (a new log segment or memtable) and
    /// <paramref name="canWait"/> is false, returns false having changed nothing. Throws the engine's sticky error.
    /// </summary>
    bool TryPrepare(bool force, bool canWait, out CommitSlot slot);

    /// <summary>
    /// Encodes the group's batches as one commit-log record: <see cref="LogFormat.HeaderSize"/> bytes of room for the record
    /// header, then the group payload (merges resolved). The span stays valid until the next call.
    /// </summary>
    Span<byte> Encode(in CommitSlot slot, List<CommitRequest> group, int operations);

    /// <summary>Inserts an appended group into its memtable and makes it visible to readers.</summary>
    void Apply(in CommitSlot slot, ReadOnlySpan<byte> payload, int operations);

    /// <summary>Records a failed append or sync: the log may hold a partial record, so the engine refuses writes until reopened.</summary>
    void Fail(Exception error);

    /// <summary>The current log segment when it holds unsynced records and the engine is healthy and open; null otherwise.</summary>
    CommitLogWriter? LogToSync();
}
