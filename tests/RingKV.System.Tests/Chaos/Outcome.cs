namespace RingKV.System.Tests.Chaos;

/// <summary>How an operation ended, as the client saw it.</summary>
public enum Outcome
{
    /// <summary>Acknowledged: OK for a write, a value or nil for a read.</summary>
    Ok,

    /// <summary>A definite error reply (UNAVAILABLE, ERR, BUSY): the client was told it did not happen.</summary>
    Fail,

    /// <summary>No answer or a TIMEOUT reply (client timeout, connection lost): it may or may not have applied.</summary>
    Unknown,
}
