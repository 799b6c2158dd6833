using System;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace RingKV.Net.Resp;

/// <summary>One parsed request: its arguments as slices of a contiguous buffer. Reused for every command of a connection.</summary>
/// <remarks>
/// Not thread-safe. Ownership: the arguments point into the receive buffer (one-segment path, zero copy)
/// or into the parser's pooled buffer; they are valid until the next parse with the same parser or until
/// the buffer is reused, whichever comes first. A handler that keeps an argument longer copies it.
/// <see cref="RespSocketConnection"/> keeps them valid while the command is in flight: it parses the next command into
/// another instance, takes the parser's buffer over (<see cref="RespRequestParser.DetachBufferOf"/>), and reuses the
/// receive buffer only once every command of the receive is done.
/// </remarks>
internal sealed class RespCommand
{
    private const int InitialCapacity = 16;

    private ReadOnlyMemory<byte> _source;
    private Range32[] _arguments = new Range32[InitialCapacity];
    private int _count;

    /// <summary>Number of arguments, the command name included.</summary>
    public int Count => _count;

    /// <summary>The command name (argument 0), or empty when there are no arguments.</summary>
    public ReadOnlySpan<byte> Name => _count == 0 ? default : this[0];

    /// <summary>The argument at <paramref name="index"/>.</summary>
    /// <remarks>Requires: 0 &lt;= index &lt; <see cref="Count"/>.</remarks>
    public ReadOnlySpan<byte> this[int index]
    {
        get
        {
            if ((uint)index >= (uint)_count)
            {
                ThrowIndex(index);
            }

            var range = _arguments[index];
            return _source.Span.Slice(range.Offset, range.Length);
        }
    }

    /// <summary>The argument at <paramref name="index"/> as memory, for code that must cross an await while the command is still valid.</summary>
    public ReadOnlyMemory<byte> GetMemory(int index)
    {
        if ((uint)index >= (uint)_count)
        {
            ThrowIndex(index);
        }

        var range = _arguments[index];
        return _source.Slice(range.Offset, range.Length);
    }

    /// <summary>The contiguous bytes every argument lies in; with <see cref="OffsetOf"/>, a handler can pass all arguments on without copying them.</summary>
    public ReadOnlySpan<byte> Source => _source.Span;

    /// <summary>Where the argument at <paramref name="index"/> starts in <see cref="Source"/>.</summary>
    public int OffsetOf(int index)
    {
        if ((uint)index >= (uint)_count)
        {
            ThrowIndex(index);
        }

        return _arguments[index].Offset;
    }

    /// <summary>Whether the command name equals <paramref name="upperName"/> ignoring ASCII case, e.g. <c>IsCommand("GET"u8)</c>.</summary>
    public bool IsCommand(ReadOnlySpan<byte> upperName) => _count > 0 && Ascii.EqualsIgnoreCase(this[0], upperName);

    /// <summary>Whether the argument at <paramref name="index"/> equals <paramref name="literal"/> ignoring ASCII case; false when out of range.</summary>
    public bool ArgumentEquals(int index, ReadOnlySpan<byte> literal) =>
        (uint)index < (uint)_count && Ascii.EqualsIgnoreCase(this[index], literal);

    /// <summary>Parses the argument at <paramref name="index"/> as a strict int64 (Redis rules); on false reply <see cref="RespErrors.NotInteger"/>.</summary>
    public bool TryGetInt64(int index, out long value)
    {
        if ((uint)index >= (uint)_count)
        {
            value = 0;
            return false;
        }

        return RespNumber.TryParseInt64(this[index], out value);
    }

    /// <summary>Parses the argument at <paramref name="index"/> as a double (Redis rules); on false reply <see cref="RespErrors.NotFloat"/>.</summary>
    public bool TryGetDouble(int index, out double value)
    {
        if ((uint)index >= (uint)_count)
        {
            value = 0;
            return false;
        }

        return RespNumber.TryParseDouble(this[index], out value);
    }

    /// <summary>A command over copies of <paramref name="arguments"/> (one buffer): for commands kept past their receive, as MULTI queues them.</summary>
    public static RespCommand Of(byte[][] arguments)
    {
        var length = 0;
        foreach (var argument in arguments)
        {
            length += argument.Length;
        }

        var buffer = new byte[length];
        var command = new RespCommand();
        command.Begin(buffer);
        var offset = 0;
        foreach (var argument in arguments)
        {
            argument.CopyTo(buffer, offset);
            command.Add(offset, argument.Length);
            offset += argument.Length;
        }

        return command;
    }

    /// <summary>Copies the arguments into new arrays; for tests and diagnostics, never on a hot path.</summary>
    public byte[][] ToArrays()
    {
        var result = new byte[_count][];
        for (var i = 0; i < _count; i++)
        {
            result[i] = this[i].ToArray();
        }

        return result;
    }

    /// <summary>Changes with every <see cref="Begin"/>: a parser resuming a command checks nobody began another in between.</summary>
    internal int Generation { get; private set; }

    /// <summary>Starts a new command over <paramref name="source"/>.</summary>
    internal void Begin(ReadOnlyMemory<byte> source)
    {
        _source = source;
        _count = 0;
        Generation++;
    }

    /// <summary>Takes up the command begun last, over <paramref name="source"/> (the same bytes, maybe moved, plus more), with its first <paramref name="count"/> arguments.</summary>
    /// <remarks>Requires: no <see cref="Begin"/> since those arguments were added (same <see cref="Generation"/>), and <paramref name="count"/> of them were.</remarks>
    internal void Resume(ReadOnlyMemory<byte> source, int count)
    {
        Debug.Assert(count <= _arguments.Length);
        _source = source;
        _count = count;
    }

    /// <summary>Appends an argument; the array grows as arguments arrive, never from a declared count.</summary>
    internal void Add(int offset, int length)
    {
        Debug.Assert(offset >= 0 && length >= 0 && offset + length <= _source.Length);
        if (_count == _arguments.Length)
        {
            Array.Resize(ref _arguments, _arguments.Length * 2);
        }

        _arguments[_count++] = new Range32(offset, length);
    }

    /// <summary>Whether the arguments point into <paramref name="array"/>.</summary>
    internal bool LivesIn(byte[] array) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(_source, out var segment) && ReferenceEquals(segment.Array, array);

    /// <summary>Forgets the arguments and the buffer they point into.</summary>
    internal void Clear()
    {
        _source = default;
        _count = 0;
    }

    [DoesNotReturn]
    private static void ThrowIndex(int index) =>
        throw new ArgumentOutOfRangeException(nameof(index), index, "argument index out of range");

    private readonly record struct Range32(int Offset, int Length);
}
