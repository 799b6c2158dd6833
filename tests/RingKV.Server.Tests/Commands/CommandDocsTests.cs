using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using RingKV.Server.Commands;
using RingKV.Server.Tests.Support;
using RingKV.Testing.Processes;
using Xunit;

namespace RingKV.Server.Tests.Commands;

/// <summary>COMMAND DOCS from the command table, in Redis 7's reply shape under RESP2 and RESP3.</summary>
public sealed class CommandDocsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public void CommandDocs_Get_SummaryGroupComplexityAndKeyArgument()
    {
        using var raw = fixture.Server.ConnectRaw();
        var docs = Map(raw.Call("COMMAND", "DOCS", "get"));
        var get = Map(Assert.Single(docs, e => e.Key == "get").Value);
        Assert.Equal(["summary", "since", "group", "complexity", "arguments"], get.Select(e => e.Key));
        Assert.Equal("Get the value of a key", Text(Value(get, "summary")));
        Assert.Equal("1.0.0", Text(Value(get, "since")));
        Assert.Equal("string", Text(Value(get, "group")));
        Assert.Equal("O(1)", Text(Value(get, "complexity")));
        var key = Map(Assert.Single(Assert.IsType<object?[]>(Value(get, "arguments"))));
        Assert.Equal(["name", "type", "key_spec_index"], key.Select(e => e.Key));
        Assert.Equal("key", Text(Value(key, "name")));
        Assert.Equal("key", Text(Value(key, "type")));
        Assert.Equal(0L, Value(key, "key_spec_index"));
    }

    [Fact]
    public void CommandDocs_Set_NestedOneOfWithTokensAndFlagsAsRedisGivesThem()
    {
        using var raw = fixture.Server.ConnectRaw();
        var set = Map(Value(Map(raw.Call("COMMAND", "DOCS", "SET")), "set"));
        var arguments = Assert.IsType<object?[]>(Value(set, "arguments")).Select(Map).ToArray();
        Assert.Equal(["key", "value", "condition", "get", "expiration"], arguments.Select(a => Text(Value(a, "name"))));
        Assert.Equal(["key", "string", "oneof", "pure-token", "oneof"], arguments.Select(a => Text(Value(a, "type"))));

        var get = arguments[3];
        Assert.Equal(["name", "type", "token", "flags"], get.Select(e => e.Key));
        Assert.Equal("GET", Text(Value(get, "token")));
        Assert.Equal(["optional"], Assert.IsType<object?[]>(Value(get, "flags")).Select(Text));

        var expiration = Assert.IsType<object?[]>(Value(arguments[4], "arguments")).Select(Map).ToArray();
        Assert.Equal(["EX", "PX", "EXAT", "PXAT", "KEEPTTL"], expiration.Select(a => Text(Value(a, "token"))));
        Assert.Equal(["integer", "integer", "unix-time", "unix-time", "pure-token"], expiration.Select(a => Text(Value(a, "type"))));
    }

    [Fact]
    public void CommandDocs_ContainerCommand_SubcommandsNamedWithBar()
    {
        using var raw = fixture.Server.ConnectRaw();
        var config = Map(Value(Map(raw.Call("COMMAND", "DOCS", "config")), "config"));
        Assert.Equal(["summary", "since", "group", "complexity", "subcommands"], config.Select(e => e.Key));
        var subcommands = Map(Value(config, "subcommands"));
        Assert.Equal(["config|get", "config|help", "config|resetstat", "config|rewrite", "config|set"], subcommands.Select(e => e.Key).Order(StringComparer.Ordinal));
        var configSet = Map(Value(subcommands, "config|set"));
        Assert.Equal("server", Text(Value(configSet, "group")));
        var data = Map(Assert.Single(Assert.IsType<object?[]>(Value(configSet, "arguments"))));
        Assert.Equal("block", Text(Value(data, "type")));
        Assert.Equal(["multiple"], Assert.IsType<object?[]>(Value(data, "flags")).Select(Text));

        foreach (var container in new[] { "client", "command", "object", "memory", "slowlog", "latency" })
        {
            var doc = Map(Value(Map(raw.Call("COMMAND", "DOCS", container)), container));
            Assert.All(Map(Value(doc, "subcommands")), s => Assert.StartsWith(container + "|", s.Key, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void CommandDocs_NoNames_EveryCommandInCommandList()
    {
        using var raw = fixture.Server.ConnectRaw();
        var listed = Assert.IsType<object?[]>(raw.Call("COMMAND", "LIST")).Select(Text).Order(StringComparer.Ordinal);
        var docs = Map(raw.Call("COMMAND", "DOCS"));
        Assert.Equal(listed, docs.Select(e => e.Key).Order(StringComparer.Ordinal));
        Assert.All(docs, e => Assert.NotEmpty(Text(Value(Map(e.Value), "summary"))));
    }

    [Fact]
    public void CommandDocs_UnknownName_Omitted()
    {
        using var raw = fixture.Server.ConnectRaw();
        var docs = Map(raw.Call("COMMAND", "DOCS", "nosuchcommand", "ttl", "hset"));
        Assert.Equal(["ttl"], docs.Select(e => e.Key));
        Assert.Empty(Map(raw.Call("COMMAND", "DOCS", "nosuchcommand")));
    }

    [Fact]
    public void CommandDocs_Resp2AndResp3_FlatArrayOrMapAndSetOfFlags()
    {
        using var resp2 = fixture.Server.ConnectRaw();
        resp2.Send(RawClient.Encode("COMMAND", "DOCS", "ping"));
        Assert.Equal("*2\r\n", resp2.ReadRawLine());
        Assert.Equal("$4\r\n", resp2.ReadRawLine());
        Assert.Equal("ping\r\n", resp2.ReadRawLine());
        Assert.Equal("*10\r\n", resp2.ReadRawLine()); // summary, since, group, complexity, arguments: 5 pairs
        Assert.Equal("+PONG", Drain(resp2, "*"));

        using var resp3 = fixture.Server.ConnectRaw();
        Assert.IsType<object?[]>(resp3.Call("HELLO", "3"));
        resp3.Send(RawClient.Encode("COMMAND", "DOCS", "ping"));
        Assert.Equal("%1\r\n", resp3.ReadRawLine());
        Assert.Equal("$4\r\n", resp3.ReadRawLine());
        Assert.Equal("ping\r\n", resp3.ReadRawLine());
        Assert.Equal("%5\r\n", resp3.ReadRawLine());
        Assert.Equal("+PONG", Drain(resp3, "~1\r\n+optional\r\n"));
    }

    [Fact]
    public void CommandTable_EveryCommandAndSubcommand_HasSummarySinceAndRedisGroup()
    {
        string[] groups = ["string", "bitmap", "generic", "server", "connection", "transactions", "cluster"];
        foreach (var spec in CommandTable.All)
        {
            Check(spec.Name, spec.Doc);
            foreach (var (name, doc) in spec.Doc.Subcommands)
            {
                Assert.Matches("^[a-z-]+$", name);
                Assert.Empty(doc.Subcommands);
                Check($"{spec.Name}|{name}", doc);
            }
        }

        void Check(string name, CommandDoc doc)
        {
            Assert.False(string.IsNullOrWhiteSpace(doc.Summary), $"{name} has no summary");
            Assert.Matches(@"^\d+\.\d+\.\d+$", doc.Since);
            Assert.Contains(doc.Group, groups);
            Assert.All(doc.Arguments, CheckArgument);
        }

        static void CheckArgument(CommandArgument argument)
        {
            Assert.Matches("^[a-z0-9_:/-]+$", argument.Name);
            var container = argument.Type is CommandArgumentType.OneOf or CommandArgumentType.Block;
            Assert.Equal(container, argument.Arguments.Count > 0);
            Assert.True(argument.Type != CommandArgumentType.PureToken || argument.Leader is not null, $"{argument.Name}: a pure token needs its token");
            Assert.All(argument.Arguments, CheckArgument);
        }
    }

    [Fact]
    public void CommandHelp_Docs_NoLongerSaysEmpty()
    {
        using var raw = fixture.Server.ConnectRaw();
        var lines = Assert.IsType<object?[]>(raw.Call("COMMAND", "HELP")).Select(Text).ToArray();
        Assert.Contains("DOCS [<command-name> ...]", lines);
        Assert.DoesNotContain(lines, l => l.Contains("always empty", StringComparison.Ordinal));
    }

    [Fact]
    public void ConfigSet_NameAnyCase_OneTableForSetAndGet()
    {
        using var raw = fixture.Server.ConnectRaw();
        Assert.Equal("+OK", raw.CallText("CONFIG", "SET", "SlowLog-Max-Len", "77"));
        Assert.Equal("[slowlog-max-len, 77]", raw.CallText("CONFIG", "GET", "slowlog-max-len"));
        Assert.Equal(
            "-ERR CONFIG SET is not supported for 'bogus': RingKV changes only slowlog-log-slower-than, slowlog-max-len and latency-monitor-threshold while running; the rest is configured at start (ringkv serve --help)",
            raw.CallText("CONFIG", "SET", "bogus", "1"));
        Assert.Equal("+OK", raw.CallText("CONFIG", "SET", "slowlog-max-len", "128"));
    }

    /// <summary>Reads reply lines until one equal to "+PONG" after sending PING, checking <paramref name="expected"/> was among them.</summary>
    private static string Drain(RawClient raw, string expected)
    {
        raw.Send(RawClient.Encode("PING"));
        var text = new StringBuilder();
        while (true)
        {
            var line = raw.ReadRawLine();
            if (line == "+PONG\r\n")
            {
                Assert.Contains(expected, text.ToString(), StringComparison.Ordinal);
                return "+PONG";
            }

            text.Append(line);
        }
    }

    /// <summary>A RESP2 map (a flat array of pairs, as <see cref="RawClient"/> reads RESP3 maps too) as ordered pairs.</summary>
    private static List<KeyValuePair<string, object?>> Map(object? reply)
    {
        var items = Assert.IsType<object?[]>(reply);
        Assert.True(items.Length % 2 == 0, "a map has pairs");
        var pairs = new List<KeyValuePair<string, object?>>();
        for (var i = 0; i < items.Length; i += 2)
        {
            pairs.Add(new(Text(items[i]), items[i + 1]));
        }

        return pairs;
    }

    private static object? Value(List<KeyValuePair<string, object?>> map, string key) => Assert.Single(map, e => e.Key == key).Value;

    private static string Text(object? value) => value switch
    {
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        string s => s,
        _ => throw new InvalidOperationException($"not a string: {RawClient.Describe(value)}"),
    };
}
