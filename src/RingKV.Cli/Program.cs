using System.CommandLine;
using System.CommandLine.Invocation;
using RingKV.Server.Commands;

namespace RingKV.Cli;

/// <summary>The <c>ringkv</c> command.</summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("RingKV: a Dynamo-style key-value store that speaks the Redis protocol.")
        {
            ServeCommand.Create(),
            ClusterCommand.Create(),
            StatusCommand.Create(),
            RepairCommand.Create(),
            DecommissionCommand.Create(),
            RemoveNodeCommand.Create(),
            CleanupCommand.Create(),
            AutoscaleCommand.Create(),
        };
        foreach (var option in root.Options)
        {
            if (option is VersionOption version)
            {
                version.Action = new PrintVersion();
            }
        }

        return root.Parse(args).Invoke();
    }

    /// <summary>
    /// <c>--version</c> prints <see cref="ServerInfo.Version"/>, the string the log and INFO show, rather than
    /// System.CommandLine's own read of this executable's attributes.
    /// </summary>
    private sealed class PrintVersion : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(ServerInfo.Version);
            return 0;
        }
    }
}
