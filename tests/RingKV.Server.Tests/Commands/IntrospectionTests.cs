using System;
using System.Linq;
using RingKV.Server.Tests.Support;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>HELP, CONFIG, CLIENT LIST filters and CLIENT SETINFO, as Redis 7 answers them (issue 15).</summary>
public sealed class IntrospectionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData("COMMAND", "COUNT")]
    [InlineData("CLIENT", "LIST [options ...]")]
    [InlineData("CONFIG", "GET <pattern>")]
    public void Help_ThreeCommands_LinesAsRedisShapesThem(string command, string documentedSubcommand)
    {
        using var raw = fixture.Server.ConnectRaw();
        var lines = Assert.IsType<object?[]>(raw.Call(command, "HELP")).Select(l => Assert.IsType<string>(l)).ToArray();
        Assert.Equal($"{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", lines[0]);
        Assert.Contains(documentedSubcommand, lines);
        Assert.Equal(["HELP", "    Prints this help."], lines[^2..]);

        // The error that sends users to HELP, and HELP's own arity.
        Assert.Equal($"-ERR unknown subcommand 'nosuch'. Try {command} HELP.", raw.CallText(command, "nosuch"));
        Assert.Equal($"-ERR wrong number of arguments for '{command.ToLowerInvariant()}|help' command", raw.CallText(command, "HELP", "extra"));
    }

    [Fact]
    public void ConfigResetStatAndRewrite_Any_OwnErrorsNotConfigSet()
    {
        using var raw = fixture.Server.ConnectRaw();
        var resetStat = raw.CallText("CONFIG", "RESETSTAT");
        Assert.StartsWith("-ERR CONFIG RESETSTAT is not supported", resetStat, StringComparison.Ordinal);
        var rewrite = raw.CallText("CONFIG", "REWRITE");
        Assert.StartsWith("-ERR CONFIG REWRITE is not supported", rewrite, StringComparison.Ordinal);
        Assert.StartsWith("-ERR CONFIG SET is not supported", raw.CallText("CONFIG", "SET", "maxclients", "5"), StringComparison.Ordinal);
        Assert.Equal("-ERR wrong number of arguments for 'config|set' command", raw.CallText("CONFIG", "SET", "maxclients"));
        Assert.Equal("-ERR wrong number of arguments for 'config|resetstat' command", raw.CallText("CONFIG", "RESETSTAT", "now"));
        Assert.Equal("-ERR wrong number of arguments for 'config|get' command", raw.CallText("CONFIG", "GET"));
    }

    [Fact]
    public void ClientList_IdAndTypeFilters_FilterOrSyntaxError()
    {
        using var me = fixture.Server.ConnectRaw();
        using var other = fixture.Server.ConnectRaw();
        var myId = Assert.IsType<long>(me.Call("CLIENT", "ID"));
        var otherId = Assert.IsType<long>(other.Call("CLIENT", "ID"));

        var mine = Lines(me.CallText("CLIENT", "LIST", "ID", myId));
        Assert.Equal([$"id={myId}"], mine.Select(l => l.Split(' ')[0]));
        var both = Lines(me.CallText("CLIENT", "LIST", "ID", otherId, myId, 999_999_999));
        Assert.Equal(new[] { myId, otherId }.Order(), both.Select(l => long.Parse(l.Split(' ')[0][3..], System.Globalization.CultureInfo.InvariantCulture)).Order());

        var normal = Lines(me.CallText("CLIENT", "LIST", "TYPE", "normal"));
        Assert.Contains(normal, l => l.StartsWith($"id={myId} ", StringComparison.Ordinal));
        Assert.Empty(Lines(me.CallText("CLIENT", "LIST", "TYPE", "pubsub")));
        Assert.Empty(Lines(me.CallText("CLIENT", "LIST", "TYPE", "replica")));

        Assert.Equal("-ERR Unknown client type 'bogus'", me.CallText("CLIENT", "LIST", "TYPE", "bogus"));
        Assert.Equal("-ERR Invalid client ID", me.CallText("CLIENT", "LIST", "ID", "abc"));
        Assert.Equal("-ERR syntax error", me.CallText("CLIENT", "LIST", "ID"));
        Assert.Equal("-ERR syntax error", me.CallText("CLIENT", "LIST", "BOGUS"));
        Assert.Equal("-ERR syntax error", me.CallText("CLIENT", "LIST", "TYPE", "normal", "ID", "1"));
    }

    [Fact]
    public void ClientSetInfo_LibNameAndVersion_ValidatedAndListed()
    {
        using var raw = fixture.Server.ConnectRaw();
        var id = Assert.IsType<long>(raw.Call("CLIENT", "ID"));
        Assert.Equal("+OK", raw.CallText("CLIENT", "SETINFO", "LIB-NAME", "redis-py"));
        Assert.Equal("+OK", raw.CallText("CLIENT", "SETINFO", "lib-ver", "5.0.1"));
        var line = Assert.Single(Lines(raw.CallText("CLIENT", "LIST", "ID", id)));
        Assert.EndsWith(" lib-name=redis-py lib-ver=5.0.1", line, StringComparison.Ordinal);

        Assert.Equal("-ERR Unrecognized option 'LIB-COLOR'", raw.CallText("CLIENT", "SETINFO", "LIB-COLOR", "red"));
        Assert.Equal("-ERR LIB-NAME cannot contain spaces, newlines or special characters.", raw.CallText("CLIENT", "SETINFO", "LIB-NAME", "two words"));
        Assert.Equal("-ERR wrong number of arguments for 'client|setinfo' command", raw.CallText("CLIENT", "SETINFO", "LIB-NAME"));

        // A refused value changes nothing; an empty one clears.
        Assert.EndsWith(" lib-name=redis-py lib-ver=5.0.1", Assert.Single(Lines(raw.CallText("CLIENT", "LIST", "ID", id))), StringComparison.Ordinal);
        Assert.Equal("+OK", raw.CallText("CLIENT", "SETINFO", "LIB-VER", ""));
        Assert.EndsWith(" lib-name=redis-py lib-ver=", Assert.Single(Lines(raw.CallText("CLIENT", "LIST", "ID", id))), StringComparison.Ordinal);
    }

    [Fact]
    public void FlushAll_UnknownOption_SyntaxErrorBeforeTheDisabledCheck()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("-ERR syntax error", raw.CallText("FLUSHALL", "BOGUS"));
        Assert.Equal("-ERR syntax error", raw.CallText("FLUSHDB", "ASYNC", "SYNC"));
        Assert.StartsWith("-ERR FLUSHALL is disabled", raw.CallText("FLUSHALL", "ASYNC"), StringComparison.Ordinal);
    }

    private static string[] Lines(string list) => list.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
