using System;
using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace RingKV.Net.Resp;

/// <summary>Parses client requests (RESP multibulk arrays and inline lines) from a pipe buffer into a <see cref="RespCommand"/>.</summary>
/// <remarks>
/// Not thread-safe; one per connection. Dispose returns the pooled buffer.
/// Cost: a command lying in the buffer's first segment is parsed in place, without copying or
/// allocating; a command that spans segments, and every inline command (which may need unescaping),
/// is copied into a buffer rented from <see cref="ArrayPool{T}.Shared"/> and owned by the parser.
/// Invariants: (1) every error is decided by a prefix of the bytes, so more bytes never turn an error
/// into a command and the outcome does not depend on where segments split; (2) every size is checked
/// against <see cref="RespLimits"/> before bytes are buffered or copied for it; (3) hostile bytes never
/// throw. After <see cref="ParseStatus.Incomplete"/> the next call must pass the same unconsumed bytes
/// (plus any that arrived), as a PipeReader loop does; the parser remembers how many bytes the pending
/// command needs at least and answers Incomplete in O(1) until they are there, and where a multibulk command's
/// parsed arguments end, so the next call goes on from there (the arguments stay in the same
/// <see cref="RespCommand"/>, which <see cref="RespCommand.Generation"/> checks) instead of scanning them again.
/// Without that, a command of many small arguments cost one pass over all of them per read, quadratic in its size
/// when it trickles in. Rejected alternative: a fully incremental parser that keeps its state between reads
/// (as Redis does) also resumes inside an argument's header, but state spread over calls is where framing bugs
/// live; the resume point is only ever the start of an argument, and every outcome is still decided by a prefix.
/// </remarks>
internal sealed class RespRequestParser : IDisposable
{
    private const int MinCopyBytes = 4096;
    private const int RetainPoolBytes = 64 * 1024;

    private readonly RespLimits _limits;
    private byte[]? _pool;
    private long _pendingNeedBytes;
    private Resumption _resume;
    private string? _errorMessage;

    /// <summary>Creates a parser enforcing <paramref name="limits"/>.</summary>
    public RespRequestParser(RespLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.Validate();
        _limits = limits;
    }

    /// <summary>After <see cref="ParseStatus.Error"/>: the protocol error text without "ERR ", e.g. "Protocol error: invalid bulk length".</summary>
    public string? ErrorMessage => _errorMessage;

    /// <summary>After <see cref="ParseStatus.Error"/>: whether the error is a request over <see cref="RespLimits.MaxRequestBytes"/>.</summary>
    public bool IsRequestTooLarge { get; private set; }

    /// <summary>Multibulk arguments parsed so far, each time one is (for tests: work done, not time).</summary>
    internal long ArgumentsParsed { get; private set; }

    /// <summary>After <see cref="ParseStatus.Incomplete"/>: how many bytes from the start of the buffer the pending command needs at least (0 when unknown).</summary>
    /// <remarks>Never more than <see cref="RespLimits.MaxRequestBytes"/> (a longer need is an error instead), so a receive loop can size its buffer from it.</remarks>
    public long NeedBytes => _pendingNeedBytes;

    /// <summary>Where a multibulk command left incomplete resumes: its count, and the arguments (kept in the command) before a position.</summary>
    private readonly record struct Resumption(RespCommand? Command, int Generation, long Count, int Arguments, int Position);

    private enum Step : byte
    {
        Complete,
        Incomplete,
        Error,
        Skip,
    }

    /// <summary>Parses the first command in <paramref name="buffer"/> into <paramref name="command"/>.</summary>
    /// <param name="buffer">Unconsumed bytes from the reader.</param>
    /// <param name="command">Filled on <see cref="ParseStatus.Complete"/>; cleared otherwise.</param>
    /// <param name="consumed">
    /// Complete: just past the command. Incomplete and Error: past skipped empty lines and empty arrays
    /// (often the start). On Incomplete the caller marks the whole buffer examined; on Error it closes.
    /// </param>
    public ParseStatus TryParse(ReadOnlySequence<byte> buffer, RespCommand command, out SequencePosition consumed)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Clear();
        _errorMessage = null;
        IsRequestTooLarge = false;
        if (_pool is not null && _pool.Length > RetainPoolBytes)
        {
            // A big command is done with (its arguments die with this call); don't pin its buffer.
            ArrayPool<byte>.Shared.Return(_pool);
            _pool = null;
        }

        while (true)
        {
            consumed = buffer.Start;
            if (buffer.Length < _pendingNeedBytes || buffer.IsEmpty)
            {
                return ParseStatus.Incomplete;
            }

            var first = buffer.First;
            var step = ParseContiguous(first, inPool: false, command, out var used, out var needBytes);
            if (step == Step.Incomplete && buffer.Length > first.Length)
            {
                step = ParseCopied(buffer, first.Length, command, out used, out needBytes);
            }

            switch (step)
            {
                case Step.Complete:
                    _pendingNeedBytes = 0;
                    consumed = buffer.GetPosition(used);
                    return ParseStatus.Complete;
                case Step.Skip:
                    _pendingNeedBytes = 0;
                    buffer = buffer.Slice(used);
                    continue;
                case Step.Incomplete:
                    command.Clear();
                    _pendingNeedBytes = needBytes;
                    return ParseStatus.Incomplete;
                default:
                    command.Clear();
                    _pendingNeedBytes = 0;
                    Debug.Assert(_errorMessage is not null);
                    return ParseStatus.Error;
            }
        }
    }

    /// <summary>
    /// Hands over the parser's copy buffer when <paramref name="command"/>'s arguments live in it (an inline command, or
    /// one that spanned segments), so the next parse does not overwrite a command still in flight: the caller returns it to
    /// <see cref="ArrayPool{T}.Shared"/> once the command is done. Null when the arguments lie in the caller's buffer.
    /// </summary>
    public byte[]? DetachBufferOf(RespCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (_pool is null || !command.LivesIn(_pool))
        {
            return null;
        }

        var pool = _pool;
        _pool = null;
        return pool;
    }

    /// <summary>Forgets the pending-command hint; call before parsing bytes unrelated to the previous call.</summary>
    public void Reset()
    {
        _pendingNeedBytes = 0;
        _resume = default;
        _errorMessage = null;
    }

    /// <summary>Returns the pooled buffer.</summary>
    public void Dispose()
    {
        if (_pool is not null)
        {
            ArrayPool<byte>.Shared.Return(_pool);
            _pool = null;
        }
    }

    private Step ParseCopied(in ReadOnlySequence<byte> buffer, int firstLength, RespCommand command, out int used, out long needBytes)
    {
        var total = buffer.Length;
        var cap = (long)_limits.MaxRequestBytes + 64;
        var copyBytes = (int)Math.Min(Math.Min(total, cap), Math.Max(MinCopyBytes, 2L * firstLength));
        while (true)
        {
            EnsurePool(copyBytes);
            buffer.Slice(0, copyBytes).CopyTo(_pool);
            var step = ParseContiguous(_pool.AsMemory(0, copyBytes), inPool: true, command, out used, out needBytes);
            if (step != Step.Incomplete || copyBytes == total || needBytes > total || copyBytes >= cap)
            {
                return step;
            }

            copyBytes = (int)Math.Min(Math.Min(total, cap), Math.Max(needBytes, 2L * copyBytes));
        }
    }

    private Step ParseContiguous(ReadOnlyMemory<byte> memory, bool inPool, RespCommand command, out int used, out long needBytes)
    {
        used = 0;
        needBytes = 0;
        var span = memory.Span;
        if (span.IsEmpty)
        {
            needBytes = 1;
            return Step.Incomplete;
        }

        return span[0] == (byte)'*'
            ? ParseMultibulk(memory, command, out used, out needBytes)
            : ParseInline(span, inPool, command, out used, out needBytes);
    }

    private Step ParseMultibulk(ReadOnlyMemory<byte> memory, RespCommand command, out int used, out long needBytes)
    {
        used = 0;
        needBytes = 0;
        var span = memory.Span;
        long count;
        int position;
        long i;
        var resume = _resume;
        _resume = default;
        if (resume.Command == command && resume.Generation == command.Generation && resume.Position <= span.Length)
        {
            // The arguments before resume.Position were parsed by the last call, which needed more bytes; the
            // caller passes the same bytes again (plus more), so they stand.
            count = resume.Count;
            position = resume.Position;
            i = resume.Arguments;
            command.Resume(memory, resume.Arguments);
        }
        else
        {
            var header = ParseHeader(span, 0, out count, out position);
            if (header == Step.Incomplete)
            {
                needBytes = span.Length + 1L;
                return Step.Incomplete;
            }

            if (header == Step.Error || count > _limits.MaxArguments)
            {
                return Fail(RespErrors.InvalidMultibulkLength);
            }

            if (count <= 0)
            {
                // Redis ignores "*0" and "*-1" requests without a reply.
                used = position;
                return Step.Skip;
            }

            command.Begin(memory);
            i = 0;
        }

        for (; i < count; i++)
        {
            if (position >= span.Length)
            {
                needBytes = position + 1L;
                _resume = new Resumption(command, command.Generation, count, (int)i, position);
                return Step.Incomplete;
            }

            if (span[position] != (byte)'$')
            {
                return FailExpectedDollar(span[position]);
            }

            var header = ParseHeader(span, position, out var length, out var dataStart);
            if (header == Step.Incomplete)
            {
                needBytes = span.Length + 1L;
                _resume = new Resumption(command, command.Generation, count, (int)i, position);
                return Step.Incomplete;
            }

            if (header == Step.Error || length < 0 || length > _limits.MaxBulkBytes)
            {
                return Fail(RespErrors.InvalidBulkLength);
            }

            var end = dataStart + length + 2;
            if (end > _limits.MaxRequestBytes)
            {
                return FailRequestTooLarge();
            }

            if (end > span.Length)
            {
                needBytes = end;
                _resume = new Resumption(command, command.Generation, count, (int)i, position);
                return Step.Incomplete;
            }

            var stop = (int)end;
            if (span[stop - 2] != (byte)'\r' || span[stop - 1] != (byte)'\n')
            {
                return Fail(RespErrors.InvalidBulkLength);
            }

            command.Add(dataStart, (int)length);
            ArgumentsParsed++;
            position = stop;
        }

        used = position;
        return Step.Complete;
    }

    /// <summary>Parses "&lt;prefix&gt;&lt;int64&gt;\r\n" at <paramref name="start"/>; Error when malformed or too long to be a number.</summary>
    private static Step ParseHeader(ReadOnlySpan<byte> span, int start, out long value, out int next)
    {
        value = 0;
        next = 0;
        var digitsStart = start + 1;
        var window = span[digitsStart..Math.Min(span.Length, digitsStart + RespNumber.MaxInt64Length + 1)];
        var cr = window.IndexOf((byte)'\r');
        if (cr < 0)
        {
            return span.Length - digitsStart > RespNumber.MaxInt64Length ? Step.Error : Step.Incomplete;
        }

        var lf = digitsStart + cr + 1;
        if (lf >= span.Length)
        {
            return Step.Incomplete;
        }

        if (span[lf] != (byte)'\n' || !RespNumber.TryParseInt64(window[..cr], out value))
        {
            return Step.Error;
        }

        next = lf + 1;
        return Step.Complete;
    }

    private Step ParseInline(ReadOnlySpan<byte> span, bool inPool, RespCommand command, out int used, out long needBytes)
    {
        used = 0;
        needBytes = 0;
        var maxInline = _limits.MaxInlineBytes;
        var window = span[..Math.Min(span.Length, maxInline + 2)];
        var lf = window.IndexOf((byte)'\n');
        if (lf < 0)
        {
            if (span.Length >= maxInline + 2)
            {
                return Fail(RespErrors.TooBigInlineRequest);
            }

            needBytes = span.Length + 1L;
            return Step.Incomplete;
        }

        var lineLength = lf > 0 && span[lf - 1] == (byte)'\r' ? lf - 1 : lf;
        if (lineLength > maxInline)
        {
            return Fail(RespErrors.TooBigInlineRequest);
        }

        // Unescaping rewrites the line, so it works on the pooled copy; inline requests are rare (telnet, scripts).
        if (!inPool)
        {
            EnsurePool(lineLength);
            span[..lineLength].CopyTo(_pool);
        }

        Debug.Assert(_pool is not null);
        command.Begin(_pool.AsMemory(0, lineLength));
        if (!SplitInline(_pool.AsSpan(0, lineLength), command))
        {
            return Fail(RespErrors.UnbalancedQuotes);
        }

        used = lf + 1;
        return command.Count == 0 ? Step.Skip : Step.Complete;
    }

    /// <summary>Splits a line into arguments in place, as Redis' sdssplitargs does; false on unbalanced quotes.</summary>
    /// <remarks>Writes never overtake reads: each output byte consumes at least one input byte.</remarks>
    private static bool SplitInline(Span<byte> line, RespCommand command)
    {
        var read = 0;
        var write = 0;
        var length = line.Length;
        while (true)
        {
            while (read < length && IsSpace(line[read]))
            {
                read++;
            }

            if (read == length)
            {
                return true;
            }

            var start = write;
            var inDouble = false;
            var inSingle = false;
            while (true)
            {
                if (inDouble)
                {
                    if (read == length)
                    {
                        return false;
                    }

                    var c = line[read];
                    if (c == (byte)'\\' && read + 3 < length && line[read + 1] == (byte)'x'
                        && IsHex(line[read + 2]) && IsHex(line[read + 3]))
                    {
                        line[write++] = (byte)((HexValue(line[read + 2]) << 4) | HexValue(line[read + 3]));
                        read += 4;
                    }
                    else if (c == (byte)'\\' && read + 1 < length)
                    {
                        line[write++] = line[read + 1] switch
                        {
                            (byte)'n' => (byte)'\n',
                            (byte)'r' => (byte)'\r',
                            (byte)'t' => (byte)'\t',
                            (byte)'b' => (byte)'\b',
                            (byte)'a' => (byte)'\a',
                            var other => other,
                        };
                        read += 2;
                    }
                    else if (c == (byte)'"')
                    {
                        read++;
                        if (read < length && !IsSpace(line[read]))
                        {
                            return false;
                        }

                        break;
                    }
                    else
                    {
                        line[write++] = c;
                        read++;
                    }
                }
                else if (inSingle)
                {
                    if (read == length)
                    {
                        return false;
                    }

                    var c = line[read];
                    if (c == (byte)'\\' && read + 1 < length && line[read + 1] == (byte)'\'')
                    {
                        line[write++] = (byte)'\'';
                        read += 2;
                    }
                    else if (c == (byte)'\'')
                    {
                        read++;
                        if (read < length && !IsSpace(line[read]))
                        {
                            return false;
                        }

                        break;
                    }
                    else
                    {
                        line[write++] = c;
                        read++;
                    }
                }
                else
                {
                    if (read == length || IsSpace(line[read]))
                    {
                        break;
                    }

                    var c = line[read];
                    if (c == (byte)'"')
                    {
                        inDouble = true;
                    }
                    else if (c == (byte)'\'')
                    {
                        inSingle = true;
                    }
                    else
                    {
                        line[write++] = c;
                    }

                    read++;
                }
            }

            command.Add(start, write - start);
        }
    }

    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0B or 0x0C;

    private static bool IsHex(byte c) => char.IsAsciiHexDigit((char)c);

    private static int HexValue(byte c) => c <= (byte)'9' ? c - '0' : (c | 0x20) - 'a' + 10;

    [MemberNotNull(nameof(_pool))]
    private void EnsurePool(int size)
    {
        if (_pool is null || _pool.Length < size)
        {
            if (_pool is not null)
            {
                ArrayPool<byte>.Shared.Return(_pool);
                _pool = null;
            }

            _pool = ArrayPool<byte>.Shared.Rent(Math.Max(size, MinCopyBytes));
        }
    }

    private Step Fail(string message)
    {
        _errorMessage = message;
        return Step.Error;
    }

    private Step FailRequestTooLarge()
    {
        IsRequestTooLarge = true;
        return Fail(string.Concat(RespErrors.RequestTooLargePrefix, _limits.MaxRequestBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), " bytes)"));
    }

    private Step FailExpectedDollar(byte got)
    {
        // Redis echoes the raw byte; a control byte would break the reply line, so it becomes '?'.
        var shown = got is >= 0x20 and < 0x7F ? (char)got : '?';
        _errorMessage = string.Concat(RespErrors.ExpectedDollarPrefix, shown.ToString(), "'");
        return Step.Error;
    }
}
