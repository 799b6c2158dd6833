using System;
using System.Collections.Generic;

namespace RingKV.Server.Commands;

/// <summary>An argument's type as COMMAND DOCS names it (Redis 7's <c>type</c> field).</summary>
internal enum CommandArgumentType : byte
{
    /// <summary><c>string</c>.</summary>
    String,

    /// <summary><c>integer</c>.</summary>
    Integer,

    /// <summary><c>double</c>.</summary>
    Double,

    /// <summary><c>key</c>: a key name.</summary>
    Key,

    /// <summary><c>pattern</c>: a glob.</summary>
    Pattern,

    /// <summary><c>unix-time</c>.</summary>
    UnixTime,

    /// <summary><c>pure-token</c>: the token alone, no value.</summary>
    PureToken,

    /// <summary><c>oneof</c>: exactly one of its arguments.</summary>
    OneOf,

    /// <summary><c>block</c>: its arguments in order.</summary>
    Block,
}

/// <summary>An argument's COMMAND DOCS flags.</summary>
[Flags]
internal enum CommandArgumentFlags : byte
{
    /// <summary>Required, once.</summary>
    None = 0,

    /// <summary><c>optional</c>.</summary>
    Optional = 1 << 0,

    /// <summary><c>multiple</c>: may repeat.</summary>
    Multiple = 1 << 1,

    /// <summary><c>multiple_token</c>: the token repeats with each value.</summary>
    MultipleToken = 1 << 2,
}

/// <summary>One argument of a command, as COMMAND DOCS describes it (and redis-cli's hints show it).</summary>
/// <param name="Name">Its name, lower case.</param>
/// <param name="Type">What it is.</param>
/// <param name="Leader">The literal word that comes first (<c>EX</c> of <c>EX seconds</c>), or null.</param>
/// <param name="Flags">Optional, repeating.</param>
/// <param name="Arguments">The parts of a oneof or block; empty otherwise.</param>
internal sealed record CommandArgument(string Name, CommandArgumentType Type, string? Leader, CommandArgumentFlags Flags, IReadOnlyList<CommandArgument> Arguments)
{
    /// <summary>A key.</summary>
    public static CommandArgument Key(string name) => new(name, CommandArgumentType.Key, null, CommandArgumentFlags.None, []);

    /// <summary>A string, after <paramref name="token"/> when given.</summary>
    public static CommandArgument Str(string name, string? token = null) => new(name, CommandArgumentType.String, token, CommandArgumentFlags.None, []);

    /// <summary>An integer, after <paramref name="token"/> when given.</summary>
    public static CommandArgument Int(string name, string? token = null) => new(name, CommandArgumentType.Integer, token, CommandArgumentFlags.None, []);

    /// <summary>A double.</summary>
    public static CommandArgument Dbl(string name, string? token = null) => new(name, CommandArgumentType.Double, token, CommandArgumentFlags.None, []);

    /// <summary>A glob pattern, after <paramref name="token"/> when given.</summary>
    public static CommandArgument Pattern(string name, string? token = null) => new(name, CommandArgumentType.Pattern, token, CommandArgumentFlags.None, []);

    /// <summary>A Unix time, after <paramref name="token"/> when given.</summary>
    public static CommandArgument UnixTime(string name, string? token = null) => new(name, CommandArgumentType.UnixTime, token, CommandArgumentFlags.None, []);

    /// <summary>A word on its own (<c>NX</c>); named after it in lower case unless <paramref name="name"/> is given.</summary>
    public static CommandArgument Token(string token, string? name = null) =>
        new(name ?? token.ToLowerInvariant(), CommandArgumentType.PureToken, token, CommandArgumentFlags.None, []);

    /// <summary>Exactly one of <paramref name="arguments"/>.</summary>
    public static CommandArgument OneOf(string name, params CommandArgument[] arguments) => new(name, CommandArgumentType.OneOf, null, CommandArgumentFlags.None, arguments);

    /// <summary><paramref name="arguments"/> in order.</summary>
    public static CommandArgument Block(string name, params CommandArgument[] arguments) => new(name, CommandArgumentType.Block, null, CommandArgumentFlags.None, arguments);

    /// <summary>This argument, optional.</summary>
    public CommandArgument Optional() => this with { Flags = Flags | CommandArgumentFlags.Optional };

    /// <summary>This argument, repeating.</summary>
    public CommandArgument Multiple() => this with { Flags = Flags | CommandArgumentFlags.Multiple };

    /// <summary>This argument, repeating with its token before each value.</summary>
    public CommandArgument MultipleToken() => this with { Flags = Flags | CommandArgumentFlags.MultipleToken };

    /// <summary>This oneof or block, after <paramref name="token"/>.</summary>
    public CommandArgument WithToken(string token) => this with { Leader = token };

    /// <summary>The <c>type</c> string.</summary>
    public string TypeName => Type switch
    {
        CommandArgumentType.String => "string",
        CommandArgumentType.Integer => "integer",
        CommandArgumentType.Double => "double",
        CommandArgumentType.Key => "key",
        CommandArgumentType.Pattern => "pattern",
        CommandArgumentType.UnixTime => "unix-time",
        CommandArgumentType.PureToken => "pure-token",
        CommandArgumentType.OneOf => "oneof",
        _ => "block",
    };

    /// <summary>The <c>flags</c> strings, in Redis's order.</summary>
    public string[] FlagNames()
    {
        var names = new List<string>(3);
        if (Flags.HasFlag(CommandArgumentFlags.Optional))
        {
            names.Add("optional");
        }

        if (Flags.HasFlag(CommandArgumentFlags.Multiple))
        {
            names.Add("multiple");
        }

        if (Flags.HasFlag(CommandArgumentFlags.MultipleToken))
        {
            names.Add("multiple_token");
        }

        return [.. names];
    }
}

/// <summary>A command's or subcommand's documentation, as COMMAND DOCS answers it.</summary>
/// <param name="Summary">One short sentence.</param>
/// <param name="Since">The Redis version that introduced it, or RingKV's for RingKV's own (KV.*) commands.</param>
/// <param name="Group">Redis's group name: string, bitmap, generic, server, connection, transactions, cluster.</param>
/// <param name="Complexity">Its time complexity, or null when none is stated.</param>
/// <param name="Arguments">Its arguments after the name (after the subcommand for a subcommand).</param>
internal sealed record CommandDoc(string Summary, string Since, string Group, string? Complexity, IReadOnlyList<CommandArgument> Arguments)
{
    /// <summary>A container command's subcommands by lower-case name (<c>get</c> for CONFIG GET); empty for other commands.</summary>
    public IReadOnlyList<(string Name, CommandDoc Doc)> Subcommands { get; init; } = [];
}
