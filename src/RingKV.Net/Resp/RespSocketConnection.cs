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
/// TODO: a handler that awaits holds back the replies before it in the same receive until the receive's
/// commands are done (no server command awaits yet; the cluster coordinator will).
/// </remarks>
internal static class RespSocketConnection
{
    private const int InitialReceiveBytes = 16 * 1024;

    /// <summary>A receive gets at least this much room; less than that left and the buffer is compacted or grown.</summary>
    private const int MinReceiveBytes = 4 * 1024;

    /// <summary>Buffers grown past this by one big request or reply are given back once it is done.</summary>
    private const int RetainedBytes = 1024 * 1024;

    /// <summary>Pumps <paramref name="socket"/> through <paramref name="handler"/> until the client or the handler closes; does not dispose the socket.</summary>
    internal static async Task RunAsync<THandler>(Socket socket, THandler handler, RespLimits limits)
        where THandler : IRespHandler
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(limits);

        using var parser = new RespRequestParser(limits);
        var command = new RespCommand();
        using var output = new ReplyBuffer(InitialReceiveBytes);
        var writer = new RespWriter(output);
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

                    var pending = handler.ExecuteAsync(command, writer, CancellationToken.None);
                    var action = pending.IsCompletedSuccessfully ? pending.Result : await pending.ConfigureAwait(false);
                    if (action == RespAction.Close)
                    {
                        open = false;
                    }
                }

                handler.EndOfBatch(writer);
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
