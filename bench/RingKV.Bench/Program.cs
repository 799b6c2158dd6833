using System.CommandLine;

namespace RingKV.Bench;

/// <summary>Entry point: <c>storage</c> compares RingKV's engine with RocksDB.</summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("RingKV benchmarks; CSV on stdout, progress on stderr.")
        {
            StorageCommand.Create(),
        };
        return root.Parse(args).Invoke();
    }
}
