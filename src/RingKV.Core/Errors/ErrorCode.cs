namespace RingKV.Core.Errors;

/// <summary>Stable error codes; RESP maps them to -ERR replies. Never renumbered.</summary>
public enum ErrorCode : int
{
    /// <summary>Unclassified failure.</summary>
    Internal = 0,

    /// <summary>On-disk data failed a checksum or could not be parsed.</summary>
    Corruption = 1,

    /// <summary>An argument broke a documented limit or contract.</summary>
    InvalidArgument = 2,

    /// <summary>An I/O operation failed.</summary>
    IO = 3,

    /// <summary>The engine is closed.</summary>
    Closed = 4,

    /// <summary>A background failure made the engine refuse writes.</summary>
    BackgroundFailure = 5,

    /// <summary>The data directory is locked by another process.</summary>
    Locked = 6,
}
