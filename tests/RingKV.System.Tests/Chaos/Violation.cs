namespace RingKV.System.Tests.Chaos;

/// <summary>One thing the checker found wrong, with the operation that shows it.</summary>
/// <param name="Key">The key.</param>
/// <param name="Expected">The value its write wrote (null when no write of the key is known).</param>
/// <param name="Actual">What was read (null: nil or no answer).</param>
/// <param name="Detail">What is wrong and when, for the report.</param>
public sealed record Violation(string Key, string? Expected, string? Actual, string Detail)
{
    public override string ToString() => $"{Key}: expected {Expected ?? "(none)"}, read {Actual ?? "(nil)"}: {Detail}";
}
