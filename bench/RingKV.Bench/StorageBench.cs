using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;

namespace RingKV.Bench;

/// <summary>Runs the storage workloads against each engine in turn, <see cref="BenchSettings.Runs"/> times, and prints the CSV.</summary>
/// <remarks>
/// Both engines run in this one process, one after the other, never at once. Run 1 takes the engines in the order
/// given, run 2 in the reverse order, and so on, so neither always runs first (on a warm or a busy machine); after the
/// runs come the medians over runs of every figure, and the median of the per-run ratios. rss_mb is the process working
/// set after each workload, so it also counts the runtime and the harness's own arrays (the "baseline" printed
/// in the header comment). Between engines the first one is disposed and a blocking, compacting, aggressive GC
/// returns its managed memory to the OS, so the second engine's numbers do not carry the first one's heap.
/// Rejected: RSS deltas from the baseline, which hide memory an engine keeps from before its first workload.
/// NOTE: the GC does not hand every page back (seen: 35 MiB before RingKV, 131 MiB after it was disposed), so
/// the second engine's rss_mb is inflated; the header says so, and one-engine runs give clean RSS numbers.
/// </remarks>
internal static class StorageBench
{
    /// <summary>The CSV header, exactly.</summary>
    public const string Header = "run,engine,workload,ops,seconds,ops_per_sec,p50_us,p99_us,disk_bytes,rss_mb,cpu_us_per_op";

    /// <summary>Runs <paramref name="settings"/>; 0 on success, 1 when a sanity check fails, 3 when an engine cannot run.</summary>
    public static int Run(BenchSettings settings, TextWriter output, TextWriter progress)
    {
        progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"storage bench: keys={settings.Keys} value-size={settings.ValueBytes} cache={settings.CacheBytes >> 20}MiB memtable={settings.MemtableBytes >> 20}MiB frozen-memtables={BenchSettings.FrozenMemtables} compaction-nice={settings.CompactionNice} sync={settings.Sync} reads={settings.Reads} scans={settings.Scans} threads={settings.Threads} seed={settings.Seed} engines={string.Join(",", settings.Engines)} runs={settings.Runs}"));
        var prepared = Stopwatch.GetTimestamp();
        var workloads = new Workloads(settings, progress);
        progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"prepared keys, values and Zipfian constants in {Stopwatch.GetElapsedTime(prepared).TotalSeconds:F1} s"));

        var results = new List<List<WorkloadResult>>();
        var baselines = new List<string>();
        for (var run = 1; run <= settings.Runs; run++)
        {
            var order = (string[])settings.Engines.Clone();
            if (run % 2 == 0)
            {
                Array.Reverse(order);
            }

            progress.WriteLine($"run {run} of {settings.Runs}: {string.Join(", ", order)}");
            var runResults = new List<WorkloadResult>();
            results.Add(runResults);
            foreach (var name in order)
            {
                var code = RunEngine(run, name, settings, workloads, runResults, baselines, progress);
                if (code != 0)
                {
                    return code;
                }
            }
        }

        Write(settings, results, baselines, output);
        return 0;
    }

    private static int RunEngine(int run, string name, BenchSettings settings, Workloads workloads, List<WorkloadResult> results, List<string> baselines, TextWriter progress)
    {
        CollectEverything();
        baselines.Add(string.Create(CultureInfo.InvariantCulture, $"{name} (run {run}) {WorkingSetMiB():F1} MiB"));
        var directory = Path.Combine(settings.ParentDirectory, $"ringkv-bench-{name}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..48]);
        if (Directory.Exists(directory))
        {
            progress.WriteLine($"error: {directory} already exists; refusing to benchmark in a used directory");
            return 3;
        }

        Directory.CreateDirectory(directory);
        progress.WriteLine($"{name}: directory {directory}");
        try
        {
            IBenchEngine engine;
            try
            {
                engine = Open(name, directory, settings);
            }
            catch (DllNotFoundException e)
            {
                progress.WriteLine($"error: {name}'s native library did not load: {e.Message}");
                return 3;
            }

            using (engine)
            {
                results.AddRange(workloads.RunAll(engine));
            }
        }
        catch (BenchFailureException e)
        {
            progress.WriteLine("FAIL: " + e.Message);
            return 1;
        }
        finally
        {
            if (settings.Keep)
            {
                progress.WriteLine($"{name}: kept {directory}");
            }
            else
            {
                TryDelete(directory, progress);
            }
        }

        return 0;
    }

    private static IBenchEngine Open(string name, string directory, BenchSettings settings) => name switch
    {
        "ringkv" => RingKvEngine.Open(directory, settings),
        "rocksdb" => RocksDbEngine.Open(directory, settings),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown engine"),
    };

    private static void Write(BenchSettings settings, List<List<WorkloadResult>> runs, List<string> baselines, TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"# storage bench: keys={settings.Keys} value_size={settings.ValueBytes} cache_mb={settings.CacheBytes >> 20} memtable_mb={settings.MemtableBytes >> 20} frozen_memtables={BenchSettings.FrozenMemtables} compaction_nice={settings.CompactionNice} sync={settings.Sync} reads={settings.Reads} scans={settings.Scans}x{settings.ScanLength} threads={settings.Threads} seed={settings.Seed} runs={settings.Runs}"));
        output.WriteLine("# both engines: LZ4, bloom 10 bits/key, 4 KiB blocks, one active + 2 frozen memtables, compaction threads at the nice value above; flush + full compaction (untimed) after overwrite; every value read checked; latency per op, p50/p99 nearest rank");
        output.WriteLine("# runs alternate which engine goes first (odd runs: the --engines order); 'median' rows are medians over runs of each column, 'ratio,median' the median of the per-run ratios (ratio: RingKV ops/s / RocksDB ops/s; cpu_ratio: RocksDB CPU per op / RingKV CPU per op)");
        output.WriteLine($"# cpu_us_per_op: CPU time of the whole process (every thread: the engine's background work counts, the checks do not) per operation, steadier than ops/s on a shared machine; rss_mb: process working set after the workload; engines run one after another in one process, the previous one disposed and a full GC done first; baseline before open: {string.Join(", ", baselines)}; the runtime may keep some of an earlier engine's memory, so compare RSS from one-engine runs (--engines NAME)");
        output.WriteLine(Header);
        for (var run = 0; run < runs.Count; run++)
        {
            foreach (var r in runs[run])
            {
                WriteRow(output, (run + 1).ToString(c), r);
            }
        }

        if (runs.Count > 1)
        {
            foreach (var engine in settings.Engines)
            {
                foreach (var workload in Workloads.Names)
                {
                    var all = new List<WorkloadResult>();
                    foreach (var run in runs)
                    {
                        all.Add(Find(run, engine, workload));
                    }

                    var median = new WorkloadResult(
                        engine,
                        workload,
                        all[0].Ops,
                        all[0].Ops / Median(all, r => r.OpsPerSecond),
                        Median(all, r => r.P50Micros),
                        Median(all, r => r.P99Micros),
                        (long)Median(all, r => r.DiskBytes),
                        Median(all, r => r.RssMiB),
                        Median(all, r => r.CpuMicrosPerOp));
                    WriteRow(output, "median", median);
                }
            }
        }

        if (!settings.Engines.AsSpan().Contains("ringkv") || !settings.Engines.AsSpan().Contains("rocksdb"))
        {
            return;
        }

        // ratio: RingKV ops/s / RocksDB ops/s; cpu_ratio: RocksDB CPU per op / RingKV CPU per op. Above 1, RingKV is ahead.
        WriteRatios(output, runs, "ratio", (ringkv, rocksdb) => ringkv.OpsPerSecond / rocksdb.OpsPerSecond);
        WriteRatios(output, runs, "cpu_ratio", (ringkv, rocksdb) => rocksdb.CpuMicrosPerOp / ringkv.CpuMicrosPerOp);
    }

    private static void WriteRatios(TextWriter output, List<List<WorkloadResult>> runs, string name, Func<WorkloadResult, WorkloadResult, double> ratioOf)
    {
        var c = CultureInfo.InvariantCulture;
        foreach (var workload in Workloads.Names)
        {
            var ratios = new List<double>();
            for (var run = 0; run < runs.Count; run++)
            {
                var ratio = ratioOf(Find(runs[run], "ringkv", workload), Find(runs[run], "rocksdb", workload));
                ratios.Add(ratio);
                output.WriteLine(string.Create(c, $"{name},{run + 1},{workload},{ratio:F3}"));
            }

            if (runs.Count > 1)
            {
                output.WriteLine(string.Create(c, $"{name},median,{workload},{Median(ratios, r => r):F3}"));
            }
        }
    }

    private static void WriteRow(TextWriter output, string run, WorkloadResult r) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{run},{r.Engine},{r.Workload},{r.Ops},{r.Seconds:F3},{r.OpsPerSecond:F0},{r.P50Micros:F2},{r.P99Micros:F2},{r.DiskBytes},{r.RssMiB:F1},{r.CpuMicrosPerOp:F2}"));

    /// <summary>The median of <paramref name="selector"/> over <paramref name="items"/> (the mean of the middle two for an even count).</summary>
    private static double Median<T>(List<T> items, Func<T, double> selector)
    {
        var values = new double[items.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = selector(items[i]);
        }

        Array.Sort(values);
        var mid = values.Length / 2;
        return values.Length % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }

    private static WorkloadResult Find(List<WorkloadResult> results, string engine, string workload)
    {
        foreach (var r in results)
        {
            if (r.Engine == engine && r.Workload == workload)
            {
                return r;
            }
        }

        throw new InvalidOperationException($"no result for {engine} {workload}");
    }

    private static void CollectEverything()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    private static double WorkingSetMiB()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64 / (1024.0 * 1024.0);
    }

    private static void TryDelete(string directory, TextWriter progress)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException e)
        {
            progress.WriteLine($"warning: could not delete {directory}: {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            progress.WriteLine($"warning: could not delete {directory}: {e.Message}");
        }
    }
}
