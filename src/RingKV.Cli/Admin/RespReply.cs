using System.Collections.Generic;

namespace RingKV.Cli.Admin;

/// <summary>One RESP2 reply as the admin commands read it: a simple string, an error, an integer, a bulk string, an array or nil.</summary>
/// <param name="Kind">Which of the RESP2 types it is.</param>
/// <param name="Text">The simple string, error message, bulk string (as UTF-8 text) or integer (as decimal); null for nil and arrays.</param>
/// <param name="Elements">The elements of an array; null otherwise.</param>
internal sealed record RespReply(RespReplyKind Kind, string? Text, IReadOnlyList<RespReply>? Elements)
{
    public static RespReply Simple(string text) => new(RespReplyKind.SimpleString, text, null);

    public static RespReply Error(string message) => new(RespReplyKind.Error, message, null);

    public static RespReply Integer(long value) => new(RespReplyKind.Integer, value.ToString(System.Globalization.CultureInfo.InvariantCulture), null);

    public static RespReply Bulk(string text) => new(RespReplyKind.BulkString, text, null);

    public static RespReply Array(params RespReply[] elements) => new(RespReplyKind.Array, null, elements);

    public static RespReply Nil { get; } = new(RespReplyKind.Nil, null, null);

    /// <summary>How the reply reads in an error message: its text, or its kind when it has none.</summary>
    public override string ToString() => Kind switch
    {
        RespReplyKind.Error => $"-{Text}",
        RespReplyKind.Array => $"an array of {Elements!.Count}",
        RespReplyKind.Nil => "nil",
        _ => $"'{Text}'",
    };
}
