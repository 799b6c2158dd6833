using System;
using System.Buffers.Binary;
using System.IO.Hashing;

namespace RingKV.Core.Hashing;

/// <summary>A position on the 64-bit hash ring: the token of a key.</summary>
/// <remarks>
/// Tokens order as unsigned 64-bit integers. The token of a key is XxHash64 of its bytes with seed 0;
/// this function is part of the on-disk format (records are ordered by token, then key) and of the
/// ring, so it must never change.
/// </remarks>
public readonly record struct Token(ulong Value) : IComparable<Token>
{
    /// <summary>Encoded size in bytes.</summary>
    public const int Size = 8;

    /// <summary>The smallest token.</summary>
    public static Token Min => new(0);

    /// <summary>The largest token.</summary>
    public static Token Max => new(ulong.MaxValue);

    /// <summary>Hashes a key to its token.</summary>
    public static Token Of(ReadOnlySpan<byte> key) => new(XxHash64.HashToUInt64(key));

    /// <summary>Writes the token big-endian so that bytewise order equals token order.</summary>
    public void Encode(Span<byte> destination) => BinaryPrimitives.WriteUInt64BigEndian(destination, Value);

    /// <summary>Reads a big-endian token.</summary>
    public static Token Decode(ReadOnlySpan<byte> source) => new(BinaryPrimitives.ReadUInt64BigEndian(source));

    /// <inheritdoc/>
    public int CompareTo(Token other) => Value.CompareTo(other.Value);

    /// <summary>Orders tokens.</summary>
    public static bool operator <(Token a, Token b) => a.Value < b.Value;

    /// <summary>Orders tokens.</summary>
    public static bool operator >(Token a, Token b) => a.Value > b.Value;

    /// <summary>Orders tokens.</summary>
    public static bool operator <=(Token a, Token b) => a.Value <= b.Value;

    /// <summary>Orders tokens.</summary>
    public static bool operator >=(Token a, Token b) => a.Value >= b.Value;

    /// <inheritdoc/>
    public override string ToString() => Value.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
}
