using System;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using RingKV.Core.Hashing;

namespace RingKV.Storage.Keys;

/// <summary>Encoding of the keys the engine sorts by.</summary>
/// <remarks>
/// A user key K is stored as its <em>ordered key</em>: the 8-byte big-endian token of K, then K. Bytewise
/// order of ordered keys is (token, key) order, so a token range is one contiguous run.
/// An <em>internal key</em> is the ordered key followed by an 8-byte little-endian trailer
/// <c>(sequence &lt;&lt; 8) | kind</c>. Internal keys order by ordered key ascending, then trailer
/// descending: the newest version of a key comes first.
/// <code>
/// internal key: | token (8, BE) | user key (n) | trailer (8, LE) = seq:56 | kind:8 |
/// </code>
/// </remarks>
internal static class InternalKey
{
    /// <summary>Size of the trailer.</summary>
    public const int TrailerSize = 8;

    /// <summary>Bytes an ordered key adds to a user key.</summary>
    public const int OrderedOverhead = Token.Size;

    /// <summary>Bytes an internal key adds to a user key.</summary>
    public const int Overhead = Token.Size + TrailerSize;

    /// <summary>Largest sequence number (56 bits).</summary>
    public const ulong MaxSequence = (1UL << 56) - 1;

    /// <summary>Packs a trailer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong PackTrailer(ulong sequence, ValueKind kind)
    {
        Debug.Assert(sequence <= MaxSequence);
        return (sequence << 8) | (byte)kind;
    }

    /// <summary>Writes the ordered key for <paramref name="userKey"/>; returns its length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteOrdered(Span<byte> destination, ReadOnlySpan<byte> userKey) =>
        WriteOrdered(destination, userKey, Token.Of(userKey));

    /// <summary>Writes the ordered key of <paramref name="userKey"/> whose token the caller computed already.</summary>
    public static int WriteOrdered(Span<byte> destination, ReadOnlySpan<byte> userKey, Token token)
    {
        token.Encode(destination);
        userKey.CopyTo(destination[Token.Size..]);
        return Token.Size + userKey.Length;
    }

    /// <summary>Writes ordered key + trailer; returns the internal key's length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> orderedKey, ulong sequence, ValueKind kind)
    {
        orderedKey.CopyTo(destination);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[orderedKey.Length..], PackTrailer(sequence, kind));
        return orderedKey.Length + TrailerSize;
    }

    /// <summary>The ordered-key part of an internal key.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> Ordered(ReadOnlySpan<byte> internalKey) => internalKey[..^TrailerSize];

    /// <summary>The user-key part of an ordered key.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> UserOfOrdered(ReadOnlySpan<byte> orderedKey) => orderedKey[Token.Size..];

    /// <summary>The token of an ordered or internal key.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Token TokenOf(ReadOnlySpan<byte> key) => Token.Decode(key);

    /// <summary>The trailer of an internal key.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Trailer(ReadOnlySpan<byte> internalKey) => BinaryPrimitives.ReadUInt64LittleEndian(internalKey[^TrailerSize..]);

    /// <summary>The sequence number of an internal key.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Sequence(ReadOnlySpan<byte> internalKey) => Trailer(internalKey) >> 8;

    /// <summary>The kind of an internal key.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ValueKind Kind(ReadOnlySpan<byte> internalKey) => (ValueKind)(byte)Trailer(internalKey);

    /// <summary>Compares two internal keys: ordered key ascending, then trailer descending.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var c = CompareOrdered(a, b);
        return c != 0 ? c : Trailer(b).CompareTo(Trailer(a));
    }

    /// <summary>Compares the ordered-key parts of two internal keys.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CompareOrdered(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        // Every key starts with its 8-byte big-endian token: one integer compare decides nearly always.
        var ta = BinaryPrimitives.ReadUInt64BigEndian(a);
        var tb = BinaryPrimitives.ReadUInt64BigEndian(b);
        if (ta != tb)
        {
            return ta < tb ? -1 : 1;
        }

        return a[Token.Size..^TrailerSize].SequenceCompareTo(b[Token.Size..^TrailerSize]);
    }
}
