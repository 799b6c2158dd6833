using System;
using RingKV.Storage.Keys;
using RingKV.Storage.Versions;

namespace RingKV.Storage.Compaction;

/// <summary>
/// Decides where a compaction ends an output table so that no output overlaps too many bytes of the level below the
/// output level (the grandparents), as LevelDB's <c>Compaction::ShouldStopBefore</c> does.
/// </summary>
/// <remarks>
/// Not thread-safe; one per compaction. Why: an output overlapping many grandparent bytes makes its own later
/// compaction into that level as large; cut where its overlap passes the limit, every output's later compaction stays
/// near the limit plus one table. The overlap of the open output is the size of the grandparent tables that ended (their
/// largest key was passed) while it was open. The compaction still cuts only between user keys, so all versions of a
/// key stay in one table.
/// </remarks>
internal sealed class OutputCutter
{
    private readonly FileMeta[] _grandparents;
    private readonly long _maxOverlapBytes;
    private int _next;
    private bool _open;

    /// <summary>A cutter over <paramref name="grandparents"/> (sorted by key, disjoint) that cuts past <paramref name="maxOverlapBytes"/>.</summary>
    public OutputCutter(FileMeta[] grandparents, long maxOverlapBytes)
    {
        _grandparents = grandparents;
        _maxOverlapBytes = maxOverlapBytes;
    }

    /// <summary>Grandparent bytes the open output overlaps so far (0 when none is open).</summary>
    public long OverlapBytes { get; private set; }

    /// <summary>
    /// Called with each new user key (its ordered key) in compaction order, before it goes to an output; true when the
    /// open output should end before this key.
    /// </summary>
    public bool ShouldCutBefore(ReadOnlySpan<byte> orderedKey)
    {
        while (_next < _grandparents.Length && InternalKey.Ordered(_grandparents[_next].Largest).SequenceCompareTo(orderedKey) < 0)
        {
            if (_open)
            {
                OverlapBytes += _grandparents[_next].Size;
            }

            _next++;
        }

        return _open && OverlapBytes > _maxOverlapBytes;
    }

    /// <summary>An output table was started (its first key is the one last passed to <see cref="ShouldCutBefore"/>).</summary>
    public void OutputStarted()
    {
        _open = true;
        OverlapBytes = 0;
    }

    /// <summary>The open output table was finished, for whatever reason.</summary>
    public void OutputFinished()
    {
        _open = false;
        OverlapBytes = 0;
    }
}
