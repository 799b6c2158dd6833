using System;

namespace RingKV.Core.Hashing;

/// <summary>A closed interval of tokens [First, Last]; what one sequential scan of the engine covers.</summary>
/// <remarks>
/// Ring ranges in the Cassandra sense, (start, end] with wrap-around, split into at most two of these
/// with <see cref="FromRing"/>.
/// </remarks>
public readonly record struct TokenRange
{
    /// <summary>Creates [first, last]. Requires: first &lt;= last.</summary>
    public TokenRange(Token first, Token last)
    {
        if (first > last)
        {
            throw new ArgumentException($"token range [{first}, {last}] is empty: first must not exceed last", nameof(first));
        }

        First = first;
        Last = last;
    }

    /// <summary>The first token in the range (inclusive).</summary>
    public Token First { get; }

    /// <summary>The last token in the range (inclusive).</summary>
    public Token Last { get; }

    /// <summary>Every token.</summary>
    public static TokenRange All => new(Token.Min, Token.Max);

    /// <summary>True when <paramref name="token"/> lies in the range.</summary>
    public bool Contains(Token token) => token >= First && token <= Last;

    /// <summary>
    /// Splits the ring range (start, end] into one or two closed ranges; start == end means the whole ring.
    /// </summary>
    public static (TokenRange First, TokenRange? Second) FromRing(Token start, Token end)
    {
        if (start == end)
        {
            return (All, null);
        }

        if (start < end)
        {
            return (new TokenRange(new Token(start.Value + 1), end), null);
        }

        // Wraps past the top of the ring: (start, max] and [min, end].
        TokenRange? tail = start.Value == ulong.MaxValue ? null : new TokenRange(new Token(start.Value + 1), Token.Max);
        var head = new TokenRange(Token.Min, end);
        return tail is null ? (head, null) : (tail.Value, head);
    }
}
