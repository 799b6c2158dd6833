using System.Threading;
using System.Threading.Tasks;

namespace RingKV.Net.Resp;

/// <summary>Executes parsed commands for <see cref="RespSocketConnection"/>; the server's command layer implements it.</summary>
/// <remarks>
/// One handler call per command, in order, never concurrently for one connection. A synchronous
/// handler returns <c>new ValueTask&lt;RespAction&gt;(RespAction.Continue)</c> (or is an <c>async</c>
/// method that never awaits): nothing is allocated. An asynchronous handler may await; the command's
/// arguments and the writer stay valid until its ValueTask completes, and the next command waits.
/// Expected failures (wrong type, bad argument) are replies the handler writes; an exception aborts the
/// connection.
/// </remarks>
internal interface IRespHandler
{
    /// <summary>Executes <paramref name="command"/> and writes exactly one reply to <paramref name="writer"/>.</summary>
    /// <returns><see cref="RespAction.Close"/> to close the connection after the reply (QUIT).</returns>
    ValueTask<RespAction> ExecuteAsync(RespCommand command, RespWriter writer, CancellationToken cancellationToken);

    /// <summary>
    /// Called after the last complete command of one read, before the replies are flushed (and before a
    /// close): a handler that deferred replies to batch work (one commit for a pipeline of writes) writes
    /// them now, in order.
    /// </summary>
    void EndOfBatch(RespWriter writer)
    {
    }
}
