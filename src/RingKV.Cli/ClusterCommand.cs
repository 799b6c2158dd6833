using System;
using System.CommandLine;
using System.IO;
using RingKV.Cli.Admin;

namespace RingKV.Cli;

/// <summary><c>ringkv cluster up</c>, <c>down</c>, <c>add</c> and <c>remove</c>: a cluster of local node processes to try and test with.</summary>
internal static partial class ClusterCommand
{
    /// <summary>The default of <c>--timeout</c>, in seconds.</summary>
    private const int DefaultTimeoutSeconds = 60;

    public static Command Create()
    {
        var command = new Command("cluster", "Start, stop, grow or shrink a cluster of local nodes (background processes with pid files and logs under one directory).")
        {
            CreateUp(),
            CreateDown(),
            CreateAdd(),
            CreateRemove(),
        };
        return command;
    }

    private static Option<string> DataDirectoryOption() => new("--data-dir")
    {
        Description = "The cluster's directory: node<i>/ (data), node<i>.pid and node<i>.log for each node, cluster.json (what cluster add needs). Default ./cluster.",
        HelpName = "path",
        DefaultValueFactory = _ => LocalCluster.DefaultDirectory,
    };

    private static Option<int> TimeoutOption(string what) => new("--timeout")
    {
        Description = $"{what}, in seconds. Default {DefaultTimeoutSeconds}.",
        HelpName = "seconds",
        DefaultValueFactory = _ => DefaultTimeoutSeconds,
    };

    private static Command CreateUp()
    {
        var nodes = new Option<int>("--nodes") { Description = "How many nodes to start (1 to 64).", HelpName = "count", Required = true };
        var basePort = new Option<int>("--base-port")
        {
            Description = $"RESP port of node1; node<i> listens on base + i - 1 and on that + {LocalCluster.PeerPortOffset} for its peers. Default {LocalCluster.DefaultBasePort}.",
            HelpName = "port",
            DefaultValueFactory = _ => LocalCluster.DefaultBasePort,
        };
        var directory = DataDirectoryOption();
        var timeout = TimeoutOption("How long each node has to answer PING once started, and the cluster then has for every node to see all nodes NORMAL and UP");
        var serveOptions = new Argument<string[]>("serve-options")
        {
            Description = "After --: flags for every node's `ringkv serve` (e.g. -- --sync always --replication 2). "
                + "Without --replication each node gets --replication min(3, nodes). --listen, --peer-listen, --data-dir, --node-id and --seeds are set by cluster up; "
                + "--peer-advertise is refused (every node would advertise the same address).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("up", "Start a cluster of local nodes in the background; returns once every node sees all of them NORMAL and UP.")
        {
            nodes,
            basePort,
            directory,
            timeout,
            serveOptions,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(timeout) is var seconds and < 1)
            {
                Console.Error.WriteLine($"ringkv cluster up: --timeout must be at least 1 second, not {seconds}");
                return 2;
            }

            return Up(
                parse.GetValue(nodes),
                parse.GetValue(basePort),
                parse.GetValue(directory)!,
                parse.GetValue(serveOptions) ?? [],
                TimeSpan.FromSeconds(parse.GetValue(timeout)),
                Console.Out,
                Console.Error);
        });
        return command;
    }

    private static Command CreateDown()
    {
        var directory = DataDirectoryOption();
        var timeout = TimeoutOption("How long the nodes have to exit after SIGTERM before they get SIGKILL");
        var command = new Command("down", "Stop the nodes of a local cluster (SIGTERM, then SIGKILL past --timeout) and remove their pid files; the data stays.")
        {
            directory,
            timeout,
        };
        command.SetAction(parse =>
        {
            var seconds = parse.GetValue(timeout);
            if (seconds < 1)
            {
                Console.Error.WriteLine($"ringkv cluster down: --timeout must be at least 1 second, not {seconds}");
                return 2;
            }

            return Down(Path.GetFullPath(parse.GetValue(directory)!), TimeSpan.FromSeconds(seconds), Console.Out, Console.Error);
        });
        return command;
    }
}
