using System;
using System.Buffers;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace RingKV.Net.Resp;

/// <summary>Runs one client connection straight on its socket: receive, parse and execute every whole command, send the replies once.</summary>
/// <remarks>
/// One pooled receive buffer
/// and one reply buffer per connection, and no hop through the thread pool between the receive and the
/// handler or between the handler and the send. Where the runtime completes socket operations inline
/// (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>), commands run on the socket event threads, as
/// Redis runs them on its event loop. Rejected alternative: <c>NetworkStream</c> with
/// <c>StreamPipeReader</c>/<c>StreamPipeWriter</c>, the first transport; each read and each flush was a
/// thread-pool work item, so every receive and every reply crossed threads.
/// Replies of one receive are sent with one send, so pipelined commands share it. A protocol error is
/// answered with "-ERR Protocol error: ..." and the connection closes. The loop returns on client EOF,
/// on <see cref="RespAction.Close"/>, on a protocol error, and when the socket's receive side is shut
/// down (how the listener stops: the commands already received still run and are answered).
/// Cost: no allocation per command while the requests fit the receive buffer.
/// A command that does not complete at once stays in flight while the following commands of the same receive start
/// (<see cref="CommandWindow"/>, up to <see cref="MaxInFlight"/>, as the handler allows): replies still leave in request
/// order, once per receive, after every command of it is done.
/// </remarks>
internal static class RespSocketConnection
{
    private const int InitialReceiveBytes = 16 * 1024;

    /// <summary>A receive gets at least this much room; less than that left and the buffer is compacted or grown.</summary>
    private const int MinReceiveBytes = 4 * 1024;

    /// <summary>Buffers grown past this by one big request or reply are given back once it is done.</summary>
    private const int RetainedBytes = 1024 * 1024;

    /// <summary>Most commands of one connection in flight at once.</summary>
    private const int MaxInFlight = 128;

    /// <summary>Pumps <paramref name="socket"/> through <paramref name="handler"/> until the client or the handler closes; does not dispose the socket.</summary>
    internal static async Task RunAsync<THandler>(Socket socket, THandler handler, RespLimits limits)
        where THandler : IRespHandler
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(limits);

        using var parser = new RespRequestParser(limits);
        using var output = new ReplyBuffer(InitialReceiveBytes);
        var writer = new RespWriter(output);
        using var window = new CommandWindow(MaxInFlight, RetainedBytes);
        var buffer = ArrayPool<byte>.Shared.Rent(InitialReceiveBytes);
        var start = 0;
        var end = 0;
        try
        {
            var open = true;
            while (open)
            {
                if (buffer.Length - end < MinReceiveBytes)
                {
                    buffer = MakeRoom(buffer, ref start, ref end);
                }

                var received = await socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None).ConfigureAwait(false);
                if (received == 0)
                {
                    break;
                }

                end += received;
                var remaining = new ReadOnlySequence<byte>(buffer, start, end - start);
                string? protocolError = null;
                while (open)
                {
                    var command = window.NextCommand();
                    var status = parser.TryParse(remaining, command, out var consumed);
                    if (status == ParseStatus.Error)
                    {
                        window.Release(command);
                        protocolError = "ERR " + parser.ErrorMessage;
                        open = false;
                        break;
                    }

                    remaining = remaining.Slice(consumed);
                    if (status == ParseStatus.Incomplete)
                    {
                        window.Release(command);
                        break;
                    }

                    if (window.Count > 0 && (window.IsFull || !handler.MayOverlap(command)))
                    {
                        open = await DrainAsync(window, writer, handler).ConfigureAwait(false);
                        if (!open)
                        {
                            window.Release(command);
                            break;
                        }
                    }

                    var target = window.WriterFor(writer);
                    var pending = handler.ExecuteAsync(command, target, CancellationToken.None);
                    if (window.Count == 0 && pending.IsCompletedSuccessfully)
                    {
                        window.Release(command);
                        open = pending.Result != RespAction.Close;
                    }
                    else
                    {
                        window.Add(pending, target, writer, command, parser.DetachBufferOf(command));
                    }
                }

                // The receive's deferred work, then every reply in request order; the receive buffer is not reused before
                // this, since commands in flight read their arguments from it.
                var endOfBatch = window.WriterFor(writer);
                var flushed = AsContinue(handler.EndOfBatchAsync(endOfBatch));
                if (window.Count > 0 || !flushed.IsCompletedSuccessfully)
                {
                    window.Add(flushed, endOfBatch, writer, null);
                }

                open &= await DrainAsync(window, writer, handler).ConfigureAwait(false);
                if (protocolError is not null)
                {
                    writer.WriteError(protocolError);
                }

                start = end - (int)remaining.Length;
                if (start == end)
                {
                    start = end = 0;
                    if (buffer.Length > RetainedBytes)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = ArrayPool<byte>.Shared.Rent(InitialReceiveBytes);
                    }
                }

                if (output.WrittenCount > 0)
                {
                    await SendAllAsync(socket, output.WrittenMemory).ConfigureAwait(false);
                    output.Clear(RetainedBytes);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Waits for the window; false when a command asked to close the connection.</summary>
    private static async ValueTask<bool> DrainAsync<THandler>(CommandWindow window, RespWriter writer, THandler handler)
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

    private static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await socket.SendAsync(bytes, SocketFlags.None).ConfigureAwait(false);
            bytes = bytes[sent..];
        }
    }

    /// <summary>Moves the unconsumed bytes to the front, or into a buffer twice the size when they fill most of it.</summary>
    private static byte[] MakeRoom(byte[] buffer, ref int start, ref int end)
    {
        var pending = end - start;
        var target = buffer;
        if (buffer.Length - pending < MinReceiveBytes)
        {
            target = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
        }

        Buffer.BlockCopy(buffer, start, target, 0, pending);
        if (!ReferenceEquals(target, buffer))
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        start = 0;
        end = pending;
        return target;
    }
}
