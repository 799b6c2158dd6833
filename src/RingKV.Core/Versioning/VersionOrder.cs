namespace RingKV.Core.Versioning;

/// <summary>How one version vector relates causally to another (this compared with other).</summary>
/// <remarks>Not stored on disk or sent on the wire; values are explicit anyway and never renumbered.</remarks>
public enum VersionOrder : byte
{
    /// <summary>Both have seen exactly the same writes.</summary>
    Equal = 0,

    /// <summary>This has seen everything the other has, and more.</summary>
    Descends = 1,

    /// <summary>The other has seen everything this has, and more (this is dominated by the other).</summary>
    Precedes = 2,

    /// <summary>Each has seen a write the other has not.</summary>
    Concurrent = 3,
}
