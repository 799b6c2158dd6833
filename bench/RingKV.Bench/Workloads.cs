using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using RingKV.Core.Hashing;

namespace RingKV.Bench;

/// <summary>The storage workloads, run in a fixed order against one engine: fillrandom, overwrite, (flush and compact), readrandom, readhot, readmissing, scanrange.</summary>
/// <remarks>
/// Everything a timed loop touches is allocated before the clock starts: the key permutation, the value pool,
/// the latency array, one key and one value buffer per worker. Keys, values and the order of operations depend
/// only on <see cref="BenchSettings.Seed"/>, so both engines see the same operations. Not thread-safe: one run at a time.
/// <para>
/// Every value read is checked byte for byte, and every scan record by key and value and position. A write's value
/// is a function of its sequence (the write's number in the run), so the check recomputes it instead of storing
/// it: the harness works out before the run which sequence wrote each key last (<see cref="_latest"/>; the
/// overwrite keys come from seeded streams, and with several threads each key belongs to one thread, so the last
/// write is known), and the order a scan must return (every key sorted by token, then key). The checks run after
/// each operation's clock stops, and their time (measured) is taken out of the workload's wall time, so ops/s
/// counts the engine and the harness's key generation as before, not the checks.
/// </para>
/// <para>
/// CPU per operation is the process's CPU time over the workload (every thread, so an engine's background flushes and
/// compactions count) less the checks' (a scan's measured on its thread's CPU clock, a get's taken as its wall time),
/// divided by the operations. On a shared machine it moves far less than ops/s: time spent waiting for a core is not in it.
/// </para>
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
    private readonly int _stampBytes;
    private readonly LatencyRecorder _latencies;
    private readonly ZipfianGenerator _zipfian;

    // The sequence of the last write of each key, once fillrandom and overwrite are done.
    private readonly uint[] _latest;

    // Every key in scan order: _scanKeys[i] is the index of the key with the i-th smallest (token, key).
    private readonly ulong[] _scanTokens;
    private readonly int[] _scanKeys;

    /// <summary>Prepares the permutation, the value pool, the latency array, the Zipfian constants and what the checks compare with.</summary>
    public Workloads(BenchSettings settings, TextWriter progress)
    {
        _settings = settings;
        _progress = progress;
        var random = new BenchRandom(BenchRandom.Derive(settings.Seed, 0));
        var keys = checked((int)settings.Keys);

        // fillrandom writes key i of a random permutation of [0, keys), so every key exists exactly once.
        _permutation = new int[keys];
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

        _stampBytes = Math.Min(sizeof(long), valueBytes / 2);
        _latencies = new LatencyRecorder(Math.Max(settings.Keys, Math.Max(settings.Reads, settings.Scans)));
        _zipfian = new ZipfianGenerator(settings.Keys);

        _latest = new uint[keys];
        for (var sequence = 0; sequence < keys; sequence++)
        {
            _latest[_permutation[sequence]] = (uint)sequence;
        }

        var threads = (int)Math.Min(settings.Threads, keys);
        for (var t = 0; t < threads; t++)
        {
            var (first, count) = Partition(keys, t, threads);
            var stream = new BenchRandom(StreamSeed(Kind.Overwrite, t));
            for (long i = 0; i < count; i++)
            {
                _latest[OverwriteKey(stream, t, threads)] = (uint)(keys + first + i);
            }
        }

        _scanTokens = new ulong[keys];
        _scanKeys = new int[keys];
        Span<byte> key = stackalloc byte[KeyCodec.KeyBytes];
        for (var i = 0; i < keys; i++)
        {
            KeyCodec.WriteKey(key, i);
            _scanTokens[i] = Token.Of(key).Value;
            _scanKeys[i] = i;
        }

        Array.Sort(_scanTokens, _scanKeys);
        for (var i = 1; i < keys; i++)
        {
            // Equal tokens (rare at 64 bits) order by key, and the keys of one length order by index.
            var j = i;
            while (j > 0 && _scanTokens[j - 1] == _scanTokens[j] && _scanKeys[j - 1] > _scanKeys[j])
            {
                (_scanKeys[j - 1], _scanKeys[j]) = (_scanKeys[j], _scanKeys[j - 1]);
                j--;
            }
        }
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

    /// <summary>Runs every workload against <paramref name="engine"/>, in order; throws <see cref="BenchFailureException"/> when a read finds what it must not, misses what it must find, or returns a wrong value.</summary>
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
        var tallies = new Tally[threads];
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var gen0Before = GC.CollectionCount(0);
        var gen1Before = GC.CollectionCount(1);
        var gen2Before = GC.CollectionCount(2);
        var pausedBefore = GC.GetTotalPauseDuration();
        var cpuBefore = CpuClock.ProcessNanoseconds();
        var started = Stopwatch.GetTimestamp();
        if (threads == 1)
        {
            tallies[0] = Worker(engine, kind, 0, 1, 0, ops);
        }
        else
        {
            var workers = new Thread[threads];
            for (var t = 0; t < threads; t++)
            {
                var thread = t;
                var (first, count) = Partition(ops, t, threads);
                workers[t] = new Thread(() => tallies[thread] = Worker(engine, kind, thread, threads, first, count))
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
        var cpuNanoseconds = CpuClock.ProcessNanoseconds() - cpuBefore;
        var allocatedPerOp = (double)(GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / ops;
        var collections = $"GCs {GC.CollectionCount(0) - gen0Before}/{GC.CollectionCount(1) - gen1Before}/{GC.CollectionCount(2) - gen2Before} (gen0/1/2), paused {(GC.GetTotalPauseDuration() - pausedBefore).TotalMilliseconds:F0} ms";
        var total = new Tally();
        foreach (var tally in tallies)
        {
            total.Add(tally);
        }

        Check(engine, kind, ops, total);

        // The workers checked in parallel: each one's check time is a share of the wall time.
        var checkSeconds = total.CheckTicks / (double)Stopwatch.Frequency / threads;
        var (p50, p99) = _latencies.Percentiles(ops);
        var result = new WorkloadResult(engine.Name, name, ops, elapsed.TotalSeconds - checkSeconds, p50, p99, engine.DirectoryBytes(), RssMiB(), (cpuNanoseconds - total.CheckCpuNanoseconds) / 1000.0 / ops);
        var checkedNote = checkSeconds > 0 ? $", checks {checkSeconds:F2} s not counted" : string.Empty;
        Progress($"{engine.Name} {name}: {ops} ops in {result.Seconds:F2} s{checkedNote}, {result.OpsPerSecond:F0} ops/s, p50 {p50:F1} us, p99 {p99:F1} us, CPU {result.CpuMicrosPerOp:F2} us/op, {allocatedPerOp:F1} managed bytes allocated/op (harness + engine), {collections}");
        return result;
    }

    private void Check(IBenchEngine engine, Kind kind, long ops, Tally tally)
    {
        var name = Names[(int)kind - 1];
        if (tally.Wrong > 0)
        {
            throw new BenchFailureException($"{engine.Name} {name}: {tally.Wrong} of {ops} operations returned wrong data; the first: {tally.FirstError}");
        }

        switch (kind)
        {
            case Kind.ReadRandom or Kind.ReadHot when tally.Missing > 0:
                throw new BenchFailureException($"{engine.Name} {name}: {tally.Missing} of {ops} gets missed a key that was written; the first: {tally.FirstError}");
            case Kind.ScanRange:
                Progress($"{engine.Name} scanrange: {(double)tally.Found / ops:F1} records per scan, every one the expected key with its latest value");
                break;
            case Kind.ReadRandom or Kind.ReadHot:
                Progress($"{engine.Name} {name}: all {tally.Found} values as last written");
                break;
        }
    }

    private Tally Worker(IBenchEngine engine, Kind kind, int thread, int threads, long first, long count)
    {
        var random = new BenchRandom(StreamSeed(kind, thread));
        var latencies = _latencies.Slice(first, count);
        Span<byte> key = stackalloc byte[KeyCodec.KeyBytes];
        var value = new byte[_settings.ValueBytes];
        var tally = new Tally();
        switch (kind)
        {
            case Kind.FillRandom:
                Fill(engine, key, value, first, latencies);
                break;
            case Kind.Overwrite:
                Overwrite(engine, random, thread, threads, key, value, first, latencies);
                break;
            case Kind.ReadRandom or Kind.ReadHot or Kind.ReadMissing:
                Read(kind, engine, random, key, latencies, ref tally);
                break;
            case Kind.ScanRange:
                Scan(engine, random, latencies, ref tally);
                break;
        }

        return tally;
    }

    private void Fill(IBenchEngine engine, Span<byte> key, byte[] value, long first, Span<long> latencies)
    {
        for (var i = 0; i < latencies.Length; i++)
        {
            var sequence = first + i;
            KeyCodec.WriteKey(key, _permutation[sequence]);
            WriteValue(value, sequence);
            var start = Stopwatch.GetTimestamp();
            engine.Put(key, value);
            latencies[i] = Stopwatch.GetTimestamp() - start;
        }
    }

    private void Overwrite(IBenchEngine engine, BenchRandom random, int thread, int threads, Span<byte> key, byte[] value, long first, Span<long> latencies)
    {
        for (var i = 0; i < latencies.Length; i++)
        {
            KeyCodec.WriteKey(key, OverwriteKey(random, thread, threads));
            WriteValue(value, _settings.Keys + first + i);
            var start = Stopwatch.GetTimestamp();
            engine.Put(key, value);
            latencies[i] = Stopwatch.GetTimestamp() - start;
        }
    }

    /// <summary>Point reads: uniform over the loaded keys (ReadRandom), Zipfian over them (ReadHot), or never-written keys (ReadMissing).</summary>
    private void Read(Kind kind, IBenchEngine engine, BenchRandom random, Span<byte> key, Span<long> latencies, ref Tally tally)
    {
        for (var i = 0; i < latencies.Length; i++)
        {
            long index;
            switch (kind)
            {
                case Kind.ReadHot:
                    index = _zipfian.Next(random);
                    KeyCodec.WriteKey(key, index);
                    break;
                case Kind.ReadMissing:
                    index = random.NextInt64(KeyCodec.MaxIndex);
                    KeyCodec.WriteMissingKey(key, index);
                    break;
                default:
                    index = random.NextInt64(_settings.Keys);
                    KeyCodec.WriteKey(key, index);
                    break;
            }

            var start = Stopwatch.GetTimestamp();
            var found = engine.TryGet(key, out var value);
            var end = Stopwatch.GetTimestamp();
            latencies[i] = end - start;

            if (kind == Kind.ReadMissing)
            {
                if (found)
                {
                    tally.Fail($"a get of the never-written key {System.Text.Encoding.ASCII.GetString(key)} found a value");
                }
            }
            else if (!found)
            {
                tally.Miss($"key {index} not found");
            }
            else if (!ValueMatches(value, _latest[index]))
            {
                tally.Fail($"key {index}: {value.Length} bytes that are not its last write (sequence {_latest[index]})");
            }
            else
            {
                tally.Found++;
            }

            // A get's check takes tens of nanoseconds: its wall time stands for its CPU time (a clock_gettime per get
            // would cost more than the check).
            var checkTicks = Stopwatch.GetTimestamp() - end;
            tally.CheckTicks += checkTicks;
            tally.CheckCpuNanoseconds += checkTicks * 1_000_000_000 / Stopwatch.Frequency;
        }
    }

    private void Scan(IBenchEngine engine, BenchRandom random, Span<long> latencies, ref Tally tally)
    {
        var records = new ScanBuffer(_settings.ScanLength, KeyCodec.KeyBytes + _settings.ValueBytes);
        for (var i = 0; i < latencies.Length; i++)
        {
            var token = random.NextUInt64();
            var start = Stopwatch.GetTimestamp();
            var read = engine.Scan(token, _settings.ScanLength, records);
            var end = Stopwatch.GetTimestamp();
            latencies[i] = end - start;
            var checkCpuStart = CpuClock.ThreadNanoseconds();

            // The first key at or after the token, and the ones after it in (token, key) order.
            var position = LowerBound(_scanTokens, token);
            var expected = Math.Min(_settings.ScanLength, _scanKeys.Length - position);
            if (read != expected || records.Count != read)
            {
                tally.Fail($"a scan from token {token:x16} read {read} records, expected {expected}");
            }

            for (var r = 0; r < Math.Min(read, expected); r++)
            {
                var index = _scanKeys[position + r];
                if (!KeyCodec.TryParseKey(records.Key(r), out var scanned) || scanned != index)
                {
                    tally.Fail($"a scan from token {token:x16}: record {r} is key '{System.Text.Encoding.ASCII.GetString(records.Key(r))}', expected key {index}");
                    break;
                }

                if (!ValueMatches(records.Value(r), _latest[index]))
                {
                    tally.Fail($"a scan from token {token:x16}: record {r} (key {index}) has a value that is not its last write");
                    break;
                }
            }

            tally.Found += read;
            tally.CheckCpuNanoseconds += CpuClock.ThreadNanoseconds() - checkCpuStart;
            tally.CheckTicks += Stopwatch.GetTimestamp() - end;
        }
    }

    private static int LowerBound(ulong[] sorted, ulong value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>Writes the value of the write numbered <paramref name="sequence"/>: a pooled value picked by the sequence, with the sequence stamped into its random half, so every put writes new bytes.</summary>
    private void WriteValue(Span<byte> value, long sequence)
    {
        var pooled = Pooled(sequence);
        pooled.CopyTo(value);
        for (var b = 0; b < _stampBytes; b++)
        {
            value[b] ^= (byte)(sequence >> (8 * b));
        }
    }

    /// <summary>True when <paramref name="value"/> is exactly what <see cref="WriteValue"/> wrote for <paramref name="sequence"/>.</summary>
    private bool ValueMatches(ReadOnlySpan<byte> value, long sequence)
    {
        var pooled = Pooled(sequence);
        if (value.Length != pooled.Length)
        {
            return false;
        }

        for (var b = 0; b < _stampBytes; b++)
        {
            if (value[b] != (byte)(pooled[b] ^ (byte)(sequence >> (8 * b))))
            {
                return false;
            }
        }

        return value[_stampBytes..].SequenceEqual(pooled[_stampBytes..]);
    }

    private ReadOnlySpan<byte> Pooled(long sequence)
    {
        var valueBytes = _settings.ValueBytes;
        var pooled = (int)(BenchRandom.Derive(_settings.Seed, (ulong)sequence) % PoolValues);
        return _valuePool.AsSpan(pooled * valueBytes, valueBytes);
    }

    /// <summary>The key an overwrite draws: uniform over the keys of <paramref name="thread"/> (those ≡ thread mod threads), so no two threads write one key.</summary>
    private long OverwriteKey(BenchRandom random, int thread, int threads)
    {
        var owned = (_settings.Keys - thread + threads - 1) / threads;
        return (random.NextInt64(owned) * threads) + thread;
    }

    private ulong StreamSeed(Kind kind, int thread) => BenchRandom.Derive(_settings.Seed, ((ulong)kind << 32) | (uint)thread);

    /// <summary>Thread <paramref name="thread"/>'s share of <paramref name="ops"/> operations: its first operation's number and its count.</summary>
    private static (long First, long Count) Partition(long ops, int thread, int threads)
    {
        var first = ops * thread / threads;
        return (first, (ops * (thread + 1) / threads) - first);
    }

    private static double RssMiB()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64 / (1024.0 * 1024.0);
    }

    private void Progress(string line) => _progress.WriteLine(line);

    /// <summary>What one worker's checks found, and how long they took.</summary>
    private struct Tally
    {
        public long Found;
        public long Missing;
        public long Wrong;
        public long CheckTicks;
        public long CheckCpuNanoseconds;
        public string? FirstError;

        public void Miss(string what)
        {
            Missing++;
            FirstError ??= what;
        }

        public void Fail(string what)
        {
            Wrong++;
            FirstError ??= what;
        }

        public void Add(Tally other)
        {
            Found += other.Found;
            Missing += other.Missing;
            Wrong += other.Wrong;
            CheckTicks += other.CheckTicks;
            CheckCpuNanoseconds += other.CheckCpuNanoseconds;
            FirstError ??= other.FirstError;
        }
    }
}
