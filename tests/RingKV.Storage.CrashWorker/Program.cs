using System;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;
using RingKV.Core.Random;
using RingKV.Testing.Crash;

namespace RingKV.Storage.CrashWorker;

/// <summary>
/// Writes to an engine from several threads until killed, printing each operation before and after it
/// (see <see cref="CrashWorkload"/>). Usage: <c>RingKV.Storage.CrashWorker &lt;dir&gt; &lt;startIndex&gt; &lt;threads&gt; &lt;seed&gt;</c>.
/// </summary>
internal static class Program
{
    // Bounds the run if the test that should kill us died first.
    private static readonly TimeSpan MaxRun = TimeSpan.FromMinutes(2);

    private static readonly Lock OutLock = new();
    private static Stream? s_out;

    public static int Main(string[] args)
    {
        if (args.Length != 4)
        {
            Console.Error.WriteLine("usage: RingKV.Storage.CrashWorker <dir> <startIndex> <threads> <seed>");
            return 2;
        }

        var directory = args[0];
        var start = long.Parse(args[1], CultureInfo.InvariantCulture);
        var threads = int.Parse(args[2], CultureInfo.InvariantCulture);
        var seed = long.Parse(args[3], CultureInfo.InvariantCulture);
        s_out = Console.OpenStandardOutput();

        var options = CrashWorkload.EngineOptions(directory);

        using var engine = StorageEngine.Open(options);
        WriteLine(CrashWorkload.ReadyLine);
        var deadline = DateTime.UtcNow + MaxRun;
        var workers = new Thread[threads];
        for (var t = 0; t < threads; t++)
        {
            var thread = t;
            workers[t] = new Thread(() => Run(engine, thread, start, seed, deadline)) { IsBackground = false };
            workers[t].Start();
        }

        foreach (var worker in workers)
        {
            worker.Join();
        }

        return 0;
    }

    private static void Run(StorageEngine engine, int thread, long start, long seed, DateTime deadline)
    {
        var rng = new SplitMix64(seed * 31 + thread);
        for (var i = start; DateTime.UtcNow < deadline; i++)
        {
            if (i > 0 && rng.Chance(20))
            {
                var victim = CrashWorkload.Key(thread, Math.Max(0, i - 1 - rng.Next(300)));
                WriteLine("op del " + victim);
                engine.Delete(Encoding.UTF8.GetBytes(victim));
                WriteLine("ack del " + victim);
            }
            else
            {
                var key = CrashWorkload.Key(thread, i);
                WriteLine("op put " + key);
                engine.Put(Encoding.UTF8.GetBytes(key), CrashWorkload.ValueFor(key));
                WriteLine("ack put " + key);
            }
        }
    }

    // One write per line, so a kill leaves at most a torn last line, never interleaved ones.
    private static void WriteLine(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        lock (OutLock)
        {
            s_out!.Write(bytes);
            s_out.Flush();
        }
    }
}
