using System;
using System.IO.Pipelines;
using System.Threading;
using System.Threading.Tasks;

namespace RingKV.Net.Resp;

/// <summary>Runs one client connection: reads requests from a pipe, hands each to a handler, flushes replies once per read.</summary>
internal static class RespConnection
{
    /// <summary>Pumps <paramref name="input"/> through <paramref name="handler"/> into <paramref name="output"/> until the client or the handler closes.</summary>
    /// <remarks>
    /// The Kestrel loop: ReadAsync; parse every whole command in the buffer and execute it in order;
    /// AdvanceTo(consumed, examined); one FlushAsync per read batch, so pipelined commands share a flush.
    /// A protocol error is answered with "-ERR Protocol error: ..." and the connection closes.
    /// Ownership: RunAsync completes both <paramref name="input"/> and <paramref name="output"/> when it
    /// returns (with the exception if a handler threw, which makes a socket transport abort). It returns
    /// normally on client EOF, <see cref="RespAction.Close"/>, a protocol error, a canceled read
    /// (<see cref="PipeReader.CancelPendingRead"/>) or cancellation of <paramref name="cancellationToken"/>.
    /// Cost: no allocation per command on the synchronous path.
    /// TODO: an awaiting handler holds back the flush of earlier replies in the same batch and the next
    /// command; pipelined async commands run one after another.
    /// </remarks>
    internal static async Task RunAsync<THandler>(
        PipeReader input,
        PipeWriter output,
        THandler handler,
        RespLimits limits,
        CancellationToken cancellationToken)
        where THandler : IRespHandler
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(limits);

        using var parser = new RespRequestParser(limits);
        var command = new RespCommand();
        var writer = new RespWriter(output);
        Exception? failure = null;
        try
        {
            var open = true;
            while (open)
            {
                var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break;
                }

                var buffer = result.Buffer;
                var remaining = buffer;
                while (open)
                {
                    var status = parser.TryParse(remaining, command, out var consumed);
                    if (status == ParseStatus.Error)
                    {
                        handler.EndOfBatch(writer);
                        writer.WriteError("ERR " + parser.ErrorMessage);
                        open = false;
                        break;
                    }

                    remaining = remaining.Slice(consumed);
                    if (status == ParseStatus.Incomplete)
                    {
                        break;
                    }

                    var pending = handler.ExecuteAsync(command, writer, cancellationToken);
                    var action = pending.IsCompletedSuccessfully
                        ? pending.Result
                        : await pending.ConfigureAwait(false);
                    if (action == RespAction.Close)
                    {
                        open = false;
                    }
                }

                handler.EndOfBatch(writer);
                input.AdvanceTo(remaining.Start, buffer.End);
                if (!output.CanGetUnflushedBytes || output.UnflushedBytes > 0)
                {
                    var flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                    if (flush.IsCompleted || flush.IsCanceled)
                    {
                        open = false;
                    }
                }

                if (result.IsCompleted)
                {
                    open = false;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown, not a failure: complete the pipes normally.
        }
        catch (Exception ex)
        {
            // Loop boundary: the transport aborts the connection; the caller logs what we rethrow.
            failure = ex;
            throw;
        }
        finally
        {
            await input.CompleteAsync(failure).ConfigureAwait(false);
            await output.CompleteAsync(failure).ConfigureAwait(false);
        }
    }
}
