using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;

namespace RingKV.Cli.Admin;

/// <summary>
/// What <c>ringkv cluster up</c> records in DIR/cluster.json so <c>cluster add</c> and <c>cluster remove</c> (and <c>ringkv autoscale</c>'s local provider, which calls them) can grow
/// and shrink the cluster later: the first RESP port, the serve flags every node gets, the nodes that are members and
/// those decommissioned.
/// </summary>
/// <remarks>
/// Layout (version 1): <c>{ "version": 1, "basePort": 7379, "serveOptions": ["--replication", "3", ...],
/// "nodes": ["node1", ...], "removed": ["node4", ...] }</c>. Pid files stay the record of what runs (<c>cluster down</c>
/// and <c>cluster up</c> read only them); this file says what should. A new node gets the number above every one used
/// so far, removed ones included: a decommissioned id stays LEFT in the ring for a while, and its data directory stays
/// on disk, so neither is reused. Rejected alternative: reading the flags back from a running node's command line in
/// /proc, which works only while node1 runs and only on Linux.
/// </remarks>
/// <param name="BasePort">RESP port of node1; node i listens on BasePort + i - 1.</param>
/// <param name="ServeOptions">The flags after each node's own (<see cref="LocalCluster.SharedOptions"/>).</param>
/// <param name="Nodes">The members, in the order they were started.</param>
/// <param name="Removed">The nodes <c>cluster remove</c> decommissioned.</param>
internal sealed record ClusterManifest(int BasePort, IReadOnlyList<string> ServeOptions, IReadOnlyList<string> Nodes, IReadOnlyList<string> Removed)
{
    /// <summary>The file's name in the cluster's directory.</summary>
    public const string FileName = "cluster.json";

    private const int Version = 1;

    /// <summary>DIR/cluster.json.</summary>
    public static string PathIn(string root) => Path.Combine(root, FileName);

    /// <summary>The number the next node added gets: one above every node named here.</summary>
    public int NextIndex()
    {
        var highest = 0;
        foreach (var name in (IEnumerable<string>)[.. Nodes, .. Removed])
        {
            highest = Math.Max(highest, LocalCluster.NodeIndex(name) ?? 0);
        }

        return highest + 1;
    }

    /// <summary>This manifest with <paramref name="name"/> added to the members.</summary>
    public ClusterManifest WithNode(string name) => this with { Nodes = [.. Nodes, name] };

    /// <summary>This manifest with <paramref name="name"/> moved from the members to the removed.</summary>
    public ClusterManifest WithRemoved(string name)
    {
        var nodes = new List<string>(Nodes);
        nodes.Remove(name);
        return this with { Nodes = nodes, Removed = [.. Removed, name] };
    }

    /// <summary>The JSON, indented.</summary>
    public string Encode()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("version", Version);
            json.WriteNumber("basePort", BasePort);
            WriteList(json, "serveOptions", ServeOptions);
            WriteList(json, "nodes", Nodes);
            WriteList(json, "removed", Removed);
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>Reads what <see cref="Encode"/> wrote.</summary>
    /// <exception cref="FormatException">Not JSON of this layout, or another version.</exception>
    public static ClusterManifest Decode(string text, string from)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.GetProperty("version").GetInt32() != Version)
            {
                throw new FormatException($"{from} has version {root.GetProperty("version")}, this ringkv reads version {Version}");
            }

            return new ClusterManifest(root.GetProperty("basePort").GetInt32(), ReadList(root, "serveOptions"), ReadList(root, "nodes"), ReadList(root, "removed"));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"{from} is not a cluster manifest: {e.Message}");
        }
    }

    /// <summary>The manifest of the cluster under <paramref name="root"/>.</summary>
    /// <exception cref="FileNotFoundException">There is none: no cluster was started there by <c>cluster up</c> of this version.</exception>
    /// <exception cref="FormatException">It does not read.</exception>
    public static ClusterManifest Read(string root)
    {
        var path = PathIn(root);
        return Decode(File.ReadAllText(path), path);
    }

    /// <summary>Writes the manifest whole: to a temp file, then renamed over.</summary>
    public void Write(string root)
    {
        var path = PathIn(root);
        var temp = path + ".tmp";
        File.WriteAllText(temp, Encode());
        File.Move(temp, path, overwrite: true);
    }

    private static void WriteList(Utf8JsonWriter json, string name, IReadOnlyList<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    private static List<string> ReadList(JsonElement root, string name)
    {
        var list = new List<string>();
        foreach (var element in root.GetProperty(name).EnumerateArray())
        {
            list.Add(element.GetString() ?? throw new FormatException($"{name} holds a null"));
        }

        return list;
    }
}
