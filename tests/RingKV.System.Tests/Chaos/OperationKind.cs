namespace RingKV.System.Tests.Chaos;

/// <summary>What a client asked: a SET of a fresh key or a GET of a key written earlier.</summary>
public enum OperationKind
{
    Write,
    Read,
}
