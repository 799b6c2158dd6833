using System;
using RingKV.Core.Errors;

namespace RingKV.Net.Resp;

/// <summary>Size limits a request parser enforces before it buffers anything, and the memory bounds of a connection.</summary>
/// <remarks>
/// Defaults follow Redis where it has a setting: 512 MiB per bulk string (proto-max-bulk-len), 64 KiB per inline
/// line, 1 GiB per request (client-query-buffer-limit). The server derives its own values from its options
/// (max-request-mb, max-reply-buffer-mb, max-value-bytes) and passes its value-size limit plus slack as
/// <see cref="MaxBulkBytes"/>. The receive buffer must hold a whole command before it is parsed, so
/// <see cref="MaxRequestBytes"/> also bounds what one connection buffers.
/// </remarks>
internal sealed record RespLimits
{
    /// <summary>Limits with Redis' defaults.</summary>
    public static RespLimits Default { get; } = new();

    /// <summary>Most arguments in one multibulk request; more is "invalid multibulk length".</summary>
    public int MaxArguments { get; init; } = 1_000_000;

    /// <summary>Longest bulk string argument; longer is "invalid bulk length".</summary>
    public long MaxBulkBytes { get; init; } = 512L * 1024 * 1024;

    /// <summary>Longest inline request line without its line ending; longer is "too big inline request".</summary>
    public int MaxInlineBytes { get; init; } = 64 * 1024;

    /// <summary>Largest whole request in bytes (one connection's query buffer); larger is answered with <see cref="RespErrors.RequestTooLargePrefix"/> before it is buffered, and the connection closes.</summary>
    public int MaxRequestBytes { get; init; } = 1024 * 1024 * 1024;

    /// <summary>How long a request waits for the shared request budget (<see cref="RespConnectionMemory"/>) before it is refused.</summary>
    public TimeSpan RequestMemoryWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Most reply bytes a connection holds that the client has not read; past it the client is disconnected.</summary>
    /// <remarks>Past half of it the connection stops running commands until the client reads (see <see cref="ReplyStallTimeout"/>).</remarks>
    public long MaxReplyBytes { get; init; } = 1024L * 1024 * 1024;

    /// <summary>How long a client holding at least half of <see cref="MaxReplyBytes"/> unread may go without reading any of it before it is disconnected.</summary>
    public TimeSpan ReplyStallTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Throws <see cref="RingKVException"/> when a limit is out of range.</summary>
    public void Validate()
    {
        if (MaxArguments < 1)
        {
            ThrowHelper.InvalidArgument("RespLimits.MaxArguments must be at least 1");
        }

        if (MaxBulkBytes < 0)
        {
            ThrowHelper.InvalidArgument("RespLimits.MaxBulkBytes must not be negative");
        }

        if (MaxInlineBytes < 1)
        {
            ThrowHelper.InvalidArgument("RespLimits.MaxInlineBytes must be at least 1");
        }

        if (MaxRequestBytes < 16 || MaxRequestBytes - 2 < MaxInlineBytes || MaxRequestBytes > Array.MaxLength - (64 * 1024))
        {
            ThrowHelper.InvalidArgument("RespLimits.MaxRequestBytes must be at least 16, hold an inline line, and fit an array");
        }

        if (MaxReplyBytes < 2 || RequestMemoryWait < TimeSpan.Zero || ReplyStallTimeout <= TimeSpan.Zero)
        {
            ThrowHelper.InvalidArgument("RespLimits.MaxReplyBytes must be at least 2 and the waits positive");
        }
    }
}
