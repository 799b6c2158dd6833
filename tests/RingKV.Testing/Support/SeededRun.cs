using System;
using System.Collections.Generic;
using System.Text;
using RingKV.Core.Random;

namespace RingKV.Testing.Support;

/// <summary>
/// The preamble of a randomized test: its seed (from RINGKV_SEED, else drawn and printed), a PRNG seeded with it, and
/// its recent operations, so that a failure names the seed that replays it and what led to it.
/// </summary>
/// <remarks>Not thread-safe: one test thread records steps; other threads take their own <see cref="SplitMix64"/> from <see cref="Seed"/>.</remarks>
public sealed class SeededRun
{
    private const int Kept = 40;
    private readonly Queue<string> _recent = new();
    private int _step;

    private SeededRun(string test, int seed)
    {
        Test = test;
        Seed = seed;
        Random = new SplitMix64(seed);
    }

    /// <summary>The test's name as printed with its seed.</summary>
    public string Test { get; }

    /// <summary>The seed: <c>RINGKV_SEED=</c> this value replays the run.</summary>
    public int Seed { get; }

    /// <summary>The run's PRNG, seeded with <see cref="Seed"/>.</summary>
    public SplitMix64 Random { get; }

    /// <summary>Takes the seed for <paramref name="test"/> (see <see cref="TestSeed"/>) and prints it.</summary>
    public static SeededRun Start(string test) => new(test, TestSeed.Get(test));

    /// <summary>Records an operation; the last few are printed when the run fails.</summary>
    public void Step(string operation)
    {
        _step++;
        _recent.Enqueue($"#{_step} {operation}");
        if (_recent.Count > Kept)
        {
            _recent.Dequeue();
        }
    }

    /// <summary>Runs <paramref name="body"/>; what it throws comes back as a <see cref="SeededRunException"/> naming the seed and the last operations.</summary>
    public void Run(Action body)
    {
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            body();
        }
        catch (Exception e) when (e is not SeededRunException)
        {
            throw Failure(e);
        }
    }

    /// <summary>An exception that wraps <paramref name="inner"/> with the seed, the failing step and the operations before it.</summary>
    public SeededRunException Failure(Exception inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        var text = new StringBuilder();
        text.Append(Test).Append(" failed at step ").Append(_step).Append("; replay with RINGKV_SEED=").Append(Seed).AppendLine();
        text.AppendLine("last operations:");
        foreach (var line in _recent)
        {
            text.Append("  ").AppendLine(line);
        }

        text.Append(inner.Message);
        return new SeededRunException(text.ToString(), inner);
    }
}
