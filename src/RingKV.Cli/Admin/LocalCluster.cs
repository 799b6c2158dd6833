using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.RegularExpressions;

namespace RingKV.Cli.Admin;

/// <summary>The layout of a cluster of local nodes under one directory, as <c>ringkv cluster up</c> starts it and <c>cluster down</c> finds it.</summary>
/// <remarks>
/// Node i (1-based) is <c>node&lt;i&gt;</c> on RESP port P+i-1 and internode port P+i-1+10000, with data in
/// DIR/node&lt;i&gt;, pid in DIR/node&lt;i&gt;.pid and log in DIR/node&lt;i&gt;.log. node1 starts with no seeds and is the seed of
/// the others. Pure: reads no file and starts nothing.
/// </remarks>
internal static partial class LocalCluster
{
    /// <summary>How far above the RESP port the internode port is (the default of <c>serve --peer-listen</c>).</summary>
    public const int PeerPortOffset = 10000;

    /// <summary>The default first RESP port.</summary>
    public const int DefaultBasePort = 7379;

    /// <summary>The most nodes one <c>cluster up</c> starts: each is a process with its own memory budget.</summary>
    public const int MaxNodes = 64;

    /// <summary>The default directory, relative to the working directory.</summary>
    public const string DefaultDirectory = "cluster";

    /// <summary>Serve flags <c>cluster up</c> sets itself for each node, so they may not follow <c>--</c>.</summary>
    private static readonly string[] OwnFlags = ["--listen", "--data-dir", "--node-id", "--seeds", "--peer-listen"];

    /// <summary>Serve flags that name one node's own address: after <c>--</c> every node would get the same one.</summary>
    private static readonly string[] PerNodeFlags = ["--peer-advertise"];

    /// <summary>
    /// The nodes of a cluster of <paramref name="nodes"/> from <paramref name="basePort"/> under <paramref name="directory"/>;
    /// <paramref name="serveOptions"/> go to every node after the flags set here, and unless they hold <c>--replication</c>
    /// each node gets <c>--replication min(3, nodes)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// A count or port out of range, a serve option that <c>cluster up</c> sets itself, or one that names a single node's
    /// address (<c>--peer-advertise</c>).
    /// </exception>
    public static List<LocalNode> Plan(int nodes, int basePort, string directory, IReadOnlyList<string> serveOptions)
    {
        if (nodes is < 1 or > MaxNodes)
        {
            throw new ArgumentException($"--nodes must be from 1 to {MaxNodes}, not {nodes}");
        }

        if (basePort < 1 || basePort + nodes - 1 + PeerPortOffset > 65535)
        {
            throw new ArgumentException(
                $"--base-port {basePort} with {nodes} nodes needs ports {basePort} to {basePort + nodes - 1} and {basePort + PeerPortOffset} to {basePort + nodes - 1 + PeerPortOffset}; "
                + $"ports go from 1 to 65535, so --base-port must be at most {65535 - PeerPortOffset - nodes + 1}");
        }

        var common = CommonServeOptions(nodes, serveOptions);
        var root = Path.GetFullPath(directory);
        var plan = new List<LocalNode>(nodes);
        for (var i = 1; i <= nodes; i++)
        {
            plan.Add(Node(i, basePort, root, common, i == 1 ? [] : [$"127.0.0.1:{basePort + PeerPortOffset}"]));
        }

        return plan;
    }

    /// <summary>
    /// The serve flags every node of a cluster of <paramref name="nodes"/> gets after its own: <paramref name="serveOptions"/>,
    /// and <c>--replication min(3, nodes)</c> unless they hold <c>--replication</c>. Nodes added later (ringkv autoscale)
    /// get the same, recorded in <see cref="LocalClusterLayout"/>, so they replicate as the first ones do.
    /// </summary>
    /// <exception cref="ArgumentException">A serve option that <c>cluster up</c> sets itself, or one that names a single node's address.</exception>
    public static List<string> CommonServeOptions(int nodes, IReadOnlyList<string> serveOptions)
    {
        var replicationGiven = false;
        foreach (var option in serveOptions)
        {
            var name = option.Split('=', 2)[0];
            if (Array.IndexOf(OwnFlags, name) >= 0)
            {
                throw new ArgumentException($"cluster up sets {name} for each node itself; remove it from the serve options after --");
            }

            if (Array.IndexOf(PerNodeFlags, name) >= 0)
            {
                throw new ArgumentException(
                    $"{name} after -- would give every node the same address, so peers could not tell them apart; remove it "
                    + "(cluster up nodes advertise their own --peer-listen address), or start the nodes one by one with ringkv serve");
            }

            replicationGiven |= name == "--replication";
        }

        var common = new List<string>();
        if (!replicationGiven)
        {
            common.Add("--replication");
            common.Add(Math.Min(3, nodes).ToString(CultureInfo.InvariantCulture));
        }

        common.AddRange(serveOptions);
        return common;
    }

    /// <summary>
    /// Node <paramref name="index"/> (1-based) of the cluster from <paramref name="basePort"/> under <paramref name="root"/> (a full
    /// path): its ports, files and serve arguments, joining through <paramref name="seeds"/> (peer addresses; none for the first).
    /// </summary>
    public static LocalNode Node(int index, int basePort, string root, IReadOnlyList<string> common, IReadOnlyList<string> seeds)
    {
        var name = NodeName(index);
        var port = basePort + index - 1;
        var data = Path.Combine(root, name);
        var arguments = new List<string>
        {
            "serve",
            "--listen", $"127.0.0.1:{port}",
            "--peer-listen", $"127.0.0.1:{port + PeerPortOffset}",
            "--data-dir", data,
            "--node-id", name,
        };
        if (seeds.Count > 0)
        {
            arguments.Add("--seeds");
            arguments.Add(string.Join(",", seeds));
        }

        arguments.AddRange(common);
        return new LocalNode(name, port, port + PeerPortOffset, data, Path.Combine(root, name + ".pid"), Path.Combine(root, name + ".log"), arguments);
    }

    /// <summary>The node number of a local node's id (node7: 7), or null when the id is not node&lt;i&gt;.</summary>
    public static int? NodeIndex(string name) =>
        name.StartsWith("node", StringComparison.Ordinal) && name.Length > 4
            && int.TryParse(name.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index >= 1
            ? index
            : null;

    /// <summary>The value of <c>--password</c> among the serve options, if any: the nodes then want AUTH before PING and KV.RING.</summary>
    public static string? Password(IReadOnlyList<string> serveOptions)
    {
        for (var i = 0; i < serveOptions.Count; i++)
        {
            if (serveOptions[i] == "--password" && i + 1 < serveOptions.Count)
            {
                return serveOptions[i + 1];
            }

            if (serveOptions[i].StartsWith("--password=", StringComparison.Ordinal))
            {
                return serveOptions[i]["--password=".Length..];
            }
        }

        return null;
    }

    /// <summary>node1, node2, ...</summary>
    public static string NodeName(int index) => "node" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>The pid files under <paramref name="directory"/> (DIR/node&lt;i&gt;.pid), by node number; none when it does not exist.</summary>
    public static List<(string Name, string PidFile)> PidFiles(string directory)
    {
        var found = new List<(int Index, string Name, string PidFile)>();
        if (Directory.Exists(directory))
        {
            foreach (var file in Directory.EnumerateFiles(directory, "node*.pid"))
            {
                var match = PidFileName().Match(Path.GetFileName(file));
                if (match.Success && int.TryParse(match.Groups["index"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    found.Add((index, "node" + match.Groups["index"].Value, Path.GetFullPath(file)));
                }
            }
        }

        found.Sort(static (a, b) => a.Index.CompareTo(b.Index));
        var result = new List<(string, string)>(found.Count);
        foreach (var (_, name, file) in found)
        {
            result.Add((name, file));
        }

        return result;
    }

    [GeneratedRegex(@"^node(?<index>[0-9]{1,6})\.pid$")]
    private static partial Regex PidFileName();
}
