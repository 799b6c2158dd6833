using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;
using RingKV.Core.Hashing;
using RingKV.Core.Random;
using RingKV.Testing.Crash;
using RingKV.Testing.Support;
using Xunit;

namespace RingKV.Storage.Tests.Engine;

/// <summary>
/// Kills a real writer process (SIGKILL) at a random moment, reopens its directory and checks that every
/// acknowledged write survived, no value is torn, and the next round recovers on top of the last crash.
/// </summary>
[Trait("Category", "Crash")]
public sealed class CrashTests
{
    private const int WriterThreads = 4;
    private const string WorkerDll = "RingKV.Storage.CrashWorker.dll";
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);

    [Fact]
    public void Engine_KilledWhileWriting_KeepsEveryAcknowledgedWrite()
    {
        var seed = TestSeed.Get(nameof(Engine_KilledWhileWriting_KeepsEveryAcknowledgedWrite));
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("RINGKV_CRASH_ROUNDS"), NumberStyles.None, CultureInfo.InvariantCulture, out var r) && r > 0 ? r : 20;
        var rng = new SplitMix64(seed);
        using var dir = new TempDirectory("ringkv-crash");

        // What each key must be after recovery: true present with CrashWorkload.ValueFor(key), false absent.
        var expected = new Dictionary<string, bool>(StringComparer.Ordinal);
        long nextIndex = 0;
        var totalAcks = 0;
        for (var round = 0; round < rounds; round++)
        {
            var runFor = TimeSpan.FromMilliseconds(rng.Next(50, 401));
            var lines = RunAndKill(dir.Path, nextIndex, seed + round, runFor);
            var context = $"round {round} of {rounds}; replay with RINGKV_SEED={seed}";

            // Apply acknowledged operations in order; each thread's last op without an ack was in flight.
            var inFlight = new Dictionary<int, (string Key, bool IsPut)>();
            foreach (var line in lines)
            {
                if (!CrashWorkload.TryParse(line, out var isAck, out var isPut, out var key))
                {
                    Assert.True(line == CrashWorkload.ReadyLine, $"unexpected worker line '{line}'; {context}");
                    continue;
                }

                var thread = ThreadOf(key);
                nextIndex = Math.Max(nextIndex, IndexOf(key) + 1);
                if (isAck)
                {
                    Assert.True(inFlight.Remove(thread, out var op) && op.Key == key && op.IsPut == isPut, $"ack without op: '{line}'; {context}");
                    expected[key] = isPut;
                    totalAcks++;
                }
                else
                {
                    Assert.False(inFlight.ContainsKey(thread), $"two ops in flight on thread {thread}: '{line}'; {context}");
                    inFlight[thread] = (key, isPut);
                }
            }

            var uncertain = new Dictionary<string, bool>(StringComparer.Ordinal);
            foreach (var (key, isPut) in inFlight.Values)
            {
                uncertain[key] = isPut;
            }

            Verify(dir.Path, expected, uncertain, context);
            Console.WriteLine($"crash round {round}: killed after {runFor.TotalMilliseconds}ms, {totalAcks} acks so far, {expected.Count} keys tracked");
        }

        Assert.True(totalAcks > 0, "the workers acknowledged writes");

        // The workers' small memtable made them flush while being killed, so recovery covered tables too.
        Assert.NotEmpty(Directory.GetFiles(dir.Path, "*.sst", SearchOption.AllDirectories));
    }

    /// <summary>Reopens the directory and checks it against <paramref name="expected"/>; keys in <paramref name="uncertain"/> may be either way and are settled to what recovery shows.</summary>
    private static void Verify(string directory, Dictionary<string, bool> expected, Dictionary<string, bool> uncertain, string context)
    {
        using var engine = StorageEngine.Open(CrashWorkload.EngineOptions(directory));

        foreach (var (key, present) in expected)
        {
            if (uncertain.ContainsKey(key))
            {
                continue;
            }

            var value = engine.Get(Encoding.UTF8.GetBytes(key));
            if (present)
            {
                Assert.True(value is not null, $"acknowledged put of {key} lost; {context}");
                Assert.True(CrashWorkload.ValueFor(key).AsSpan().SequenceEqual(value), $"{key} has a torn or wrong value ({value.Length} bytes); {context}");
            }
            else
            {
                Assert.True(value is null, $"acknowledged delete of {key} undone; {context}");
            }
        }

        // Every live record is a key the workers wrote, with its one possible value.
        var live = new HashSet<string>(StringComparer.Ordinal);
        using (var iterator = engine.NewIterator(TokenRange.All))
        {
            while (iterator.MoveNext())
            {
                var key = Encoding.UTF8.GetString(iterator.Key);
                Assert.True(live.Add(key), $"{key} returned twice by the scan; {context}");
                Assert.True(iterator.Token == Token.Of(iterator.Key), $"{key} carries a wrong token; {context}");
                Assert.True(
                    (expected.TryGetValue(key, out var present) && present) || (uncertain.TryGetValue(key, out var isPut) && isPut),
                    $"{key} is live but no put of it was acknowledged or in flight, or a later delete was acknowledged; {context}");
                Assert.True(CrashWorkload.ValueFor(key).AsSpan().SequenceEqual(iterator.Value), $"{key} has a torn or wrong value in the scan; {context}");
            }
        }

        foreach (var (key, present) in expected)
        {
            if (present && !uncertain.ContainsKey(key))
            {
                Assert.True(live.Contains(key), $"acknowledged put of {key} missing from the scan; {context}");
            }
        }

        // In-flight writes may or may not have survived; from now on they are what recovery shows.
        foreach (var key in uncertain.Keys)
        {
            expected[key] = live.Contains(key);
        }
    }

    /// <summary>Starts the worker, lets it write for <paramref name="runFor"/> after its first ack, kills it, and returns its complete stdout lines.</summary>
    private static List<string> RunAndKill(string directory, long startIndex, long seed, TimeSpan runFor)
    {
        var start = new ProcessStartInfo(DotnetHost.Path())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(WorkerPath());
        start.ArgumentList.Add(directory);
        start.ArgumentList.Add(startIndex.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(WriterThreads.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(seed.ToString(CultureInfo.InvariantCulture));

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the crash worker");
        var output = new OutputCollector(process.StandardOutput.BaseStream);
        var errors = new OutputCollector(process.StandardError.BaseStream);
        try
        {
            // Wait, with a deadline, until the worker acknowledged a first write (or died trying).
            var deadline = Stopwatch.StartNew();
            while (!output.Contains("\nack ") && !process.HasExited)
            {
                Assert.True(deadline.Elapsed < StartDeadline, $"the crash worker acknowledged nothing within {StartDeadline.TotalSeconds}s; stderr: {errors.Text()}");
                output.WaitForData(TimeSpan.FromMilliseconds(100));
            }

            Assert.False(process.HasExited, $"the crash worker exited with {(process.HasExited ? process.ExitCode : 0)} before the kill; stderr: {errors.Text()}");

            // The crash point: a random moment while the writers run. Not synchronization.
            Thread.Sleep(runFor);
            process.Kill(entireProcessTree: false);
            process.WaitForExit();
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
        }

        output.Join();
        errors.Join();
        var text = output.Text();
        var complete = text.LastIndexOf('\n');
        return complete < 0 ? [] : [.. text[..complete].Split('\n')];
    }

    private static int ThreadOf(string key) => int.Parse(key.AsSpan(1, key.IndexOf('-', StringComparison.Ordinal) - 1), CultureInfo.InvariantCulture);

    private static long IndexOf(string key) => long.Parse(key.AsSpan(key.IndexOf('-', StringComparison.Ordinal) + 1), CultureInfo.InvariantCulture);

    private static string WorkerPath()
    {
        // Copied next to this assembly by the project reference; else the worker project's own output.
        var beside = Path.Combine(AppContext.BaseDirectory, WorkerDll);
        if (File.Exists(beside))
        {
            return beside;
        }

        var output = new DirectoryInfo(AppContext.BaseDirectory); // tests/RingKV.Storage.Tests/bin/<config>/<tfm>/
        var configuration = output.Parent?.Name ?? "Debug";
        var tests = output.Parent?.Parent?.Parent?.Parent?.FullName ?? ".";
        var sibling = Path.Combine(tests, "RingKV.Storage.CrashWorker", "bin", configuration, output.Name, WorkerDll);
        Assert.True(File.Exists(sibling), $"{WorkerDll} not found beside the tests ({beside}) nor at {sibling}; build RingKV.slnx first");
        return sibling;
    }

    /// <summary>Reads a stream to its end on a background thread.</summary>
    private sealed class OutputCollector
    {
        private readonly Lock _lock = new();
        private readonly MemoryStream _bytes = new();
        private readonly Thread _reader;
        private readonly ManualResetEventSlim _data = new();

        public OutputCollector(Stream stream)
        {
            _reader = new Thread(() =>
            {
                var buffer = new byte[8192];
                int n;
                while ((n = stream.Read(buffer)) > 0)
                {
                    lock (_lock)
                    {
                        _bytes.Write(buffer, 0, n);
                    }

                    _data.Set();
                }

                _data.Set();
            })
            { IsBackground = true };
            _reader.Start();
        }

        public bool Contains(string text) => ("\n" + Text()).Contains(text, StringComparison.Ordinal);

        public void WaitForData(TimeSpan timeout)
        {
            _data.Wait(timeout);
            _data.Reset();
        }

        public string Text()
        {
            lock (_lock)
            {
                return Encoding.UTF8.GetString(_bytes.GetBuffer(), 0, (int)_bytes.Length);
            }
        }

        public void Join() => _reader.Join();
    }
}
