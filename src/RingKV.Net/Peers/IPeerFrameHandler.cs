using System.Threading.Tasks;

namespace RingKV.Net.Peers;

/// <summary>Takes the frames a <see cref="PeerListener"/> receives from peers, one receive's frames at a time.</summary>
/// <remarks>
/// Called by one connection's receive loop at a time per connection, concurrently across connections. The handler
/// owns each batch from the call on and releases it (<see cref="PeerFrameBatch.Release"/>). The next receive on that
/// connection waits until the returned task completes, so a handler that cannot keep up (a full node-loop channel)
/// holds back its peers through TCP, and their links answer -BUSY past their bound: nothing queues without bound.
/// Frames of one batch arrived in one receive, so the host can give them to the node as one batch and send the
/// replies of one batch together.
/// </remarks>
internal interface IPeerFrameHandler
{
    /// <summary>Takes the frames of one receive. An exception closes the connection (and is logged).</summary>
    ValueTask OnBatchAsync(PeerFrameBatch batch);
}
