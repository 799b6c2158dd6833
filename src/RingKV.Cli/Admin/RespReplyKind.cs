namespace RingKV.Cli.Admin;

/// <summary>The RESP2 reply types the admin client reads.</summary>
internal enum RespReplyKind
{
    SimpleString,
    Error,
    Integer,
    BulkString,
    Array,
    Nil,
}
