using System;
using RingKV.Core.Hashing;

namespace RingKV.Storage;

/// <summary>A forward cursor over live records of a token range, pinned to a snapshot.</summary>
/// <remarks>Not thread-safe. Spans are valid until the next <see cref="MoveNext"/>. Dispose to release the pinned tables.</remarks>
public sealed partial class StorageIterator : IDisposable
{
    /// <summary>Advances to the next live record; false at the end of the range.</summary>
    public bool MoveNext() => throw new NotImplementedException();

    /// <summary>The current record's token.</summary>
    public Token Token => throw new NotImplementedException();

    /// <summary>The current record's key.</summary>
    public ReadOnlySpan<byte> Key => throw new NotImplementedException();

    /// <summary>The current record's value.</summary>
    public ReadOnlySpan<byte> Value => throw new NotImplementedException();

    /// <summary>The current record's expiry, if it has one.</summary>
    public DateTimeOffset? ExpiresAt => throw new NotImplementedException();

    /// <summary>Releases what the iterator pins.</summary>
    public void Dispose() => throw new NotImplementedException();
}
