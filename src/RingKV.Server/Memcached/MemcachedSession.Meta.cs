using System;
using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using RingKV.Core.Errors;
using RingKV.Server.Store;

namespace RingKV.Server.Memcached;

/// <summary>The meta commands (mg, ms, md, ma, mn, me) of memcached 1.6, over the same store calls as the text commands.</summary>
/// <remarks>
/// Replies follow memcached 1.6.18 byte for byte where the item's state allows: return codes HD, VA, EN, NS, EX, NF, MN,
/// the flags asked for written back in request order, q hiding the nominal reply (EN for mg; HD for ms, md, ma).
/// What is not kept here is answered as a fresh item would be: h is always 0, l always 0 (no fetched bit or last-access
/// time is stored). The stale and win state of items (md I, ms I with C, the X and Z flags) is not kept either: those
/// requests answer a CLIENT_ERROR, and mg answers W for a win (N vivify, R recache) every time it applies, never Z.
/// </remarks>
internal sealed partial class MemcachedSession
{
    private static readonly byte[] MetaBadFormat = "CLIENT_ERROR bad command line format\r\n"u8.ToArray();
    private static readonly byte[] CodeHD = "HD"u8.ToArray();
    private static readonly byte[] CodeNF = "NF"u8.ToArray();
    private static readonly byte[] CodeEX = "EX"u8.ToArray();
    private static readonly byte[] CodeNS = "NS"u8.ToArray();

    /// <summary>Dispatches a two-letter command starting with 'm'.</summary>
    private async ValueTask<Step> MetaAsync(ReadOnlyMemory<byte> pending, ReadOnlyMemory<byte> line, int consumed)
    {
        var name = line.Span[_tokens[0]];
        switch (name[1])
        {
            case (byte)'g':
                await MetaGetAsync(line).ConfigureAwait(false);
                return new Step(consumed, 0);
            case (byte)'s':
                return await MetaSetAsync(pending, line, consumed).ConfigureAwait(false);
            case (byte)'d':
                await MetaDeleteAsync(line).ConfigureAwait(false);
                return new Step(consumed, 0);
            case (byte)'a':
                await MetaArithmeticAsync(line).ConfigureAwait(false);
                return new Step(consumed, 0);
            case (byte)'n':
                Reply("MN\r\n"u8);
                return new Step(consumed, 0);
            case (byte)'e':
                await MetaDebugAsync(line).ConfigureAwait(false);
                return new Step(consumed, 0);
            default:
                Reply("ERROR\r\n"u8);
                return new Step(consumed, 0);
        }
    }

    /// <summary>
    /// The common header of mg, md, ma: a key and flags. False, with the error answered, when the line is refused:
    /// ERROR without a key, the key's or the flags' CLIENT_ERROR (<paramref name="flagError"/> replacing the parser's
    /// message, as md and ma do).
    /// </summary>
    private bool TryMetaHeader(ReadOnlySpan<byte> line, ReadOnlySpan<byte> tooManyFlags, string? flagError, out byte[] key, out MetaFlags flags)
    {
        key = [];
        flags = default;
        if (_tokens.Count < 2)
        {
            Reply("ERROR\r\n"u8);
            return false;
        }

        if (line[_tokens[1]].Length > MemcachedParser.MaxKeyBytes)
        {
            Reply(MetaBadFormat);
            return false;
        }

        if (_tokens.Count > MetaFlags.MaxTokens)
        {
            Reply(tooManyFlags);
            return false;
        }

        var error = MetaFlags.TryParse(line, _tokens, 2, out flags, out key);
        if (error is not null)
        {
            ReplyLine(error.StartsWith("CLIENT_ERROR opaque", StringComparison.Ordinal) ? error : flagError ?? error);
            return false;
        }

        return true;
    }

    private void ReplyLine(string text)
    {
        Reply(Encoding.ASCII.GetBytes(text));
        Reply("\r\n"u8);
    }

    /// <summary>Writes " k&lt;key&gt;" (base64 and " b" for a binary key).</summary>
    private void WriteMetaKey(byte[] key, bool base64)
    {
        Reply(" k"u8);
        if (!base64)
        {
            Reply(key);
            return;
        }

        var span = _output.GetSpan(Base64.GetMaxEncodedToUtf8Length(key.Length));
        Base64.EncodeToUtf8(key, span, out _, out var written);
        _output.Advance(written);
        Reply(" b"u8);
    }

    /// <summary>Writes the opaque and key flags of the request, in its order (the flags every reply code carries).</summary>
    private void WriteOpaqueAndKey(ReadOnlySpan<byte> line, int first, byte[] key, bool base64)
    {
        for (var i = first; i < _tokens.Count; i++)
        {
            var token = line[_tokens[i]];
            if (token[0] == (byte)'O')
            {
                Reply(" "u8);
                Reply(token);
            }
            else if (token[0] == (byte)'k')
            {
                WriteMetaKey(key, base64);
            }
        }
    }

    private void WriteSignedNumber(long value)
    {
        var span = _output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        _output.Advance(written);
    }

    /// <summary>Seconds of TTL left, as mg's t and ma's t flags: -1 for no expiry.</summary>
    private long TtlSeconds(long expiresAtUnixMs) => expiresAtUnixMs == 0 ? -1 : Math.Max(0, (expiresAtUnixMs - NowUnixMs() + 999) / 1000);

    /// <summary>mg: get, gets, gat, touch in one command, by flags.</summary>
    private async ValueTask MetaGetAsync(ReadOnlyMemory<byte> line)
    {
        if (!TryMetaHeader(line.Span, "CLIENT_ERROR options flags are too long\r\n"u8, null, out var key, out var flags))
        {
            return;
        }

        try
        {
            Interlocked.Increment(ref _listener.CmdGet);
            if (flags.NewTtl)
            {
                var rule = Expiry(flags.Exptime);
                var touched = await _store.WriteAsync(WriteRequest.Expire(key, rule)).ConfigureAwait(false);
                if (touched.Existed)
                {
                    await _items.ExpireFlagsAsync(key, rule).ConfigureAwait(false);
                }
            }

            var value = new ArrayBufferWriter<byte>(256);
            var withCas = HasFlag(line.Span, (byte)'c');
            var (found, cas, expiresAt) = await ReadItemWithExpiryAsync(key, value, withCas).ConfigureAwait(false);
            var won = false;
            if (!found && flags.Vivify)
            {
                // N: a miss creates an empty item with the given TTL, and this client has won the right to fill it.
                var rule = Expiry(flags.VivifyExptime);
                var created = await _store.WriteAsync(WriteRequest.Set(key, ReadOnlyMemory<byte>.Empty, SetCondition.IfAbsent, rule)).ConfigureAwait(false);
                await _items.WriteFlagsAsync(key, 0, ReadOnlyMemory<byte>.Empty, rule).ConfigureAwait(false);
                won = created.Applied;
                (found, cas, expiresAt) = await ReadItemWithExpiryAsync(key, value, withCas).ConfigureAwait(false);
            }

            if (!found)
            {
                Interlocked.Increment(ref _listener.GetMisses);
                if (!flags.Quiet)
                {
                    Reply("EN"u8);
                    WriteOpaqueAndKey(line.Span, 2, key, flags.Base64Key);
                    Reply("\r\n"u8);
                }

                return;
            }

            Interlocked.Increment(ref _listener.GetHits);
            if (flags.HasRecache && !won && expiresAt != 0 && TtlSeconds(expiresAt) < flags.RecacheSeconds)
            {
                won = true;
            }

            var clientFlags = HasFlag(line.Span, (byte)'f') ? await _items.ReadFlagsAsync(key, value.WrittenMemory).ConfigureAwait(false) : 0;
            if (flags.Value)
            {
                Reply("VA "u8);
                WriteNumber((ulong)value.WrittenCount);
            }
            else
            {
                Reply("HD"u8);
            }

            var span = line.Span;
            for (var i = 2; i < _tokens.Count; i++)
            {
                var token = span[_tokens[i]];
                switch (token[0])
                {
                    case (byte)'s':
                        Reply(" s"u8);
                        WriteNumber((ulong)value.WrittenCount);
                        break;
                    case (byte)'t':
                        Reply(" t"u8);
                        WriteSignedNumber(TtlSeconds(expiresAt));
                        break;
                    case (byte)'c':
                        Reply(" c"u8);
                        WriteNumber(cas);
                        break;
                    case (byte)'f':
                        Reply(" f"u8);
                        WriteNumber(clientFlags);
                        break;
                    case (byte)'l':
                        Reply(" l0"u8);
                        break;
                    case (byte)'h':
                        Reply(" h0"u8);
                        break;
                    case (byte)'O':
                        Reply(" "u8);
                        Reply(token);
                        break;
                    case (byte)'k':
                        WriteMetaKey(key, flags.Base64Key);
                        break;
                }
            }

            if (won)
            {
                Reply(" W"u8);
            }

            Reply("\r\n"u8);
            if (flags.Value)
            {
                Reply(value.WrittenSpan);
                Reply("\r\n"u8);
            }
        }
        catch (RingKVException e)
        {
            ServerError(e);
        }
    }

    /// <summary>Whether a flag token starting with <paramref name="flag"/> is on the line (from token 2 on).</summary>
    private bool HasFlag(ReadOnlySpan<byte> line, byte flag)
    {
        for (var i = 2; i < _tokens.Count; i++)
        {
            if (line[_tokens[i]][0] == flag)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>ms: set, add, replace, append, prepend and cas in one command, by the M and C flags.</summary>
    private async ValueTask<Step> MetaSetAsync(ReadOnlyMemory<byte> pending, ReadOnlyMemory<byte> line, int lineBytes)
    {
        var span = line.Span;
        if (_tokens.Count < 2)
        {
            Reply("ERROR\r\n"u8);
            return new Step(lineBytes, 0);
        }

        // As memcached: these refusals come before the data length is known, so the data line is read as a command.
        if (span[_tokens[1]].Length > MemcachedParser.MaxKeyBytes || _tokens.Count == 2)
        {
            Reply(MetaBadFormat);
            return new Step(lineBytes, 0);
        }

        if (_tokens.Count > MetaFlags.MaxTokens)
        {
            Reply("CLIENT_ERROR options flags too long\r\n"u8);
            return new Step(lineBytes, 0);
        }

        if (!MemcachedParser.TryParseInt64(span[_tokens[2]], out var length) || length < 0 || length > int.MaxValue - 2)
        {
            Reply(MetaBadFormat);
            return new Step(lineBytes, 0);
        }

        // From here on a refused command's data block is skipped.
        var error = MetaFlags.TryParse(span, _tokens, 3, out var flags, out var key);
        if (error is null)
        {
            error = flags.Mode switch
            {
                0 or (byte)'E' or (byte)'A' or (byte)'P' or (byte)'R' or (byte)'S' => null,
                _ => "CLIENT_ERROR invalid mode for ms M token",
            };
        }

        if (error is null && flags.Invalidate && flags.HasCas)
        {
            error = "CLIENT_ERROR invalidate (I) is not supported";
        }

        if (error is null && length > MaxValueBytes)
        {
            error = "SERVER_ERROR object too large for cache";
        }

        if (error is not null)
        {
            ReplyLine(error);
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
        try
        {
            var exptime = flags.NewTtl ? flags.Exptime : 0;
            var outcome = flags.Mode switch
            {
                (byte)'E' => await SetAsync(key, flags.ClientFlags, exptime, data, SetCondition.IfAbsent).ConfigureAwait(false),
                (byte)'A' or (byte)'P' => await MetaConcatenateAsync(key, data, flags).ConfigureAwait(false),
                _ when flags.HasCas => await CasAsync(key, flags.ClientFlags, exptime, data, flags.CompareCas).ConfigureAwait(false),
                (byte)'R' => await SetAsync(key, flags.ClientFlags, exptime, data, SetCondition.IfPresent).ConfigureAwait(false),
                _ => await SetAsync(key, flags.ClientFlags, exptime, data, SetCondition.Always).ConfigureAwait(false),
            };
            if (outcome == StoreOutcome.Stored && flags.Quiet)
            {
                return new Step(total, 0);
            }

            var newCas = outcome == StoreOutcome.Stored && HasFlag(line.Span, (byte)'c') ? await RecordFingerprint.ComputeAsync(_store, key, default).ConfigureAwait(false) : 0;
            Reply(outcome switch
            {
                StoreOutcome.Stored => CodeHD,
                StoreOutcome.NotStored => CodeNS,
                StoreOutcome.Exists => CodeEX,
                _ => CodeNF,
            });
            for (var i = 3; i < _tokens.Count; i++)
            {
                var token = line.Span[_tokens[i]];
                switch (token[0])
                {
                    case (byte)'O':
                        Reply(" "u8);
                        Reply(token);
                        break;
                    case (byte)'k':
                        WriteMetaKey(key, flags.Base64Key);
                        break;
                    case (byte)'c':
                        Reply(" c"u8);
                        WriteNumber(newCas);
                        break;
                }
            }

            Reply("\r\n"u8);
        }
        catch (RingKVException e)
        {
            ServerError(e);
        }

        return new Step(total, 0);
    }

    /// <summary>ms MA, MP: append or prepend; with C only to the version that CAS names (EX otherwise).</summary>
    private async ValueTask<StoreOutcome> MetaConcatenateAsync(byte[] key, ReadOnlyMemory<byte> data, MetaFlags flags)
    {
        if (flags.HasCas)
        {
            var current = await RecordFingerprint.ComputeAsync(_store, key, default).ConfigureAwait(false);
            if (current == 0)
            {
                return StoreOutcome.NotStored;
            }

            if (current != flags.CompareCas)
            {
                return StoreOutcome.Exists;
            }
        }

        return await ConcatenateAsync(key, data, append: flags.Mode == (byte)'A').ConfigureAwait(false);
    }

    /// <summary>md: delete, with C only the version that CAS names.</summary>
    private async ValueTask MetaDeleteAsync(ReadOnlyMemory<byte> line)
    {
        if (!TryMetaHeader(line.Span, "CLIENT_ERROR options flags too long\r\n"u8, "CLIENT_ERROR invalid or duplicate flag", out var key, out var flags))
        {
            return;
        }

        if (flags.Invalidate)
        {
            Reply("CLIENT_ERROR invalidate (I) is not supported\r\n"u8);
            return;
        }

        try
        {
            byte[] code;
            var current = flags.HasCas ? await RecordFingerprint.ComputeAsync(_store, key, default).ConfigureAwait(false) : 0;
            if (flags.HasCas && current == 0)
            {
                code = CodeNF;
            }
            else if (flags.HasCas && current != flags.CompareCas)
            {
                code = CodeEX;
            }
            else
            {
                var result = await _store.WriteAsync(WriteRequest.Delete(key)).ConfigureAwait(false);
                await _items.DeleteFlagsAsync(key).ConfigureAwait(false);
                if (result.Existed && flags.Quiet)
                {
                    return;
                }

                code = result.Existed ? CodeHD : CodeNF;
            }

            Reply(code);
            WriteOpaqueAndKey(line.Span, 2, key, flags.Base64Key);
            Reply("\r\n"u8);
        }
        catch (RingKVException e)
        {
            ServerError(e);
        }
    }

    /// <summary>ma: incr and decr, with C, N (create on a miss, J its value), D the delta, T a new TTL.</summary>
    private async ValueTask MetaArithmeticAsync(ReadOnlyMemory<byte> line)
    {
        if (!TryMetaHeader(line.Span, "CLIENT_ERROR options flags too long\r\n"u8, "CLIENT_ERROR invalid or duplicate flag", out var key, out var flags))
        {
            return;
        }

        if (flags.Mode is not (0 or (byte)'I' or (byte)'+' or (byte)'D' or (byte)'-'))
        {
            Reply("CLIENT_ERROR invalid mode for ma M token\r\n"u8);
            return;
        }

        try
        {
            byte[]? code = null;
            var counter = new Counter(flags.Delta, increment: flags.Mode is not ((byte)'D' or (byte)'-'));
            var current = flags.HasCas ? await RecordFingerprint.ComputeAsync(_store, key, default).ConfigureAwait(false) : 0;
            ulong number = 0;
            if (flags.HasCas && current != 0 && current != flags.CompareCas)
            {
                code = CodeEX;
            }
            else if (current != 0 || !flags.HasCas)
            {
                var result = await _store.WriteAsync(WriteRequest.Modify(key, counter)).ConfigureAwait(false);
                if (counter.NonNumeric)
                {
                    Reply("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"u8);
                    return;
                }

                if (result.Applied && counter.Old is not null && counter.New is not null)
                {
                    await _items.CarryFlagsAsync(key, counter.Old, counter.New).ConfigureAwait(false);
                    number = counter.Result;
                }
                else
                {
                    code = CodeNF;
                }
            }
            else
            {
                code = CodeNF;
            }

            if (code == CodeNF && flags.Vivify)
            {
                // N: a miss creates the counter at J (not J plus the delta), as memcached's.
                var initial = Encoding.ASCII.GetBytes(flags.Initial.ToString(System.Globalization.CultureInfo.InvariantCulture));
                var rule = Expiry(flags.VivifyExptime);
                var created = await _store.WriteAsync(WriteRequest.Set(key, initial, SetCondition.IfAbsent, rule)).ConfigureAwait(false);
                if (created.Applied)
                {
                    await _items.WriteFlagsAsync(key, 0, initial, rule).ConfigureAwait(false);
                    number = flags.Initial;
                    code = null;
                }
                else
                {
                    code = CodeNS;
                }
            }

            if (code is not null)
            {
                Reply(code);
                WriteOpaqueAndKey(line.Span, 2, key, flags.Base64Key);
                Reply("\r\n"u8);
                return;
            }

            if (flags.NewTtl)
            {
                var rule = Expiry(flags.Exptime);
                await _store.WriteAsync(WriteRequest.Expire(key, rule)).ConfigureAwait(false);
                await _items.ExpireFlagsAsync(key, rule).ConfigureAwait(false);
            }

            if (flags.Quiet)
            {
                return;
            }

            var digits = new byte[20];
            Utf8Formatter.TryFormat(number, digits, out var digitCount);
            if (flags.Value)
            {
                Reply("VA "u8);
                WriteNumber((ulong)digitCount);
            }
            else
            {
                Reply("HD"u8);
            }

            var (_, cas, expiresAt) = await ReadItemWithExpiryAsync(key, new ArrayBufferWriter<byte>(32), HasFlag(line.Span, (byte)'c')).ConfigureAwait(false);
            var span = line.Span;
            for (var i = 2; i < _tokens.Count; i++)
            {
                var token = span[_tokens[i]];
                switch (token[0])
                {
                    case (byte)'c':
                        Reply(" c"u8);
                        WriteNumber(cas);
                        break;
                    case (byte)'t':
                        Reply(" t"u8);
                        WriteSignedNumber(TtlSeconds(expiresAt));
                        break;
                    case (byte)'O':
                        Reply(" "u8);
                        Reply(token);
                        break;
                    case (byte)'k':
                        WriteMetaKey(key, flags.Base64Key);
                        break;
                }
            }

            Reply("\r\n"u8);
            if (flags.Value)
            {
                Reply(digits.AsSpan(0, digitCount));
                Reply("\r\n"u8);
            }
        }
        catch (RingKVException e)
        {
            ServerError(e);
        }
    }

    /// <summary>me: one line of what is known of an item ("exp" as memcached prints it: minus the seconds left).</summary>
    private async ValueTask MetaDebugAsync(ReadOnlyMemory<byte> line)
    {
        var span = line.Span;
        if (_tokens.Count < 2 || span[_tokens[1]].Length > MemcachedParser.MaxKeyBytes)
        {
            Reply(MetaBadFormat);
            return;
        }

        var base64 = _tokens.Count > 2 && span[_tokens[2]].SequenceEqual("b"u8);
        var key = span[_tokens[1]].ToArray();
        if (base64 && !MetaFlags.TryDecodeKey(span[_tokens[1]], out key))
        {
            Reply("CLIENT_ERROR error decoding key\r\n"u8);
            return;
        }

        try
        {
            var value = new ArrayBufferWriter<byte>(256);
            var (found, cas, expiresAt) = await ReadItemWithExpiryAsync(key, value, withCas: true).ConfigureAwait(false);
            if (!found)
            {
                Reply("EN\r\n"u8);
                return;
            }

            Reply("ME "u8);
            if (base64)
            {
                var encoded = _output.GetSpan(Base64.GetMaxEncodedToUtf8Length(key.Length));
                Base64.EncodeToUtf8(key, encoded, out _, out var written);
                _output.Advance(written);
            }
            else
            {
                Reply(key);
            }

            Reply(" exp="u8);
            WriteSignedNumber(expiresAt == 0 ? -1 : -TtlSeconds(expiresAt));
            Reply(" la=0 cas="u8);
            WriteNumber(cas);
            Reply(" fetch=no cls=1 size="u8);
            WriteNumber((ulong)(key.Length + value.WrittenCount));
            Reply("\r\n"u8);
        }
        catch (RingKVException e)
        {
            ServerError(e);
        }
    }
}
