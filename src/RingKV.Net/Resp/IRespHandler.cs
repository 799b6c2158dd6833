using System.Threading;
using System.Threading.Tasks;

namespace RingKV.Net.Resp;

/// <summary>Executes parsed commands for <see cref="RespSocketConnection"/>; the server's command layer implements it.</summary>
/// <remarks>
/// One handler per connection, called by the connection's loop only, in request order. A command may complete later
/// (its ValueTask pending: a write waiting for its commit, a coordinator waiting for replicas); the loop then starts the
/// following commands of the same receive while it runs, as far as <see cref="MayOverlap"/> allows, and sends the
/// replies in request order (<see cref="CommandWindow"/>). A handler that completes synchronously allocates nothing.
/// Requires of a handler: it reads a command's arguments before its first await (the next command is parsed into the
/// same <see cref="RespCommand"/>); memory from <see cref="RespCommand.GetMemory"/> stays valid until its reply is
/// written. Expected failures (wrong type, bad argument) are replies the handler writes; an exception aborts the
/// connection.
/// </remarks>
internal interface IRespHandler
{
    /// <summary>Executes <paramref name="command"/> and writes exactly one reply to <paramref name="writer"/>.</summary>
    /// <returns><see cref="RespAction.Close"/> to close the connection after the reply (QUIT).</returns>
    ValueTask<RespAction> ExecuteAsync(RespCommand command, RespWriter writer, CancellationToken cancellationToken);

    /// <summary>
    /// Whether <paramref name="command"/> may start while earlier commands of this connection are still in flight: it
    /// shares no key with them and is no barrier. When false the connection first waits for all of them.
    /// </summary>
    bool MayOverlap(RespCommand command) => false;

    /// <summary>The connection waited for every command in flight; the handler may forget what they touch.</summary>
    void Drained()
    {
    }

    /// <summary>
    /// Called after the last complete command of one receive, before the replies are sent (and before a close): a
    /// handler that deferred replies to batch work (one commit for a pipeline of writes) writes them now, in order.
    /// </summary>
    ValueTask EndOfBatchAsync(RespWriter writer) => default;
}
