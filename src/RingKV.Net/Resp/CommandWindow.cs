using System;
using System.Buffers;
using System.Collections.Generic;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;

namespace RingKV.Net.Resp;

/// <summary>The commands of one connection that are running at once, and the order their replies leave in.</summary>
/// <remarks>
/// Not thread-safe: used by the connection's loop only. The first command in flight writes its reply straight to the
/// connection's writer when it completes; every command started after it writes into a reply buffer of its own, copied
/// to the connection's writer in request order by <see cref="DrainAsync"/>. So replies leave in request order whatever
/// order the commands complete in, and a pipeline of commands waiting on replicas waits for the slowest, not for the sum.
/// Which commands may overlap is the handler's decision (<see cref="IRespHandler.MayOverlap"/>). Side buffers are kept
/// for the connection's life, so a steady pipeline allocates nothing.
/// </remarks>
internal sealed class CommandWindow : IDisposable
{
    private const int SideBufferBytes = 1024;

    private readonly List<Entry> _entries = [];
    private readonly Stack<(ReplyBuffer Buffer, RespWriter Writer)> _spare = new();
    private readonly Stack<RespCommand> _spareCommands = new();
    private readonly RespCommand _main = new();
    private readonly int _retainBytes;

    /// <summary>Creates a window of at most <paramref name="capacity"/> commands; side buffers grown past <paramref name="retainBytes"/> are given back.</summary>
    public CommandWindow(int capacity, int retainBytes)
    {
        Capacity = capacity;
        _retainBytes = retainBytes;
    }

    /// <summary>Most commands in flight at once.</summary>
    public int Capacity { get; }

    /// <summary>Commands in flight (or completed and not yet drained).</summary>
    public int Count => _entries.Count;

    /// <summary>Whether another command must wait for the window to drain.</summary>
    public bool IsFull => _entries.Count >= Capacity;

    /// <summary>
    /// The command object the next command is parsed into: the connection's own while nothing is in flight, else a spare,
    /// because a command in flight keeps its arguments until its reply (a handler may read them after an await).
    /// </summary>
    public RespCommand NextCommand() => _entries.Count == 0 ? _main : _spareCommands.Count > 0 ? _spareCommands.Pop() : new RespCommand();

    /// <summary>Gives back a command object that <see cref="NextCommand"/> handed out and no entry holds.</summary>
    public void Release(RespCommand command)
    {
        if (!ReferenceEquals(command, _main))
        {
            command.Clear();
            _spareCommands.Push(command);
        }
    }

    /// <summary>
    /// The writer a command started now replies through: the connection's own when nothing is in flight, else a side
    /// writer speaking the same protocol. Requires: <see cref="Add"/> follows for this command unless the window was empty.
    /// </summary>
    public RespWriter WriterFor(RespWriter main)
    {
        if (_entries.Count == 0)
        {
            return main;
        }

        var side = _spare.Count > 0 ? _spare.Pop() : NewSide();
        side.Writer.Protocol = main.Protocol;
        _pendingSide = side;
        return side.Writer;
    }

    /// <summary>
    /// Records a started command: its task, the writer <see cref="WriterFor"/> gave it, its command object (null for
    /// none), and the buffer its arguments live in when it owns one (returned to <see cref="ArrayPool{T}.Shared"/> once done).
    /// </summary>
    public void Add(ValueTask<RespAction> task, RespWriter writer, RespWriter main, RespCommand? command, byte[]? arguments = null)
    {
        if (ReferenceEquals(writer, main))
        {
            _entries.Add(new Entry(task, null, null, command, arguments));
            return;
        }

        var side = _pendingSide!.Value;
        _pendingSide = null;
        _entries.Add(new Entry(task, side.Buffer, side.Writer, command, arguments));
    }

    /// <summary>
    /// Waits for every command in flight, in order, copying side replies to <paramref name="main"/>; returns
    /// <see cref="RespAction.Close"/> when any of them asked to close. A command that throws fails the connection, after the
    /// others have finished (their buffers are not reused while they may still write).
    /// </summary>
    public async ValueTask<RespAction> DrainAsync(RespWriter main)
    {
        var action = RespAction.Continue;
        ExceptionDispatchInfo? failure = null;
        foreach (var entry in _entries)
        {
            var result = RespAction.Continue;
            try
            {
                result = entry.Task.IsCompletedSuccessfully ? entry.Task.Result : await entry.Task.ConfigureAwait(false);
            }
            catch (Exception e)
            {
                failure ??= ExceptionDispatchInfo.Capture(e);
            }

            if (entry.Buffer is { } buffer)
            {
                if (failure is null && action == RespAction.Continue)
                {
                    main.WriteRaw(buffer.UnsentMemory.Span);
                }

                buffer.Clear(_retainBytes);
                _spare.Push((buffer, entry.Writer!));
            }

            if (entry.Command is { } command)
            {
                Release(command);
            }

            if (entry.Arguments is { } arguments)
            {
                ArrayPool<byte>.Shared.Return(arguments);
            }

            if (result == RespAction.Close)
            {
                action = RespAction.Close; // the replies before and of the closing command leave; none after it
            }
        }

        _entries.Clear();
        failure?.Throw();
        return action;
    }

    public void Dispose()
    {
        foreach (var (buffer, _) in _spare)
        {
            buffer.Dispose();
        }

        _spare.Clear();
    }

    private (ReplyBuffer Buffer, RespWriter Writer)? _pendingSide;

    private static (ReplyBuffer Buffer, RespWriter Writer) NewSide()
    {
        var buffer = new ReplyBuffer(SideBufferBytes);
        return (buffer, new RespWriter(buffer));
    }

    private readonly record struct Entry(ValueTask<RespAction> Task, ReplyBuffer? Buffer, RespWriter? Writer, RespCommand? Command, byte[]? Arguments);
}
