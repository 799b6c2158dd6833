using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using RingKV.Net.Resp;

namespace RingKV.Server.Diagnostics;

/// <summary>One command the slow log kept: what SLOWLOG GET answers.</summary>
/// <param name="Id">Its place in the log, from 0, never reused (SLOWLOG RESET keeps counting).</param>
/// <param name="UnixSeconds">When it was dispatched.</param>
/// <param name="Micros">How long it ran, from dispatch to reply, coordination included.</param>
/// <param name="Arguments">Its arguments, the name first, cut as Redis cuts them (see <see cref="SlowLog"/>).</param>
/// <param name="Client">The client's ip:port.</param>
/// <param name="ClientName">The client's CLIENT SETNAME name, or empty.</param>
internal sealed record SlowLogEntry(long Id, long UnixSeconds, long Micros, byte[][] Arguments, string Client, string ClientName);

/// <summary>The node's slow-command log (Redis's SLOWLOG): the latest commands that ran at least a threshold.</summary>
/// <remarks>
/// Thread-safe. As Redis: a threshold of 0 logs every command, a negative one none; the log keeps the newest
/// <see cref="MaxLength"/> entries; a kept entry holds at most 32 arguments (the 32nd then says how many more there
/// were) of at most 128 bytes each (the rest is counted, not kept). The time is the whole command as the client waits
/// for it, quorum round trips in a cluster included, which Redis (single-threaded, no coordination) cannot tell apart.
/// </remarks>
internal sealed class SlowLog(long slowerThanMicros, int maxLength)
{
    /// <summary>Most arguments an entry keeps.</summary>
    public const int MaxArguments = 32;

    /// <summary>Most bytes an entry keeps of one argument.</summary>
    public const int MaxArgumentBytes = 128;

    private readonly Lock _gate = new();
    private readonly LinkedList<SlowLogEntry> _entries = new(); // newest first
    private long _slowerThanMicros = slowerThanMicros;
    private int _maxLength = maxLength;
    private long _nextId;

    /// <summary>The threshold in microseconds (slowlog-log-slower-than): 0 logs every command, negative none.</summary>
    public long SlowerThanMicros
    {
        get => Volatile.Read(ref _slowerThanMicros);
        set => Volatile.Write(ref _slowerThanMicros, value);
    }

    /// <summary>How many entries it keeps (slowlog-max-len); lowering it drops the oldest at the next command logged.</summary>
    public int MaxLength
    {
        get => Volatile.Read(ref _maxLength);
        set => Volatile.Write(ref _maxLength, value);
    }

    /// <summary>Whether a command that ran <paramref name="micros"/> is logged.</summary>
    public bool Wants(long micros)
    {
        var threshold = SlowerThanMicros;
        return threshold >= 0 && micros >= threshold;
    }

    /// <summary>Entries kept now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Logs a command: <paramref name="arguments"/> as <see cref="CapturedArguments.ToEntry"/> made them.</summary>
    public void Add(long unixSeconds, long micros, byte[][] arguments, string client, string clientName)
    {
        lock (_gate)
        {
            _entries.AddFirst(new SlowLogEntry(_nextId++, unixSeconds, micros, arguments, client, clientName));
            var max = Math.Max(0, MaxLength);
            while (_entries.Count > max)
            {
                _entries.RemoveLast();
            }
        }
    }

    /// <summary>The newest <paramref name="count"/> entries (all when negative), newest first.</summary>
    public List<SlowLogEntry> Latest(long count)
    {
        lock (_gate)
        {
            var result = new List<SlowLogEntry>();
            foreach (var entry in _entries)
            {
                if (count >= 0 && result.Count >= count)
                {
                    break;
                }

                result.Add(entry);
            }

            return result;
        }
    }

    /// <summary>An argument as an entry keeps it: its first 128 bytes, then how many more it had.</summary>
    public static byte[] Cut(ReadOnlySpan<byte> argument) => Cut(argument[..Math.Min(argument.Length, MaxArgumentBytes)], argument.Length);

    /// <summary>An argument of <paramref name="length"/> bytes whose first ones (at most 128) are <paramref name="kept"/>.</summary>
    public static byte[] Cut(ReadOnlySpan<byte> kept, int length) =>
        length > kept.Length ? [.. kept, .. Encoding.ASCII.GetBytes($"... ({length - kept.Length} more bytes)")] : kept.ToArray();

    /// <summary>Empties the log (ids keep counting).</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _entries.Clear();
        }
    }
}

/// <summary>
/// The arguments of a command, copied (cut as the slow log cuts them) into one pooled buffer: a command that goes
/// asynchronous is captured before the connection reuses its <see cref="RespCommand"/> for the next one, and
/// <see cref="ToEntry"/> allocates only for one that turned out slow.
/// </summary>
/// <remarks>Not thread-safe; <see cref="Dispose"/> exactly once returns the buffer.</remarks>
internal readonly struct CapturedArguments : IDisposable
{
    private readonly byte[] _buffer;
    private readonly int _count;
    private readonly int _total;

    private CapturedArguments(byte[] buffer, int count, int total)
    {
        _buffer = buffer;
        _count = count;
        _total = total;
    }

    /// <summary>Copies the arguments of <paramref name="c"/>: each as a 4-byte length and its first 128 bytes.</summary>
    public static CapturedArguments Of(RespCommand c)
    {
        var kept = Math.Min(c.Count, SlowLog.MaxArguments);
        var size = 0;
        for (var i = 0; i < kept; i++)
        {
            size += 4 + Math.Min(c[i].Length, SlowLog.MaxArgumentBytes);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        var at = 0;
        for (var i = 0; i < kept; i++)
        {
            var argument = c[i];
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(at), argument.Length);
            var length = Math.Min(argument.Length, SlowLog.MaxArgumentBytes);
            argument[..length].CopyTo(buffer.AsSpan(at + 4));
            at += 4 + length;
        }

        return new CapturedArguments(buffer, kept, c.Count);
    }

    /// <summary>False for the default value, which holds nothing (the slow log was off when the command started).</summary>
    public bool IsCaptured => _buffer is not null;

    /// <summary>The arguments as a slow-log entry keeps them.</summary>
    public byte[][] ToEntry()
    {
        var result = new byte[_count][];
        var at = 0;
        for (var i = 0; i < _count; i++)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(at));
            var stored = Math.Min(length, SlowLog.MaxArgumentBytes);
            result[i] = i == SlowLog.MaxArguments - 1 && _total > SlowLog.MaxArguments
                ? Encoding.ASCII.GetBytes($"... ({_total - SlowLog.MaxArguments + 1} more arguments)")
                : SlowLog.Cut(_buffer.AsSpan(at + 4, stored), length);

            at += 4 + stored;
        }

        return result;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
    }
}
