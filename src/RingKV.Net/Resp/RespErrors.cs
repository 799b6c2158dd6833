using System;

namespace RingKV.Net.Resp;

/// <summary>Redis-compatible error reply texts, without the leading '-' and line ending.</summary>
internal static class RespErrors
{
    /// <summary>An argument is not a strict int64.</summary>
    public static ReadOnlySpan<byte> NotInteger => "ERR value is not an integer or out of range"u8;

    /// <summary>An argument is not a valid double.</summary>
    public static ReadOnlySpan<byte> NotFloat => "ERR value is not a valid float"u8;

    /// <summary>Generic syntax error.</summary>
    public static ReadOnlySpan<byte> Syntax => "ERR syntax error"u8;

    /// <summary>Protocol error: a multibulk count is malformed or above the limit.</summary>
    public const string InvalidMultibulkLength = "Protocol error: invalid multibulk length";

    /// <summary>Protocol error: a bulk length is malformed, negative, above the limit, or its data is not followed by CRLF.</summary>
    public const string InvalidBulkLength = "Protocol error: invalid bulk length";

    /// <summary>Protocol error: an inline line is longer than the limit.</summary>
    public const string TooBigInlineRequest = "Protocol error: too big inline request";

    /// <summary>Protocol error: an inline line has an unclosed quote, or a closing quote not followed by a space.</summary>
    public const string UnbalancedQuotes = "Protocol error: unbalanced quotes in request";

    /// <summary>Protocol error: the request is larger than one connection may send (the server's max-request-mb); the limit in bytes and ")" follow.</summary>
    public const string RequestTooLargePrefix = "Protocol error: request larger than max-request-mb (";

    /// <summary>The request budget of all connections (the server's max-request-memory-mb) stayed exhausted while the request waited.</summary>
    public const string RequestMemoryBusy = "ERR server busy: the request memory of all clients (max-request-memory-mb) is in use, retry later";

    /// <summary>Protocol error: a multibulk element is not a bulk string; the offending byte follows.</summary>
    public const string ExpectedDollarPrefix = "Protocol error: expected '$', got '";
}
