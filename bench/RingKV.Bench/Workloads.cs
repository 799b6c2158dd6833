using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;

namespace RingKV.Bench;

/// <summary>The storage workloads, run in a fixed order against one engine: fillrandom, overwrite, (flush and compact), readrandom, readhot, readmissing, scanrange.</summary>
/// <remarks>
/// Everything a timed loop touches is allocated before the clock starts: the key permutation, the value pool,
/// the latency array, one key and one value buffer per worker. Keys, values and the order of operations depend
/// only on <see cref="BenchSettings.Seed"/>, so both engines see the same operations. Not thread-safe: one run at a time.
/// </remarks>
internal sealed class Workloads
{
    /// <summary>Workload names in run order, as they appear in the CSV.</summary>
    public static readonly IReadOnlyList<string> Names = ["fillrandom", "overwrite", "readrandom", "readhot", "readmissing", "scanrange"];

    private const int PoolValues = 1024;

    private readonly BenchSettings _settings;
    private readonly TextWriter _progress;
    private readonly int[] _permutation;
    private readonly byte[] _valuePool;
    private readonly LatencyRecorder _latencies;
    private readonly ZipfianGenerator _zipfian;

    /// <summary>Prepares the permutation, the value pool, the latency array and the Zipfian constants.</summary>
    public Workloads(BenchSettings settings, TextWriter progress)
    {
        _settings = settings;
        _progress = progress;
        var random = new BenchRandom(BenchRandom.Derive(settings.Seed, 0));

        // fillrandom writes key i of a random permutation of [0, keys), so every key exists exactly once.
        _permutation = new int[settings.Keys];
        for (var i = 0; i < _permutation.Length; i++)
        {
            _permutation[i] = i;
        }

        for (var i = _permutation.Length - 1; i > 0; i--)
        {
            var j = (int)random.NextInt64(i + 1);
            (_permutation[i], _permutation[j]) = (_permutation[j], _permutation[i]);
        }

        // Like db_bench's compressible values: the first half random, the second half repeats it, so LZ4 halves them.
        var valueBytes = settings.ValueBytes;
        _valuePool = new byte[PoolValues * valueBytes];
        var randomBytes = (valueBytes + 1) / 2;
        for (var v = 0; v < PoolValues; v++)
        {
            var value = _valuePool.AsSpan(v * valueBytes, valueBytes);
            random.NextBytes(value[..randomBytes]);
            for (var i = randomBytes; i < valueBytes; i++)
            {
                value[i] = value[i - randomBytes];
            }
        }

        _latencies = new LatencyRecorder(Math.Max(settings.Keys, Math.Max(settings.Reads, settings.Scans)));
        _zipfian = new ZipfianGenerator(settings.Keys);
    }

    private enum Kind
    {
        FillRandom = 1,
        Overwrite = 2,
        ReadRandom = 3,
        ReadHot = 4,
        ReadMissing = 5,
        ScanRange = 6,
    }

    /// <summary>Runs every workload against <paramref name="engine"/>, in order; throws <see cref="BenchFailureException"/> when a read finds what it must not, or misses what it must find.</summary>
    public List<WorkloadResult> RunAll(IBenchEngine engine)
    {
        var results = new List<WorkloadResult>(Names.Count);
        results.Add(Run(engine, Kind.FillRandom, _settings.Keys));
        results.Add(Run(engine, Kind.Overwrite, _settings.Keys));

        // Not timed: afterwards every read is served by table files, through the block cache and filters.
        var started = Stopwatch.GetTimestamp();
        engine.FlushAndCompact();
        Progress($"{engine.Name}: flush + full compaction took {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s, {engine.DirectoryBytes() >> 20} MiB on disk; {engine.Describe()}");

        results.Add(Run(engine, Kind.ReadRandom, _settings.Reads));
        results.Add(Run(engine, Kind.ReadHot, _settings.Reads));
        results.Add(Run(engine, Kind.ReadMissing, _settings.Reads));
        results.Add(Run(engine, Kind.ScanRange, _settings.Scans));
        return results;
    }

    private WorkloadResult Run(IBenchEngine engine, Kind kind, long ops)
    {
        var name = Names[(int)kind - 1];
        var threads = (int)Math.Min(_settings.Threads, ops);

        // found[t]: gets that found a value of the right size, or records scanned; wrong[t]: values of another size.
        var found = new long[threads];
        var wrong = new long[threads];
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.GetTimestamp();
        if (threads == 1)
        {
            Worker(engine, kind, 0, 0, ops, out found[0], out wrong[0]);
        }
        else
        {
            var workers = new Thread[threads];
            for (var t = 0; t < threads; t++)
            {
                var thread = t;
                var first = ops * t / threads;
                var count = (ops * (t + 1) / threads) - first;
                workers[t] = new Thread(() => Worker(engine, kind, thread, first, count, out found[thread], out wrong[thread]))
                {
                    Name = $"bench-{name}-{thread}",
                };
                workers[t].Start();
            }

            foreach (var worker in workers)
            {
                worker.Join();
            }
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var allocatedPerOp = (double)(GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / ops;
        long totalFound = 0;
        long totalWrong = 0;
        for (var t = 0; t < threads; t++)
        {
            totalFound += found[t];
            totalWrong += wrong[t];
        }

        Check(engine, kind, ops, totalFound, totalWrong);
        var (p50, p99) = _latencies.Percentiles(ops);
        var result = new WorkloadResult(engine.Name, name, ops, elapsed.TotalSeconds, p50, p99, engine.DirectoryBytes(), RssMiB());
        Progress($"{engine.Name} {name}: {ops} ops in {result.Seconds:F2} s, {result.OpsPerSecond:F0} ops/s, p50 {p50:F1} us, p99 {p99:F1} us, {allocatedPerOp:F1} managed bytes allocated/op (harness + engine)");
        return result;
    }

    private void Check(IBenchEngine engine, Kind kind, long ops, long found, long wrong)
    {
        if (wrong > 0)
        {
            throw new BenchFailureException($"{engine.Name} {Names[(int)kind - 1]}: {wrong} of {ops} gets returned a value that is not {_settings.ValueBytes} bytes");
        }

        switch (kind)
        {
            case Kind.ReadRandom or Kind.ReadHot when found != ops:
                throw new BenchFailureException($"{engine.Name} {Names[(int)kind - 1]}: {ops - found} of {ops} gets missed a key that was written");
            case Kind.ReadMissing when found != 0:
                throw new BenchFailureException($"{engine.Name} readmissing: {found} of {ops} gets found a key that was never written");
            case Kind.ScanRange:
                // Scans starting near the top of the ring stop early at the last record; far fewer means lost records.
                var expected = ops * Math.Min(BenchSettings.ScanLength, _settings.Keys);
                if (found < expected / 2)
                {
                    throw new BenchFailureException($"{engine.Name} scanrange: {found} records read, expected about {expected}");
                }

                Progress($"{engine.Name} scanrange: {(double)found / ops:F1} records per scan");
                break;
        }
    }

    private void Worker(IBenchEngine engine, Kind kind, int thread, long first, long count, out long found, out long wrong)
    {
        var random = new BenchRandom(BenchRandom.Derive(_settings.Seed, ((ulong)kind << 32) | (uint)thread));
        var latencies = _latencies.Slice(first, count);
        Span<byte> key = stackalloc byte[KeyCodec.KeyBytes];
        var value = new byte[_settings.ValueBytes];
        found = 0;
        wrong = 0;
        switch (kind)
        {
            case Kind.FillRandom:
                Fill(engine, random, key, value, first, latencies);
                break;
            case Kind.Overwrite:
                Overwrite(engine, random, key, value, first, latencies);
                break;
            case Kind.ReadRandom or Kind.ReadHot or Kind.ReadMissing:
                (found, wrong) = Read(kind, engine, random, key, latencies);
                break;
            case Kind.ScanRange:
                found = Scan(engine, random, latencies);
                break;
        }
    }

    private void Fill(IBenchEngine engine, BenchRandom random, Span<byte> key, byte[] value, long first, Span<long> latencies)
    {
        for (var i = 0; i < latencies.Length; i++)
        {
            var sequence = first + i;
            KeyCodec.WriteKey(key, _permutation[sequence]);
            NextValue(random, value, sequence);
            var start = Stopwatch.GetTimestamp();
            engine.Put(key, value);
            latencies[i] = Stopwatch.GetTimestamp() - start;
        }
    }

    private void Overwrite(IBenchEngine engine, BenchRandom random, Span<byte> key, byte[] value, long first, Span<long> latencies)
    {
        for (var i = 0; i < latencies.Length; i++)
        {
            KeyCodec.WriteKey(key, random.NextInt64(_settings.Keys));
            NextValue(random, value, _settings.Keys + first + i);
            var start = Stopwatch.GetTimestamp();
            engine.Put(key, value);
            latencies[i] = Stopwatch.GetTimestamp() - start;
        }
    }

    /// <summary>Point reads: uniform over the loaded keys (ReadRandom), Zipfian over them (ReadHot), or never-written keys (ReadMissing).</summary>
    private (long Found, long Wrong) Read(Kind kind, IBenchEngine engine, BenchRandom random, Span<byte> key, Span<long> latencies)
    {
        long found = 0;
        long wrong = 0;
        var valueBytes = _settings.ValueBytes;
        for (var i = 0; i < latencies.Length; i++)
        {
            switch (kind)
            {
                case Kind.ReadHot:
                    KeyCodec.WriteKey(key, _zipfian.Next(random));
                    break;
                case Kind.ReadMissing:
                    KeyCodec.WriteMissingKey(key, random.NextInt64(KeyCodec.MaxIndex));
                    break;
                default:
                    KeyCodec.WriteKey(key, random.NextInt64(_settings.Keys));
                    break;
            }

            var start = Stopwatch.GetTimestamp();
            var length = engine.Get(key);
            latencies[i] = Stopwatch.GetTimestamp() - start;
            Tally(length, valueBytes, ref found, ref wrong);
        }

        return (found, wrong);
    }

    private static long Scan(IBenchEngine engine, BenchRandom random, Span<long> latencies)
    {
        long records = 0;
        for (var i = 0; i < latencies.Length; i++)
        {
            var token = random.NextUInt64();
            var start = Stopwatch.GetTimestamp();
            records += engine.Scan(token, BenchSettings.ScanLength);
            latencies[i] = Stopwatch.GetTimestamp() - start;
        }

        return records;
    }

    private static void Tally(int length, int valueBytes, ref long found, ref long wrong)
    {
        if (length == valueBytes)
        {
            found++;
        }
        else if (length >= 0)
        {
            wrong++;
        }
    }

    /// <summary>Copies a pooled value and stamps <paramref name="sequence"/> into its random half, so every put writes new bytes.</summary>
    private void NextValue(BenchRandom random, byte[] value, long sequence)
    {
        var pooled = (int)random.NextInt64(PoolValues);
        _valuePool.AsSpan(pooled * value.Length, value.Length).CopyTo(value);
        var stamp = Math.Min(sizeof(long), value.Length / 2);
        for (var b = 0; b < stamp; b++)
        {
            value[b] ^= (byte)(sequence >> (8 * b));
        }
    }

    private static double RssMiB()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64 / (1024.0 * 1024.0);
    }

    private void Progress(string line) => _progress.WriteLine(line);
}
