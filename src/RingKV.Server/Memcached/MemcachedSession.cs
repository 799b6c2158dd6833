using System;
using System.Buffers;
using System.Buffers.Text;
using System.Collections.Generic;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Core.Errors;
using RingKV.Server.Commands;
using RingKV.Server.Store;

namespace RingKV.Server.Memcached;

/// <summary>One memcached text-protocol connection: receive, run every whole command in order, send the replies.</summary>
/// <remarks>
/// Not thread-safe: one loop drives it. I/O is asynchronous throughout (no thread parked on the socket); the receive
/// buffer is pooled (<see cref="ArrayPool{T}"/>), grows to what the pending command needs (at most a data block of the
/// largest value) and shrinks back once that command is done. Replies of one receive leave in one send. Commands run
/// one after the other against the node's <see cref="IKeyValueStore"/>, the same calls the RESP commands make
/// (plain reads and writes, <see cref="WriteKind.Modify"/> for append, prepend, incr and decr), so the two protocols
/// share one keyspace. The CAS unique of an item is its <see cref="RecordFingerprint"/> (the hash WATCH uses): any write
/// to the key, through either protocol, changes it.
/// NOTE: cas checks the fingerprint, then writes: a write that lands between the two is overwritten (as a WATCH/EXEC
/// race is); see docs/consistency.md.
/// </remarks>
internal sealed partial class MemcachedSession(Socket socket, MemcachedListener listener)
{
    private const int InitialBytes = 16 * 1024;

    /// <summary>Replies past this are sent before the next command runs.</summary>
    private const int FlushBytes = 256 * 1024;

    private readonly Socket _socket = socket;
    private readonly MemcachedListener _listener = listener;
    private readonly IKeyValueStore _store = listener.Node.Store;
    private readonly MemcachedItems _items = listener.Items;
    private ArrayBufferWriter<byte> _output = new(InitialBytes);
    private readonly List<Range> _tokens = [];
    private byte[] _input = ArrayPool<byte>.Shared.Rent(InitialBytes);

    /// <summary>Bytes of a refused data block still to be discarded as they arrive.</summary>
    private long _swallow;

    private bool _close;

    private int MaxValueBytes => _listener.Node.Options.MaxValueBytes;

    /// <summary>Serves the connection until the client closes, sends quit, or breaks the protocol beyond repair.</summary>
    public async Task RunAsync()
    {
        var start = 0;
        var end = 0;
        try
        {
            while (!_close)
            {
                var received = await _socket.ReceiveAsync(_input.AsMemory(end), SocketFlags.None).ConfigureAwait(false);
                if (received == 0)
                {
                    break;
                }

                end += received;
                var need = 0;
                while (!_close && start < end)
                {
                    if (_swallow > 0)
                    {
                        var take = (int)Math.Min(_swallow, end - start);
                        start += take;
                        _swallow -= take;
                        continue;
                    }

                    var step = await StepAsync(_input.AsMemory(start, end - start)).ConfigureAwait(false);
                    if (step.Consumed == 0)
                    {
                        need = step.NeedBytes;
                        break;
                    }

                    start += step.Consumed;
                    if (_output.WrittenCount >= FlushBytes)
                    {
                        await FlushAsync().ConfigureAwait(false);
                    }
                }

                await FlushAsync().ConfigureAwait(false);
                (start, end) = MakeRoom(start, end, need);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(_input);
        }
    }

    /// <summary>Compacts or resizes the receive buffer so the pending bytes plus room for <paramref name="need"/> fit.</summary>
    private (int Start, int End) MakeRoom(int start, int end, int need)
    {
        var pending = end - start;
        var wanted = Math.Max(InitialBytes, Math.Max(need, pending) + 4096);
        if (wanted > _input.Length || (_input.Length > InitialBytes && wanted <= InitialBytes))
        {
            var next = ArrayPool<byte>.Shared.Rent(wanted);
            _input.AsSpan(start, pending).CopyTo(next);
            ArrayPool<byte>.Shared.Return(_input);
            _input = next;
            return (0, pending);
        }

        if (start > 0 && (start == end || _input.Length - end < 4096))
        {
            _input.AsSpan(start, pending).CopyTo(_input);
            return (0, pending);
        }

        return (start, end);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FlushAsync()
    {
        var written = _output.WrittenMemory;
        while (!written.IsEmpty)
        {
            var sent = await _socket.SendAsync(written, SocketFlags.None).ConfigureAwait(false);
            written = written[sent..];
        }

        _output.ResetWrittenCount();
        if (_output.Capacity > 4 * FlushBytes)
        {
            // A big reply's buffer is not kept for the life of the connection.
            _output = new ArrayBufferWriter<byte>(InitialBytes);
        }
    }

    /// <summary>What one step did: bytes consumed (0: the command is not all there, and needs <see cref="NeedBytes"/> buffered).</summary>
    private readonly record struct Step(int Consumed, int NeedBytes);

    /// <summary>Runs the first command of <paramref name="pending"/> if it is all there.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Step> StepAsync(ReadOnlyMemory<byte> pending)
    {
        var lineEnd = MemcachedParser.FindLineEnd(pending.Span);
        if (lineEnd < 0)
        {
            if (pending.Length > MemcachedParser.MaxLineBytes)
            {
                Reply("CLIENT_ERROR line too long\r\n"u8);
                _close = true;
                return new Step(pending.Length, 0);
            }

            return new Step(0, pending.Length + 1);
        }

        var line = pending[..lineEnd];
        var consumed = lineEnd + 1;
        MemcachedParser.Tokenize(line.Span, _tokens);
        if (_tokens.Count == 0)
        {
            Reply("ERROR\r\n"u8);
            return new Step(consumed, 0);
        }

        var name = line.Span[_tokens[0]];
        switch (name)
        {
            case var n when n.SequenceEqual("get"u8):
                await RetrieveAsync(line, 1, withCas: false, touch: false).ConfigureAwait(false);
                return new Step(consumed, 0);
            case var n when n.SequenceEqual("gets"u8):
                await RetrieveAsync(line, 1, withCas: true, touch: false).ConfigureAwait(false);
                return new Step(consumed, 0);
            case var n when n.SequenceEqual("gat"u8):
                await RetrieveAsync(line, 2, withCas: false, touch: true).ConfigureAwait(false);
                return new Step(consumed, 0);
            case var n when n.SequenceEqual("gats"u8):
                await RetrieveAsync(line, 2, withCas: true, touch: true).ConfigureAwait(false);
                return new Step(consumed, 0);
            case var n when n.SequenceEqual("set"u8) || n.SequenceEqual("add"u8) || n.SequenceEqual("replace"u8)
                || n.SequenceEqual("append"u8) || n.SequenceEqual("prepend"u8) || n.SequenceEqual("cas"u8):
                return await StoreAsync(pending, line, consumed).ConfigureAwait(false);
            case var n when n.SequenceEqual("delete"u8):
                await DeleteAsync(line).ConfigureAwait(false);
                return new Step(consumed, 0);
            case var n when n.SequenceEqual("incr"u8):
                await CountAsync(line, increment: true).ConfigureAwait(false);
                return new Step(consumed, 0);
            case var n when n.SequenceEqual("decr"u8):
                await CountAsync(line, increment: false).ConfigureAwait(false);
                return new Step(consumed, 0);
            case var n when n.SequenceEqual("touch"u8):
                await TouchAsync(line).ConfigureAwait(false);
                return new Step(consumed, 0);
            case var n when (n.SequenceEqual("version"u8) || n.SequenceEqual("quit"u8)) && _tokens.Count > 1:
                Reply("ERROR\r\n"u8); // as memcached's: neither takes arguments
                return new Step(consumed, 0);
            case var n when n.SequenceEqual("version"u8):
                Reply(Encoding.ASCII.GetBytes($"VERSION {ServerInfo.Version}\r\n"));
                return new Step(consumed, 0);
            case var n when n.SequenceEqual("verbosity"u8):
                Verbosity(line.Span);
                return new Step(consumed, 0);
            case var n when n.SequenceEqual("quit"u8):
                _close = true;
                return new Step(consumed, 0);
            case var n when n.SequenceEqual("stats"u8):
                Stats(line.Span);
                return new Step(consumed, 0);
            case var n when n.Length == 2 && n[0] == (byte)'m':
                return await MetaAsync(pending, line, consumed).ConfigureAwait(false);
            case var n when n.SequenceEqual("flush_all"u8):
                await FlushAllAsync(line).ConfigureAwait(false);
                return new Step(consumed, 0);
            default:
                Reply("ERROR\r\n"u8);
                return new Step(consumed, 0);
        }
    }

    private bool NoReply(ReadOnlySpan<byte> line, int index) => _tokens.Count > index && line[_tokens[index]].SequenceEqual("noreply"u8);

    private void Reply(ReadOnlySpan<byte> text) => _output.Write(text);

    private void ReplyUnlessQuiet(ReadOnlySpan<byte> text, bool noReply)
    {
        if (!noReply)
        {
            _output.Write(text);
        }
    }

    private void BadFormat() => Reply("CLIENT_ERROR bad command line format\r\n"u8);

    private void WriteNumber(ulong value)
    {
        var span = _output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        _output.Advance(written);
    }

    private long NowUnixMs() => _listener.Node.Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The expiry a write gets from an exptime.</summary>
    private ExpiryRule Expiry(long exptime) => MemcachedParser.ExpiresAtUnixMs(exptime, NowUnixMs()) is var at && at == 0 ? ExpiryRule.Clear : ExpiryRule.At(at);

    /// <summary>get, gets, gat, gats: VALUE lines for the live keys, then END.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask RetrieveAsync(ReadOnlyMemory<byte> line, int firstKey, bool withCas, bool touch)
    {
        long exptime = 0;
        if (_tokens.Count <= firstKey || (touch && !MemcachedParser.TryParseInt64(line.Span[_tokens[1]], out exptime)))
        {
            if (touch && _tokens.Count > firstKey)
            {
                Reply("CLIENT_ERROR invalid exptime argument\r\n"u8);
                return;
            }

            Reply("ERROR\r\n"u8);
            return;
        }

        var keys = new byte[_tokens.Count - firstKey][];
        for (var i = firstKey; i < _tokens.Count; i++)
        {
            var key = line.Span[_tokens[i]];
            if (!MemcachedParser.IsValidKey(key))
            {
                BadFormat();
                return;
            }

            keys[i - firstKey] = key.ToArray();
        }

        var rule = touch ? Expiry(exptime) : default;
        var value = new ArrayBufferWriter<byte>(256);
        foreach (var key in keys)
        {
            Interlocked.Increment(ref _listener.CmdGet);
            if (touch)
            {
                var touched = await _store.WriteAsync(WriteRequest.Expire(key, rule)).ConfigureAwait(false);
                if (touched.Existed)
                {
                    await _items.ExpireFlagsAsync(key, rule).ConfigureAwait(false);
                }
            }

            value.ResetWrittenCount();
            var (found, cas) = await ReadItemAsync(key, value, withCas).ConfigureAwait(false);
            if (!found)
            {
                Interlocked.Increment(ref _listener.GetMisses);
                continue;
            }

            Interlocked.Increment(ref _listener.GetHits);
            var flags = await _items.ReadFlagsAsync(key, value.WrittenMemory).ConfigureAwait(false);
            Reply("VALUE "u8);
            Reply(key);
            Reply(" "u8);
            WriteNumber(flags);
            Reply(" "u8);
            WriteNumber((ulong)value.WrittenCount);
            if (withCas)
            {
                Reply(" "u8);
                WriteNumber(cas);
            }

            Reply("\r\n"u8);
            Reply(value.WrittenSpan);
            Reply("\r\n"u8);
        }

        Reply("END\r\n"u8);
    }

    /// <summary>
    /// Reads <paramref name="key"/>'s value and, with <paramref name="withCas"/>, the fingerprint of that same version: the
    /// fingerprint is taken before and after the read, and the read is repeated while they differ (a write came in between).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(bool Found, ulong Cas)> ReadItemAsync(byte[] key, ArrayBufferWriter<byte> value, bool withCas)
    {
        var (found, cas, _) = await ReadItemWithExpiryAsync(key, value, withCas).ConfigureAwait(false);
        return (found, cas);
    }

    /// <summary><see cref="ReadItemAsync"/>, with the item's expiry (Unix milliseconds, 0 for none) too.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(bool Found, ulong Cas, long ExpiresAtUnixMs)> ReadItemWithExpiryAsync(byte[] key, ArrayBufferWriter<byte> value, bool withCas)
    {
        for (var attempt = 0; ; attempt++)
        {
            var before = withCas ? await RecordFingerprint.ComputeAsync(_store, key, default).ConfigureAwait(false) : 0;
            value.ResetWrittenCount();
            var read = await _store.ReadAsync(new ReadRequest(key, value)).ConfigureAwait(false);
            if (!read.Found || !withCas)
            {
                return (read.Found, 0, read.ExpiresAtUnixMs);
            }

            var after = await RecordFingerprint.ComputeAsync(_store, key, default).ConfigureAwait(false);
            if (after == before || attempt >= 8)
            {
                return (after != 0, after, read.ExpiresAtUnixMs);
            }
        }
    }

    /// <summary>set, add, replace, append, prepend, cas: a command line and its data block.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Step> StoreAsync(ReadOnlyMemory<byte> pending, ReadOnlyMemory<byte> line, int lineBytes)
    {
        var span = line.Span;
        var name = span[_tokens[0]];
        var isCas = name.SequenceEqual("cas"u8);
        var fields = isCas ? 6 : 5;
        if (_tokens.Count != fields && _tokens.Count != fields + 1)
        {
            Reply("ERROR\r\n"u8);
            return new Step(lineBytes, 0);
        }

        var key = span[_tokens[1]];
        ulong casUnique = 0;
        if (!MemcachedParser.IsValidKey(key)
            || !MemcachedParser.TryParseUInt32(span[_tokens[2]], out var flags)
            || !MemcachedParser.TryParseInt64(span[_tokens[3]], out var exptime)
            || !MemcachedParser.TryParseInt64(span[_tokens[4]], out var length)
            || length < 0 || length > int.MaxValue - 2
            || (isCas && !MemcachedParser.TryParseUInt64(span[_tokens[5]], out casUnique)))
        {
            // As memcached: the line is refused, and what follows it is read as the next command.
            BadFormat();
            return new Step(lineBytes, 0);
        }

        var noReply = NoReply(span, fields);
        if (length > MaxValueBytes)
        {
            Reply("SERVER_ERROR object too large for cache\r\n"u8);
            _swallow = length + 2;
            return new Step(lineBytes, 0);
        }

        var total = lineBytes + (int)length + 2;
        if (pending.Length < total)
        {
            return new Step(0, total);
        }

        var data = pending.Slice(lineBytes, (int)length);
        if (!pending.Span.Slice(lineBytes + (int)length, 2).SequenceEqual("\r\n"u8))
        {
            Reply("CLIENT_ERROR bad data chunk\r\n"u8);
            return new Step(total, 0);
        }

        Interlocked.Increment(ref _listener.CmdSet);
        var keyBytes = key.ToArray();
        try
        {
            var outcome = name switch
            {
                _ when name.SequenceEqual("set"u8) => await SetAsync(keyBytes, flags, exptime, data, SetCondition.Always).ConfigureAwait(false),
                _ when name.SequenceEqual("add"u8) => await SetAsync(keyBytes, flags, exptime, data, SetCondition.IfAbsent).ConfigureAwait(false),
                _ when name.SequenceEqual("replace"u8) => await SetAsync(keyBytes, flags, exptime, data, SetCondition.IfPresent).ConfigureAwait(false),
                _ when name.SequenceEqual("append"u8) => await ConcatenateAsync(keyBytes, data, append: true).ConfigureAwait(false),
                _ when name.SequenceEqual("prepend"u8) => await ConcatenateAsync(keyBytes, data, append: false).ConfigureAwait(false),
                _ => await CasAsync(keyBytes, flags, exptime, data, casUnique).ConfigureAwait(false),
            };
            ReplyUnlessQuiet(outcome switch
            {
                StoreOutcome.Stored => "STORED\r\n"u8,
                StoreOutcome.NotStored => "NOT_STORED\r\n"u8,
                StoreOutcome.Exists => "EXISTS\r\n"u8,
                _ => "NOT_FOUND\r\n"u8,
            }, noReply);
        }
        catch (RingKVException e)
        {
            ServerError(e);
        }

        return new Step(total, 0);
    }

    private void ServerError(RingKVException e) => Reply(Encoding.ASCII.GetBytes($"SERVER_ERROR {e.Message.Replace('\r', ' ').Replace('\n', ' ')}\r\n"));

    private static readonly byte[] NotFound = "NOT_FOUND\r\n"u8.ToArray();

    /// <summary>What a store did; the text commands answer STORED and the rest, ms answers HD, NS, EX, NF.</summary>
    private enum StoreOutcome
    {
        Stored,
        NotStored,
        Exists,
        NotFound,
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<StoreOutcome> SetAsync(byte[] key, uint flags, long exptime, ReadOnlyMemory<byte> data, SetCondition condition)
    {
        var rule = Expiry(exptime);
        var result = await _store.WriteAsync(WriteRequest.Set(key, data, condition, rule)).ConfigureAwait(false);
        if (!result.Applied)
        {
            return StoreOutcome.NotStored;
        }

        // Always: a set with flags 0 must remove a side key left by an earlier item of the same value.
        await _items.WriteFlagsAsync(key, flags, data, rule).ConfigureAwait(false);

        return StoreOutcome.Stored;
    }

    private async ValueTask<StoreOutcome> CasAsync(byte[] key, uint flags, long exptime, ReadOnlyMemory<byte> data, ulong casUnique)
    {
        var current = await RecordFingerprint.ComputeAsync(_store, key, default).ConfigureAwait(false);
        if (current == 0)
        {
            return StoreOutcome.NotFound;
        }

        if (current != casUnique)
        {
            return StoreOutcome.Exists;
        }

        var rule = Expiry(exptime);
        var result = await _store.WriteAsync(WriteRequest.Set(key, data, SetCondition.IfPresent, rule)).ConfigureAwait(false);
        if (!result.Applied)
        {
            return StoreOutcome.NotFound;
        }

        await _items.WriteFlagsAsync(key, flags, data, rule).ConfigureAwait(false);
        return StoreOutcome.Stored;
    }

    private async ValueTask<StoreOutcome> ConcatenateAsync(byte[] key, ReadOnlyMemory<byte> data, bool append)
    {
        var modifier = new Concatenation(data.ToArray(), append);
        var result = await _store.WriteAsync(WriteRequest.Modify(key, modifier)).ConfigureAwait(false);
        if (!result.Applied || modifier.Old is null || modifier.New is null)
        {
            return StoreOutcome.NotStored;
        }

        await _items.CarryFlagsAsync(key, modifier.Old, modifier.New).ConfigureAwait(false);
        return StoreOutcome.Stored;
    }

    /// <summary>append and prepend: the value with the data added at one end; nothing for a missing key (NOT_STORED).</summary>
    private sealed class Concatenation(byte[] data, bool append) : IValueModifier
    {
        public byte[]? Old { get; private set; }

        public byte[]? New { get; private set; }

        public byte[]? Modify(ReadOnlySpan<byte> current, bool exists)
        {
            if (!exists)
            {
                return null;
            }

            Old = current.ToArray();
            var next = new byte[current.Length + data.Length];
            (append ? current : data).CopyTo(next);
            (append ? data : current).CopyTo(next.AsSpan(append ? current.Length : data.Length));
            New = next;
            return next;
        }
    }

    /// <summary>incr and decr: 64-bit unsigned; incr wraps, decr stops at 0, as memcached's.</summary>
    private sealed class Counter(ulong delta, bool increment) : IValueModifier
    {
        public bool Found { get; private set; }

        public bool NonNumeric { get; private set; }

        public byte[]? Old { get; private set; }

        public byte[]? New { get; private set; }

        public ulong Result { get; private set; }

        public byte[]? Modify(ReadOnlySpan<byte> current, bool exists)
        {
            Found = exists;
            if (!exists)
            {
                return null;
            }

            if (!MemcachedParser.TryParseCounter(current, out var value))
            {
                NonNumeric = true;
                return null;
            }

            Result = increment ? unchecked(value + delta) : (delta > value ? 0 : value - delta);
            Old = current.ToArray();
            New = Encoding.ASCII.GetBytes(Result.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return New;
        }
    }

    /// <summary>A number parser for <see cref="TryKeyAndNumber"/>.</summary>
    private delegate bool NumberParser<T>(ReadOnlySpan<byte> text, out T value);

    /// <summary>
    /// The header of "&lt;command&gt; &lt;key&gt; &lt;number&gt; [noreply]" (incr, decr, touch): false, with the error answered
    /// (ERROR for a wrong token count, the key's format error, then <paramref name="numberError"/>), when it is not one.
    /// </summary>
    private bool TryKeyAndNumber<T>(ReadOnlySpan<byte> line, NumberParser<T> parse, ReadOnlySpan<byte> numberError, out byte[] key, out T number, out bool noReply)
    {
        key = [];
        number = default!;
        noReply = false;
        if (_tokens.Count is not (3 or 4))
        {
            Reply("ERROR\r\n"u8);
            return false;
        }

        var keyToken = line[_tokens[1]];
        if (!MemcachedParser.IsValidKey(keyToken))
        {
            BadFormat();
            return false;
        }

        if (!parse(line[_tokens[2]], out number))
        {
            Reply(numberError);
            return false;
        }

        key = keyToken.ToArray();
        noReply = NoReply(line, 3);
        return true;
    }

    private async ValueTask CountAsync(ReadOnlyMemory<byte> line, bool increment)
    {
        if (!TryKeyAndNumber<ulong>(line.Span, MemcachedParser.TryParseUInt64, "CLIENT_ERROR invalid numeric delta argument\r\n"u8, out var keyBytes, out var delta, out var noReply))
        {
            return;
        }

        var counter = new Counter(delta, increment);
        try
        {
            var result = await _store.WriteAsync(WriteRequest.Modify(keyBytes, counter)).ConfigureAwait(false);
            if (counter.NonNumeric)
            {
                // Silent under noreply too, as memcached's.
                ReplyUnlessQuiet("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"u8, noReply);
                return;
            }

            if (!result.Applied || counter.Old is null || counter.New is null)
            {
                ReplyUnlessQuiet(NotFound, noReply);
                return;
            }

            await _items.CarryFlagsAsync(keyBytes, counter.Old, counter.New).ConfigureAwait(false);
            if (!noReply)
            {
                WriteNumber(counter.Result);
                Reply("\r\n"u8);
            }
        }
        catch (RingKVException e)
        {
            ServerError(e);
        }
    }

    private async ValueTask DeleteAsync(ReadOnlyMemory<byte> line)
    {
        var span = line.Span;
        // delete <key> [0] [noreply]: memcached still takes the old "time" argument when it is 0.
        var count = _tokens.Count;
        var noReply = count > 2 && span[_tokens[count - 1]].SequenceEqual("noreply"u8);
        var rest = count - 2 - (noReply ? 1 : 0);
        if (count < 2 || rest > 1 || (rest == 1 && !span[_tokens[2]].SequenceEqual("0"u8)))
        {
            Reply(count < 2 ? "ERROR\r\n"u8 : "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"u8);
            return;
        }

        var key = span[_tokens[1]];
        if (!MemcachedParser.IsValidKey(key))
        {
            BadFormat();
            return;
        }

        var keyBytes = key.ToArray();
        try
        {
            var result = await _store.WriteAsync(WriteRequest.Delete(keyBytes)).ConfigureAwait(false);
            await _items.DeleteFlagsAsync(keyBytes).ConfigureAwait(false);
            ReplyUnlessQuiet(result.Existed ? "DELETED\r\n"u8 : NotFound, noReply);
        }
        catch (RingKVException e)
        {
            ServerError(e);
        }
    }

    private async ValueTask TouchAsync(ReadOnlyMemory<byte> line)
    {
        if (!TryKeyAndNumber<long>(line.Span, MemcachedParser.TryParseInt64, "CLIENT_ERROR invalid exptime argument\r\n"u8, out var keyBytes, out var exptime, out var noReply))
        {
            return;
        }

        var rule = Expiry(exptime);
        try
        {
            var result = await _store.WriteAsync(WriteRequest.Expire(keyBytes, rule)).ConfigureAwait(false);
            if (result.Existed)
            {
                await _items.ExpireFlagsAsync(keyBytes, rule).ConfigureAwait(false);
            }

            ReplyUnlessQuiet(result.Existed ? "TOUCHED\r\n"u8 : NotFound, noReply);
        }
        catch (RingKVException e)
        {
            ServerError(e);
        }
    }

    private void Verbosity(ReadOnlySpan<byte> line)
    {
        if (_tokens.Count is < 2 or > 3)
        {
            Reply("ERROR\r\n"u8);
            return;
        }

        ReplyUnlessQuiet("OK\r\n"u8, NoReply(line, _tokens.Count - 1));
    }

    /// <summary>
    /// stats, and its arguments as memcached 1.6 answers them: "reset" clears the counters, "settings" lists the limits
    /// that apply here, "detail on|off|dump" is accepted (no per-prefix statistics are kept); "items", "slabs", "sizes",
    /// "conns" and "extstore" describe memcached's own memory and have nothing to list; anything else (noreply
    /// included, which memccapable checks) is ERROR.
    /// </summary>
    private void Stats(ReadOnlySpan<byte> line)
    {
        if (_tokens.Count == 1)
        {
            GeneralStats();
            return;
        }

        var argument = line[_tokens[1]];
        switch (argument)
        {
            case var a when a.SequenceEqual("reset"u8) && _tokens.Count == 2:
                _listener.ResetStats();
                Reply("RESET\r\n"u8);
                return;
            case var a when a.SequenceEqual("settings"u8) && _tokens.Count == 2:
                SettingsStats();
                return;
            case var a when a.SequenceEqual("detail"u8):
                if (_tokens.Count == 3 && (line[_tokens[2]].SequenceEqual("on"u8) || line[_tokens[2]].SequenceEqual("off"u8)))
                {
                    Reply("OK\r\n"u8);
                }
                else if (_tokens.Count == 3 && line[_tokens[2]].SequenceEqual("dump"u8))
                {
                    Reply("END\r\n"u8);
                }
                else
                {
                    Reply("CLIENT_ERROR usage: stats detail on|off|dump\r\n"u8);
                }

                return;
            case var a when a.SequenceEqual("sizes"u8) && _tokens.Count == 2:
                Reply("STAT sizes_status disabled\r\nEND\r\n"u8);
                return;
            case var a when (a.SequenceEqual("items"u8) || a.SequenceEqual("slabs"u8) || a.SequenceEqual("conns"u8) || a.SequenceEqual("extstore"u8)) && _tokens.Count == 2:
                Reply("END\r\n"u8);
                return;
            case var a when a.SequenceEqual("cachedump"u8) && _tokens.Count == 4:
                Reply("END\r\n"u8);
                return;
            default:
                Reply("ERROR\r\n"u8);
                return;
        }
    }

    private void SettingsStats()
    {
        var options = _listener.Node.Options;
        var text = new StringBuilder(256);
        text.Append("STAT tcpport ").Append(_listener.LocalEndPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append("\r\n");
        text.Append("STAT udpport 0\r\n");
        text.Append("STAT inter ").Append(_listener.LocalEndPoint.Address).Append("\r\n");
        text.Append("STAT verbosity 0\r\n");
        text.Append("STAT evictions off\r\n");
        text.Append("STAT cas_enabled yes\r\n");
        text.Append("STAT binding_protocol ascii\r\n");
        text.Append("STAT item_size_max ").Append(options.MaxValueBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append("\r\n");
        text.Append("STAT flush_enabled ").Append(options.MemcachedFlushAll ? "yes" : "no").Append("\r\n");
        text.Append("STAT meta_response_old no\r\n");
        text.Append("END\r\n");
        Reply(Encoding.ASCII.GetBytes(text.ToString()));
    }

    private void GeneralStats()
    {
        var node = _listener.Node;
        var now = node.Time.GetUtcNow();
        var text = new StringBuilder(512);
        Stat(text, "pid", Environment.ProcessId);
        Stat(text, "uptime", (long)(now - node.StartedAt).TotalSeconds);
        Stat(text, "time", now.ToUnixTimeSeconds());
        text.Append("STAT version ").Append(ServerInfo.Version).Append("\r\n");
        Stat(text, "curr_connections", _listener.ClientCount);
        Stat(text, "total_connections", Interlocked.Read(ref _listener.TotalConnections));
        Stat(text, "cmd_get", Interlocked.Read(ref _listener.CmdGet));
        Stat(text, "cmd_set", Interlocked.Read(ref _listener.CmdSet));
        Stat(text, "get_hits", Interlocked.Read(ref _listener.GetHits));
        Stat(text, "get_misses", Interlocked.Read(ref _listener.GetMisses));
        text.Append("END\r\n");
        Reply(Encoding.ASCII.GetBytes(text.ToString()));

        static void Stat(StringBuilder text, string name, long value) =>
            text.Append("STAT ").Append(name).Append(' ').Append(value.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append("\r\n");
    }

    private async ValueTask FlushAllAsync(ReadOnlyMemory<byte> line)
    {
        var noReply = NoReply(line.Span, _tokens.Count - 1);
        long delay = 0;
        if (_tokens.Count > 3 || (_tokens.Count >= 2 && !noReply && !MemcachedParser.TryParseInt64(line.Span[_tokens[1]], out delay)))
        {
            Reply("ERROR\r\n"u8);
            return;
        }

        if (!_listener.Node.Options.MemcachedFlushAll)
        {
            Reply("CLIENT_ERROR flush_all is disabled\r\n"u8);
            return;
        }

        try
        {
            // As memcached: a delay is an exptime (seconds, or a Unix time past 30 days; capped at the end of year 9999, as
            // every expiry): the flush happens then, replacing one still pending; 0 or a past time flushes now.
            var now = NowUnixMs();
            var at = Math.Min(MemcachedParser.ExpiresAtUnixMs(delay, now), LocalStore.MaxExpiryUnixMs);
            if (at > now)
            {
                _listener.ScheduleFlush(TimeSpan.FromMilliseconds(at - now));
            }
            else
            {
                _listener.ScheduleFlush(null);
                await _store.FlushAllAsync().ConfigureAwait(false);
            }

            ReplyUnlessQuiet("OK\r\n"u8, noReply);
        }
        catch (RingKVException e)
        {
            ServerError(e);
        }
    }
}
