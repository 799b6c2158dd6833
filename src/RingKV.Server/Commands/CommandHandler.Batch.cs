using System.Buffers;
using System.Collections.Generic;
using RingKV.Net.Resp;

namespace RingKV.Server.Commands;

internal sealed partial class CommandHandler
{
    /// <summary>Most plain SETs deferred into one commit.</summary>
    private const int MaxPendingSets = 64;

    // Plain SETs of the current pipeline batch, not yet applied: their keys and values copied here,
    // because the parser reuses its buffer for the next command.
    /// <summary>Largest deferred-SET buffer a connection keeps between batches; a run is also applied once its bytes reach it, so big values are not gathered 64 at a time.</summary>
    private const int MaxRetainedPendingBytes = 1 << 20;

    private ArrayBufferWriter<byte> _pendingBytes = new(4096);
    private readonly List<(int KeyAt, int KeyLength, int ValueAt, int ValueLength)> _pending = [];

    /// <summary>
    /// A pipelined run of plain <c>SET key value</c> is applied as one engine write (one group commit, one
    /// fsync under sync=always) instead of one per command. Replies stay in order: anything else flushes
    /// the run first, and the run's +OKs are written before the next reply.
    /// </summary>
    private bool TryDefer(RespCommand c, RespWriter w)
    {
        if (c.Count != 3 || !c.IsCommand("SET"u8))
        {
            FlushPending(w);
            return false;
        }

        if (c[1].IsEmpty || c[1].Length > _node.Options.MaxKeyBytes || c[2].Length > _node.Options.MaxValueBytes)
        {
            // The error reply must follow the replies of the SETs before it.
            FlushPending(w);
            CheckSizes(w, c[1], c[2].Length);
            return true;
        }

        var keyAt = _pendingBytes.WrittenCount;
        _pendingBytes.Write(c[1]);
        var valueAt = _pendingBytes.WrittenCount;
        _pendingBytes.Write(c[2]);
        _pending.Add((keyAt, c[1].Length, valueAt, c[2].Length));
        if (_pending.Count >= MaxPendingSets || _pendingBytes.WrittenCount >= MaxRetainedPendingBytes)
        {
            FlushPending(w);
        }

        return true;
    }

    /// <summary>Applies the deferred SETs and writes their replies.</summary>
    public void EndOfBatch(RespWriter writer) => FlushPending(writer);

    private void FlushPending(RespWriter w)
    {
        if (_pending.Count == 0)
        {
            return;
        }

        try
        {
            _node.Store.SetMany(_pendingBytes.WrittenSpan, _pending);
            for (var i = 0; i < _pending.Count; i++)
            {
                w.WriteOk();
            }
        }
        catch (Core.Errors.RingKVException e)
        {
            for (var i = 0; i < _pending.Count; i++)
            {
                w.WriteError("ERR " + e.Message);
            }
        }
        finally
        {
            _pending.Clear();
            if (_pendingBytes.Capacity > MaxRetainedPendingBytes)
            {
                _pendingBytes = new ArrayBufferWriter<byte>(4096); // a run of big values: do not keep its buffer per connection
            }
            else
            {
                _pendingBytes.ResetWrittenCount();
            }
        }
    }
}
