namespace RingKV.System.Tests.Chaos;

/// <summary>A key's value read at QUORUM after the heal and the repair pass.</summary>
/// <param name="Value">The value; null for nil or when the read was not answered.</param>
/// <param name="Error">Why the read got no value, when it was not answered (after its retries).</param>
public sealed record FinalRead(string? Value, string? Error = null)
{
    public bool Answered => Error is null;
}
