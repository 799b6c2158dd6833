using System;
using System.Collections.Generic;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.IO;

using RingKV.Storage;

namespace RingKV.Bench;

/// <summary>The <c>storage</c> command: parses options into <see cref="BenchSettings"/> and hands them to <see cref="StorageBench"/>.</summary>
internal static class StorageCommand
{
    /// <summary>Engines the command knows.</summary>
    public static readonly string[] KnownEngines = ["ringkv", "rocksdb"];

    public static Command Create()
    {
        var vs = new Option<string>("--vs")
        {
            Description = "The peer engine to compare with.",
            DefaultValueFactory = _ => "rocksdb",
        };
        vs.AcceptOnlyFromAmong("rocksdb");
        var keys = Positive(new Option<long>("--keys") { Description = "Keys written by fillrandom (at most 2^31 - 1).", DefaultValueFactory = _ => 1_000_000 }, int.MaxValue);
        var valueSize = Positive(new Option<int>("--value-size") { Description = "Value size in bytes.", DefaultValueFactory = _ => 100 }, 16 << 20);
        var cacheMb = Positive(new Option<int>("--cache-mb") { Description = "Block cache of each engine, MiB.", DefaultValueFactory = _ => 64 }, 1 << 20);
        var memtableMb = Positive(new Option<int>("--memtable-mb") { Description = "RingKV memtable = RocksDB write buffer, MiB.", DefaultValueFactory = _ => 64 }, 1 << 20);
        var sync = new Option<SyncPolicy>("--sync")
        {
            Description = "Commit log fsync: none (default), always, periodic:<ms>.",
            DefaultValueFactory = _ => SyncPolicy.None,
            CustomParser = ParseSync,
        };
        var dir = new Option<string>("--dir")
        {
            Description = "Parent directory of the engines' fresh temp directories (default: the system temp directory).",
            DefaultValueFactory = _ => Path.GetTempPath(),
        };
        var reads = Positive(new Option<long>("--reads") { Description = "Gets per read workload (default: --keys)." }, int.MaxValue);
        var scans = Positive(new Option<long>("--scans") { Description = "Range scans (default: --reads / 100, at least 100)." }, int.MaxValue);
        var scanLength = Positive(new Option<int>("--scan-length") { Description = "Records read by one range scan.", DefaultValueFactory = _ => BenchSettings.DefaultScanLength }, 1 << 20);
        var seed = new Option<ulong?>("--seed") { Description = "PRNG seed (default: RINGKV_SEED, else drawn and printed)." };
        var engines = new Option<string>("--engines")
        {
            Description = "Comma-separated engines to run, in order: ringkv,rocksdb.",
            DefaultValueFactory = _ => "ringkv,rocksdb",
        };
        engines.Validators.Add(result =>
        {
            if (ParseEngines(result.GetValueOrDefault<string>(), out var error) is null)
            {
                result.AddError(error!);
            }
        });
        var threads = Positive(new Option<int>("--threads") { Description = "Worker threads per workload.", DefaultValueFactory = _ => 1 }, 256);
        var keep = new Option<bool>("--keep") { Description = "Keep the engines' directories after the run." };
        var compactionNice = new Option<int>("--compaction-nice")
        {
            Description = "Nice value of both engines' compaction threads: 0 (default, both at normal priority) or 19 (RingKV's CompactionNice 19, RocksDB's compaction pool lowered to nice 19).",
            DefaultValueFactory = _ => 0,
        };
        compactionNice.AcceptOnlyFromAmong("0", "19");
        var runs = Positive(new Option<int>("--runs") { Description = "Runs of every engine; the engine that goes first alternates, and medians are printed after the runs.", DefaultValueFactory = _ => 1 }, 99);

        var command = new Command("storage", "Embedded engine vs RocksDB: fillrandom, overwrite, readrandom, readhot, readmissing, scanrange.")
        {
            vs, keys, valueSize, cacheMb, memtableMb, sync, dir, reads, seed, engines, threads, keep, compactionNice, runs, scans, scanLength,
        };
        command.SetAction(parse =>
        {
            var keyCount = parse.GetValue(keys);
            string? seedError = null;
            var seedValue = parse.GetValue(seed) ?? SeedFromEnvironment(out seedError);
            if (seedError is not null)
            {
                Console.Error.WriteLine(seedError);
                return 2;
            }

            var settings = new BenchSettings(
                Keys: keyCount,
                ValueBytes: parse.GetValue(valueSize),
                CacheBytes: (long)parse.GetValue(cacheMb) << 20,
                MemtableBytes: (long)parse.GetValue(memtableMb) << 20,
                Sync: parse.GetValue(sync),
                ParentDirectory: parse.GetValue(dir)!,
                Reads: parse.GetResult(reads) is { Implicit: false } ? parse.GetValue(reads) : keyCount,
                Seed: seedValue,
                Engines: ParseEngines(parse.GetValue(engines), out _)!,
                Threads: parse.GetValue(threads),
                Keep: parse.GetValue(keep),
                CompactionNice: parse.GetValue(compactionNice),
                Runs: parse.GetValue(runs),
                ScanCount: parse.GetResult(scans) is { Implicit: false } ? parse.GetValue(scans) : null,
                ScanLength: parse.GetValue(scanLength));
            return StorageBench.Run(settings, Console.Out, Console.Error);
        });
        return command;
    }

    private static Option<T> Positive<T>(Option<T> option, long max)
        where T : struct, IConvertible
    {
        option.Validators.Add(result =>
        {
            if (result.Implicit || !TryGetValue(result, out T raw))
            {
                return;
            }

            var value = Convert.ToInt64(raw, CultureInfo.InvariantCulture);
            if (value < 1 || value > max)
            {
                result.AddError($"{option.Name} must be between 1 and {max}, not {value}");
            }
        });
        return option;
    }

    /// <summary>The option's value; false when it did not convert, which System.CommandLine reports by itself.</summary>
    private static bool TryGetValue<T>(OptionResult result, out T value)
    {
        try
        {
            value = result.GetValueOrDefault<T>();
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default!;
            return false;
        }
    }

    private static SyncPolicy ParseSync(ArgumentResult result)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
        try
        {
            return SyncPolicy.Parse(text);
        }
        catch (FormatException e)
        {
            result.AddError("--sync: " + e.Message);
            return SyncPolicy.None;
        }
    }

    private static string[]? ParseEngines(string? text, out string? error)
    {
        var list = new List<string>();
        foreach (var part in (text ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var name = part.ToLowerInvariant();
            if (!KnownEngines.AsSpan().Contains(name))
            {
                error = $"--engines: unknown engine '{part}'; expected a comma-separated list of {string.Join(", ", KnownEngines)}";
                return null;
            }

            if (list.Contains(name))
            {
                error = $"--engines: '{name}' is listed twice";
                return null;
            }

            list.Add(name);
        }

        if (list.Count == 0)
        {
            error = "--engines: name at least one engine (ringkv, rocksdb)";
            return null;
        }

        error = null;
        return [.. list];
    }

    private static ulong SeedFromEnvironment(out string? error)
    {
        error = null;
        var text = Environment.GetEnvironmentVariable("RINGKV_SEED");
        if (!string.IsNullOrWhiteSpace(text))
        {
            if (ulong.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seed))
            {
                return seed;
            }

            error = $"RINGKV_SEED must be an unsigned integer, not '{text}'";
            return 0;
        }

        return (ulong)Random.Shared.NextInt64(1, long.MaxValue);
    }
}
