using System;
using System.Threading.Tasks;
using RingKV.Net.Resp;

namespace RingKV.Server.Commands;

/// <summary>What a command is, as COMMAND reports it and as dispatch and routing use it.</summary>
[Flags]
internal enum CommandFlags : ushort
{
    /// <summary>Nothing special.</summary>
    None = 0,

    /// <summary>Reads data (COMMAND's <c>readonly</c>).</summary>
    Read = 1 << 0,

    /// <summary>Changes data (<c>write</c>).</summary>
    Write = 1 << 1,

    /// <summary>An administrative command (<c>admin</c>).</summary>
    Admin = 1 << 2,

    /// <summary>Constant or logarithmic time (<c>fast</c>).</summary>
    Fast = 1 << 3,

    /// <summary>Runs before AUTH (<c>noauth</c>).</summary>
    NoAuth = 1 << 4,

    /// <summary>Runs while the node loads (<c>loading</c>).</summary>
    Loading = 1 << 5,

    /// <summary>May grow memory (<c>denyoom</c>).</summary>
    DenyOom = 1 << 6,

    /// <summary>
    /// Touches the whole keyspace or the connection's state rather than named keys: it waits for the connection's
    /// commands in flight, and later commands wait for it.
    /// </summary>
    Barrier = 1 << 7,

    /// <summary>Runs at once inside MULTI instead of being queued (EXEC, DISCARD, MULTI, WATCH, UNWATCH, QUIT, RESET).</summary>
    Transaction = 1 << 8,

    /// <summary>INCR, DECR, INCRBY, DECRBY: on a single node a pipelined one joins the run of deferred writes.</summary>
    Counter = 1 << 9,
}

/// <summary>Runs one command of a connection; writes exactly one reply to the writer, possibly after an await.</summary>
/// <remarks>
/// Requires: the command's arguments are read before the first await (the connection parses the next command into the
/// same <see cref="RespCommand"/>); memory taken with <see cref="RespCommand.GetMemory"/> stays valid until the reply.
/// </remarks>
internal delegate ValueTask<RespAction> CommandExecutor(CommandHandler handler, RespCommand command, RespWriter writer);

/// <summary>One entry of the command table.</summary>
/// <param name="Name">Lower-case name as COMMAND lists it.</param>
/// <param name="Arity">Redis arity: n exact, -n at least n, the name included.</param>
/// <param name="Flags">What it is.</param>
/// <param name="FirstKey">Position of the first key, 0 when it takes none.</param>
/// <param name="LastKey">Position of the last key; -1 the last argument.</param>
/// <param name="KeyStep">Distance between keys (2 for MSET).</param>
/// <param name="Execute">Runs it.</param>
/// <param name="Doc">What COMMAND DOCS says of it.</param>
internal sealed record CommandSpec(string Name, int Arity, CommandFlags Flags, int FirstKey, int LastKey, int KeyStep, CommandExecutor Execute, CommandDoc Doc)
{
    /// <summary>Its place in <see cref="CommandTable.All"/>: where per-command figures (LATENCY HISTOGRAM) are kept.</summary>
    public int Index { get; internal set; }

    /// <summary>The name as bytes, upper case, for lookup.</summary>
    public byte[] UpperName { get; } = System.Text.Encoding.ASCII.GetBytes(Name.ToUpperInvariant());

    /// <summary>Whether <paramref name="count"/> arguments (the name included) fit the arity.</summary>
    public bool AcceptsArgumentCount(int count) => Arity > 0 ? count == Arity : count >= -Arity;

    /// <summary>The argument positions of the keys of a command with <paramref name="count"/> arguments: start, end (inclusive), step.</summary>
    public (int First, int Last, int Step) KeyPositions(int count)
    {
        if (FirstKey == 0 || count <= FirstKey)
        {
            return (0, -1, 1);
        }

        var last = LastKey < 0 ? count + LastKey : Math.Min(LastKey, count - 1);
        return (FirstKey, last, Math.Max(1, KeyStep));
    }

    /// <summary>The COMMAND flags of this command, as Redis names them.</summary>
    public string[] FlagNames()
    {
        var names = new System.Collections.Generic.List<string>();
        if (Flags.HasFlag(CommandFlags.Write))
        {
            names.Add("write");
        }

        if (Flags.HasFlag(CommandFlags.Read))
        {
            names.Add("readonly");
        }

        if (Flags.HasFlag(CommandFlags.DenyOom))
        {
            names.Add("denyoom");
        }

        if (Flags.HasFlag(CommandFlags.Admin))
        {
            names.Add("admin");
        }

        if (Flags.HasFlag(CommandFlags.NoAuth))
        {
            names.Add("noauth");
        }

        if (Flags.HasFlag(CommandFlags.Loading))
        {
            names.Add("loading");
        }

        if (Flags.HasFlag(CommandFlags.Fast))
        {
            names.Add("fast");
        }

        return [.. names];
    }
}
