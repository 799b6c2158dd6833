using System;
using System.Buffers;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace RingKV.Net.Resp;

/// <summary>Runs one client connection straight on its socket: receive, parse and execute every whole command, send the replies once.</summary>
/// <remarks>
/// One receive buffer and one reply buffer per connection, and no hop through the thread pool between the
/// receive and the handler or between the handler and the send. Where the runtime completes socket operations
/// inline (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>), commands run on the socket event threads, as
/// Redis runs them on its event loop. Rejected alternative: <c>NetworkStream</c> with
/// <c>StreamPipeReader</c>/<c>StreamPipeWriter</c>, the first transport; each read and each flush was a
/// thread-pool work item, so every receive and every reply crossed threads.
/// Replies of one receive are sent with one send, so pipelined commands share it. A protocol error is
/// answered with "-ERR Protocol error: ..." and the connection closes. The loop returns on client EOF,
/// on <see cref="RespAction.Close"/>, on a protocol error, on a memory limit (below), and when the socket's
/// receive side is shut down (how the listener stops: the commands already received still run and are answered).
/// <para>
/// Memory (all of it cold path; a connection whose commands fit its first buffers touches none of it):
/// (1) requests: the receive buffer grows to what the pending command needs (the parser's need hint, at least
/// doubling), never past <see cref="RespLimits.MaxRequestBytes"/>, whose excess the parser refuses before it is
/// buffered; each growth is first reserved in the budget all connections share
/// (<see cref="RespConnectionMemory"/>), waiting up to <see cref="RespLimits.RequestMemoryWait"/> for it, and a
/// grown buffer is given back (to the OS, see <see cref="ConnectionBuffer"/>) as soon as the command that grew
/// it is done. (2) replies: a big reply streams to the socket as it is written (<see cref="ReplyBuffer"/>); when
/// the unsent replies of a receive pass half of <see cref="RespLimits.MaxReplyBytes"/> the loop stops running
/// commands and waits for the client to read them, and a client that reads none of them for
/// <see cref="RespLimits.ReplyStallTimeout"/>, or whose unsent replies would pass the whole limit, is disconnected
/// without a reply (<see cref="RespCloseReason.ReplyBufferLimit"/>), its unsent bytes discarded. A client that
/// reads is paced by TCP, never disconnected, however deep its pipeline (as long as one reply fits the limit).
/// </para>
/// A command that does not complete at once stays in flight while the following commands of the same receive start
/// (<see cref="CommandWindow"/>, up to <see cref="MaxInFlight"/>, as the handler allows): replies still leave in request
/// order, and the receive buffer is reused only once every command of the receive is done. The reply-memory checks
/// above run between commands while nothing is in flight; the replies of commands in flight are bounded by the window.
/// Cost: no allocation per command while the requests fit the receive buffer.
/// </remarks>
internal static class RespSocketConnection
{
    /// <summary>Every connection's first receive and reply buffer; growth beyond it is charged to the request budget.</summary>
    public const int InitialReceiveBytes = 16 * 1024;

    /// <summary>A receive gets at least this much room; less than that left and the buffer is compacted or grown.</summary>
    private const int MinReceiveBytes = 4 * 1024;

    /// <summary>A reply buffer grown past this is exchanged for a first-size one after its send.</summary>
    private const int RetainedReplyBytes = ReplyBuffer.PushBytes;

    /// <summary>Most commands of one connection in flight at once.</summary>
    private const int MaxInFlight = 128;

    /// <summary>While draining replies to a client that is behind, each send is at most this much, so the stall timeout measures progress.</summary>
    private const int DrainChunkBytes = 256 * 1024;

    /// <summary>Pumps <paramref name="socket"/> through <paramref name="handler"/> until the client or the handler closes, or a limit is hit; does not dispose the socket.</summary>
    /// <param name="socket">A connected stream socket; made non-blocking (the loop only uses asynchronous operations and non-blocking sends).</param>
    /// <param name="handler">Executes the commands.</param>
    /// <param name="limits">Request and reply limits.</param>
    /// <param name="memory">Budget and counters shared with the listener's other connections; null for an unlimited budget of its own.</param>
    internal static async Task<RespCloseReason> RunAsync<THandler>(Socket socket, THandler handler, RespLimits limits, RespConnectionMemory? memory = null)
        where THandler : IRespHandler
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(limits);
        memory ??= new RespConnectionMemory(long.MaxValue);

        socket.Blocking = false;
        using var parser = new RespRequestParser(limits);
        using var window = new CommandWindow(MaxInFlight, RetainedReplyBytes);
        using var output = new ReplyBuffer(InitialReceiveBytes, limits.MaxReplyBytes, socket, memory);
        var writer = new RespWriter(output);
        var drainAtBytes = limits.MaxReplyBytes / 2;
        var maxReceiveBytes = limits.MaxRequestBytes + (2 * MinReceiveBytes);
        using var input = new ConnectionBuffer(InitialReceiveBytes);
        long charged = 0; // reserved in the budget for input beyond its first size
        var start = 0;
        var end = 0;
        try
        {
            while (true)
            {
                if (input.Capacity - end < MinReceiveBytes)
                {
                    var pending = end - start;
                    var need = Math.Max(parser.NeedBytes, pending + MinReceiveBytes);
                    if (need <= input.Capacity)
                    {
                        input.Span[start..end].CopyTo(input.Span);
                    }
                    else
                    {
                        var target = ConnectionBuffer.CapacityFor((int)Math.Min(maxReceiveBytes, Math.Max(need, 2L * input.Capacity)));
                        var delta = Charge(target) - charged;
                        if (!memory.TryReserve(delta) && !await memory.ReserveAsync(delta, limits.RequestMemoryWait).ConfigureAwait(false))
                        {
                            writer.WriteError(RespErrors.RequestMemoryBusy);
                            await SendAllAsync(socket, output).ConfigureAwait(false);
                            return RespCloseReason.RequestMemoryBusy;
                        }

                        charged += delta;
                        input.Resize(target, start, end);
                        memory.NoteInput(input.Capacity);
                    }

                    end = pending;
                    start = 0;
                }

                var received = await socket.ReceiveAsync(input.Memory[end..], SocketFlags.None).ConfigureAwait(false);
                if (received == 0)
                {
                    return RespCloseReason.ClientClosed;
                }

                end += received;
                var remaining = new ReadOnlySequence<byte>(input.Memory[start..end]);
                RespCloseReason? close = null;
                while (true)
                {
                    var command = window.NextCommand();
                    var status = parser.TryParse(remaining, command, out var consumed);
                    if (status == ParseStatus.Error)
                    {
                        window.Release(command);
                        await EndOfBatchAsync(window, writer, handler).ConfigureAwait(false);
                        writer.WriteError("ERR " + parser.ErrorMessage);
                        close = RespCloseReason.ProtocolError;
                        if (parser.IsRequestTooLarge)
                        {
                            memory.CountRequestLimitRejection();
                            close = RespCloseReason.RequestTooLarge;
                        }

                        break;
                    }

                    remaining = remaining.Slice(consumed);
                    if (status == ParseStatus.Incomplete)
                    {
                        window.Release(command);
                        break;
                    }

                    if (window.Count > 0 && (window.IsFull || !handler.MayOverlap(command))
                        && !await DrainWindowAsync(window, writer, handler).ConfigureAwait(false))
                    {
                        window.Release(command);
                        close = RespCloseReason.HandlerClosed;
                        break;
                    }

                    var target = window.WriterFor(writer);
                    var pending = handler.ExecuteAsync(command, target, CancellationToken.None);
                    if (window.Count == 0 && pending.IsCompletedSuccessfully)
                    {
                        window.Release(command);
                        if (pending.Result == RespAction.Close)
                        {
                            close = RespCloseReason.HandlerClosed;
                            break;
                        }
                    }
                    else
                    {
                        window.Add(pending, target, writer, command, parser.DetachBufferOf(command));
                        continue;
                    }

                    if (output.UnsentCount >= drainAtBytes || output.Overflowed || output.Failed)
                    {
                        // Cold: this receive's replies are big and the client is behind; wait for it before running more.
                        if (!await EndOfBatchAsync(window, writer, handler).ConfigureAwait(false))
                        {
                            close = RespCloseReason.HandlerClosed;
                            break;
                        }

                        close = await DrainAsync(socket, output, limits.ReplyStallTimeout).ConfigureAwait(false);
                        if (close is not null)
                        {
                            break;
                        }
                    }
                }

                // The receive's deferred work, then every reply in request order; the receive buffer is not reused before
                // this, since commands in flight read their arguments from it.
                if (!await EndOfBatchAsync(window, writer, handler).ConfigureAwait(false))
                {
                    close ??= RespCloseReason.HandlerClosed;
                }

                start = end - (int)remaining.Length;
                if (input.Capacity > InitialReceiveBytes && end - start <= InitialReceiveBytes - MinReceiveBytes
                    && (input.IsNative || start == end))
                {
                    // The command that grew the buffer is done: give its memory back now, not when the connection closes.
                    input.Resize(InitialReceiveBytes, start, end);
                    memory.Release(charged);
                    charged = 0;
                    memory.CountBufferReleased();
                    end -= start;
                    start = 0;
                }

                if (close is not (RespCloseReason.ReplyBufferLimit or RespCloseReason.SendFailed))
                {
                    close = await FlushAsync(socket, output, drainAtBytes, limits.ReplyStallTimeout).ConfigureAwait(false) ?? close;
                }

                if (close is { } reason)
                {
                    if (reason == RespCloseReason.ReplyBufferLimit)
                    {
                        memory.CountReplyLimitDisconnection();
                        DiscardOnClose(socket);
                    }

                    return reason;
                }
            }
        }
        finally
        {
            memory.Release(charged);
        }
    }

    /// <summary>The handler's deferred work of the receive, then every command in flight; false when one asked to close.</summary>
    private static async ValueTask<bool> EndOfBatchAsync<THandler>(CommandWindow window, RespWriter writer, THandler handler)
        where THandler : IRespHandler
    {
        var target = window.WriterFor(writer);
        var flushed = handler.EndOfBatchAsync(target);
        if (window.Count == 0 && flushed.IsCompletedSuccessfully)
        {
            handler.Drained();
            return true;
        }

        window.Add(AsContinue(flushed), target, writer, null);
        return await DrainWindowAsync(window, writer, handler).ConfigureAwait(false);
    }

    /// <summary>Waits for every command in flight, their replies copied in order; false when one asked to close.</summary>
    private static async ValueTask<bool> DrainWindowAsync<THandler>(CommandWindow window, RespWriter writer, THandler handler)
        where THandler : IRespHandler
    {
        var action = window.Count == 0 ? RespAction.Continue : await window.DrainAsync(writer).ConfigureAwait(false);
        handler.Drained();
        return action != RespAction.Close;
    }

    private static ValueTask<RespAction> AsContinue(ValueTask task)
    {
        if (task.IsCompletedSuccessfully)
        {
            return new ValueTask<RespAction>(RespAction.Continue);
        }

        return Await(task);

        static async ValueTask<RespAction> Await(ValueTask task)
        {
            await task.ConfigureAwait(false);
            return RespAction.Continue;
        }
    }

    /// <summary>Makes the socket's close reset the connection, so the kernel drops what it still holds for a client that does not read.</summary>
    private static void DiscardOnClose(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone.
        }
    }

    /// <summary>Budget bytes a receive buffer of <paramref name="capacity"/> is charged.</summary>
    private static long Charge(int capacity) => Math.Max(0, capacity - InitialReceiveBytes);

    /// <summary>Sends the replies of a receive (draining with the stall timeout when they are many); null when all went out.</summary>
    private static async ValueTask<RespCloseReason?> FlushAsync(Socket socket, ReplyBuffer output, long drainAtBytes, TimeSpan stallTimeout)
    {
        RespCloseReason? close = null;
        if (output.Overflowed || output.Failed)
        {
            close = output.Overflowed ? RespCloseReason.ReplyBufferLimit : RespCloseReason.SendFailed;
        }
        else if (output.UnsentCount >= drainAtBytes)
        {
            close = await DrainAsync(socket, output, stallTimeout).ConfigureAwait(false);
        }
        else if (output.UnsentCount > 0)
        {
            await SendAllAsync(socket, output).ConfigureAwait(false);
        }

        output.Clear(RetainedReplyBytes);
        return close;
    }

    /// <summary>Sends every unsent byte, waiting as long as the client takes (the common path: one send).</summary>
    private static async ValueTask SendAllAsync(Socket socket, ReplyBuffer output)
    {
        while (output.UnsentCount > 0)
        {
            var sent = await socket.SendAsync(output.UnsentMemory, SocketFlags.None).ConfigureAwait(false);
            output.MarkSent(sent);
        }
    }

    /// <summary>Sends every unsent byte in chunks; <see cref="RespCloseReason.ReplyBufferLimit"/> when a chunk waits past <paramref name="stallTimeout"/>, null when all went out.</summary>
    private static async ValueTask<RespCloseReason?> DrainAsync(Socket socket, ReplyBuffer output, TimeSpan stallTimeout)
    {
        if (output.Overflowed)
        {
            return RespCloseReason.ReplyBufferLimit;
        }

        if (output.Failed)
        {
            return RespCloseReason.SendFailed;
        }

        var stall = new CancellationTokenSource();
        try
        {
            while (output.UnsentCount > 0)
            {
                if (!stall.TryReset())
                {
                    // Its timer fired just as the last chunk went out.
                    stall.Dispose();
                    stall = new CancellationTokenSource();
                }

                var chunk = output.UnsentMemory[..Math.Min(output.UnsentCount, DrainChunkBytes)];
                stall.CancelAfter(stallTimeout);
                int sent;
                try
                {
                    sent = await socket.SendAsync(chunk, SocketFlags.None, stall.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return RespCloseReason.ReplyBufferLimit; // the client read nothing for the whole timeout
                }

                output.MarkSent(sent);
            }

            return null;
        }
        finally
        {
            stall.Dispose();
        }
    }
}
