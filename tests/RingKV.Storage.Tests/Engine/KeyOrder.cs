using System;
using System.Collections.Generic;
using RingKV.Core.Hashing;

namespace RingKV.Storage.Tests.Engine;

/// <summary>The engine's record order: token as unsigned 64-bit, then key bytes.</summary>
internal sealed class KeyOrder : IComparer<byte[]>
{
    public static readonly KeyOrder Instance = new();

    public int Compare(byte[]? x, byte[]? y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        var byToken = Token.Of(x).CompareTo(Token.Of(y));
        return byToken != 0 ? byToken : x.AsSpan().SequenceCompareTo(y);
    }
}
