using RingKV.Core.Errors;

namespace RingKV.Net.Resp;

/// <summary>Size limits a request parser enforces before it buffers anything.</summary>
/// <remarks>
/// Defaults follow Redis: 512 MiB per bulk string (proto-max-bulk-len), 64 KiB per inline line,
/// 1 GiB per request (client-query-buffer-limit). The server passes its value-size limit plus slack
/// as <see cref="MaxBulkBytes"/>.
/// NOTE: the input pipe must buffer a whole command before it parses, so the server's input
/// <c>PipeOptions.PauseWriterThreshold</c> must exceed the largest request it accepts
/// (about <see cref="MaxBulkBytes"/> plus headers), or a bigger command stalls the connection.
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

    /// <summary>Largest whole request in bytes; larger is "invalid bulk length" (the request cannot be buffered).</summary>
    public int MaxRequestBytes { get; init; } = 1024 * 1024 * 1024;

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

        if (MaxRequestBytes < 16 || MaxRequestBytes - 2 < MaxInlineBytes)
        {
            ThrowHelper.InvalidArgument("RespLimits.MaxRequestBytes must be at least 16 and hold an inline line");
        }
    }
}
