using System.Globalization;
using RingKV.Storage.Versions;

namespace RingKV.Storage.Compaction;

/// <summary>What one compaction reads and writes, and why it was picked (<see cref="CompactionPicker"/>).</summary>
/// <remarks>
/// Immutable. Holds no reference on <see cref="Version"/>: whoever runs the pick takes one for as long as it runs.
/// </remarks>
internal sealed class CompactionPick
{
    private readonly long _maxGrandparentOverlapBytes;

    public CompactionPick(
        Version version, CompactionReason reason, double score, int level, int outputLevel,
        FileMeta[] inputs, FileMeta[] next, FileMeta[] grandparents, bool isTrivialMove, long maxGrandparentOverlapBytes)
    {
        Version = version;
        Reason = reason;
        Score = score;
        Level = level;
        OutputLevel = outputLevel;
        Inputs = inputs;
        Next = next;
        Grandparents = grandparents;
        IsTrivialMove = isTrivialMove;
        _maxGrandparentOverlapBytes = maxGrandparentOverlapBytes;
        foreach (var file in grandparents)
        {
            GrandparentBytes += file.Size;
        }
    }

    /// <summary>The version the pick was made from.</summary>
    public Version Version { get; }

    public CompactionReason Reason { get; }

    /// <summary>
    /// For <see cref="CompactionReason.Level0FileCount"/> and <see cref="CompactionReason.LevelSize"/> the level's score
    /// (at least 1); for <see cref="CompactionReason.Tombstones"/> the table's share of tombstones; 0 when manual.
    /// </summary>
    public double Score { get; }

    /// <summary>The level the inputs come from.</summary>
    public int Level { get; }

    /// <summary>The level the outputs go to: the next one, or the same one when a manual compaction rewrites the bottom level.</summary>
    public int OutputLevel { get; }

    /// <summary>Tables of <see cref="Level"/>.</summary>
    public FileMeta[] Inputs { get; }

    /// <summary>Tables of <see cref="OutputLevel"/> that overlap the inputs and are merged with them.</summary>
    public FileMeta[] Next { get; }

    /// <summary>Tables of the level below <see cref="OutputLevel"/> that overlap the whole compaction.</summary>
    public FileMeta[] Grandparents { get; }

    /// <summary>Bytes of <see cref="Grandparents"/>.</summary>
    public long GrandparentBytes { get; }

    /// <summary>True when the one input moves to <see cref="OutputLevel"/> without being rewritten.</summary>
    public bool IsTrivialMove { get; }

    /// <summary>Where this compaction's outputs are cut by grandparent overlap.</summary>
    public OutputCutter NewOutputCutter() => new(Grandparents, _maxGrandparentOverlapBytes);

    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Reason} (score {Score:0.00}): L{Level} -> L{OutputLevel}, {Inputs.Length} + {Next.Length} tables, {GrandparentBytes} grandparent bytes{(IsTrivialMove ? ", moved" : "")}");
}
