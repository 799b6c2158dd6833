namespace RingKV.Net.Resp;

/// <summary>Why <see cref="RespSocketConnection.RunAsync"/> returned.</summary>
internal enum RespCloseReason : byte
{
    /// <summary>The client closed its side, or the receive side was shut down (the listener stopping).</summary>
    ClientClosed = 0,

    /// <summary>A handler asked to close (QUIT).</summary>
    HandlerClosed = 1,

    /// <summary>The request broke the protocol or a parser limit; the client got "-ERR Protocol error: ...".</summary>
    ProtocolError = 2,

    /// <summary>A request was larger than <see cref="RespLimits.MaxRequestBytes"/>; the client got the error.</summary>
    RequestTooLarge = 3,

    /// <summary>The request budget shared by all connections stayed short for <see cref="RespLimits.RequestMemoryWait"/>; the client got the error.</summary>
    RequestMemoryBusy = 4,

    /// <summary>The client's unread replies passed <see cref="RespLimits.MaxReplyBytes"/>, or it read none of them for <see cref="RespLimits.ReplyStallTimeout"/> while holding half of that; no reply.</summary>
    ReplyBufferLimit = 5,

    /// <summary>A send failed: the client reset or closed the connection while replies were on their way.</summary>
    SendFailed = 6,
}
