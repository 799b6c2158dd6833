using System.CommandLine;

namespace RingKV.Cli;

/// <summary>The <c>ringkv</c> command.</summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("RingKV: a Dynamo-style key-value store that speaks the Redis protocol.")
        {
            ServeCommand.Create(),
        };
        return root.Parse(args).Invoke();
    }
}
