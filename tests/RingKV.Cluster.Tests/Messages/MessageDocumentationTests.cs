using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using RingKV.Cluster.Coordination;
using RingKV.Cluster.Messages;
using RingKV.Core.Consistency;
using Xunit;

namespace RingKV.Cluster.Tests.Messages;

/// <summary>docs/formats/cluster-messages.md documents every message kind and wire enum value the code has, and no other.</summary>
public sealed class MessageDocumentationTests
{
    private const string Document = "docs/formats/cluster-messages.md";

    /// <summary>Each wire enum and the heading of its table in the document (first column the value, second the name in backquotes).</summary>
    public static TheoryData<string, Type> WireEnums => new()
    {
        { "## Kinds", typeof(MessageKind) },
        { "### ReplicaStatus", typeof(ReplicaStatus) },
        { "### ClientStatus", typeof(ClientStatus) },
        { "### WriteOperation", typeof(WriteOperation) },
        { "### ConsistencyKind", typeof(ConsistencyKind) },
    };

    [Theory]
    [MemberData(nameof(WireEnums))]
    public void ClusterMessagesDoc_TableOfWireEnum_ListsExactlyItsMembersAndValues(string heading, Type type)
    {
        var expected = new List<(int Value, string Name)>();
        foreach (var name in Enum.GetNames(type))
        {
            expected.Add((Convert.ToInt32(Enum.Parse(type, name), CultureInfo.InvariantCulture), name));
        }

        expected.Sort();
        Assert.Equal(expected, Table(File.ReadAllLines(Path.Combine(RepositoryRoot(), Document)), heading));
    }

    /// <summary>The (value, name) rows of the first table after <paramref name="heading"/>, in the document's order.</summary>
    private static List<(int Value, string Name)> Table(string[] lines, string heading)
    {
        var at = Array.FindIndex(lines, l => l.Trim() == heading);
        Assert.True(at >= 0, $"{Document} has no heading \"{heading}\"");
        var rows = new List<(int, string)>();
        var inTable = false;
        for (var i = at + 1; i < lines.Length && !lines[i].StartsWith('#'); i++)
        {
            var line = lines[i].Trim();
            if (!line.StartsWith('|'))
            {
                if (inTable)
                {
                    break;
                }

                continue;
            }

            var cells = line.Split('|', StringSplitOptions.TrimEntries);
            var first = cells[1];
            var header = !inTable;
            inTable = true;
            if (header || first.StartsWith("---", StringComparison.Ordinal))
            {
                continue;
            }

            Assert.True(int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var value), $"{Document} under \"{heading}\": \"{first}\" is not a value, in {line}");
            var name = cells[2];
            Assert.True(name.Length > 2 && name[0] == '`' && name[^1] == '`', $"{Document} under \"{heading}\": name \"{name}\" is not in backquotes, in {line}");
            rows.Add((value, name[1..^1]));
        }

        Assert.True(inTable, $"{Document} has no table under \"{heading}\"");
        return rows;
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RingKV.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("RingKV.slnx not found above " + AppContext.BaseDirectory);
    }
}
